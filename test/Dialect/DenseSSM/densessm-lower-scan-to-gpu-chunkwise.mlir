// --densessm-lower-scan-to-gpu's chunkwise retention kernel: a scan with a
// per-head decay (A is [H]) in the parallel schedule over at least
// chunkwise-min-length tokens (default 256) runs as retention's chunkwise
// form — Q/K/V/state tiles in shared memory, the scores Q Kᵀ and the
// inter-chunk readout Q S over key blocks of 16, the causal decay mask, the
// readout, then the state update, chunk after chunk. Shorter sequences and
// per-element decays keep the chunked scan; a dynamic length gets both
// kernels behind an scf.if.
// RUN: densessm-opt %s "-densessm-lower-scan-to-gpu=block-size=64 chunkwise-chunk-size=32" -split-input-file | FileCheck %s
// RUN: densessm-opt %s "-densessm-lower-scan-to-gpu=block-size=64 chunkwise-min-length=-1" -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: not densessm-opt %s "-densessm-lower-scan-to-gpu=chunkwise-chunk-size=65" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-CHUNK
// RUN: not densessm-opt %s "-densessm-lower-scan-to-gpu=chunkwise-chunk-size=0" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-CHUNK0
// RUN: not densessm-opt %s "-densessm-lower-scan-to-gpu=chunkwise-min-length=-2" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-LENGTH
// BAD-CHUNK: error: --densessm-lower-scan-to-gpu: option 'chunkwise-chunk-size' must be in [1, 64] (the chunkwise kernel's tiles live in 48 KiB of static shared memory), found 65
// BAD-CHUNK0: error: --densessm-lower-scan-to-gpu: option 'chunkwise-chunk-size' must be in [1, 64] (the chunkwise kernel's tiles live in 48 KiB of static shared memory), found 0
// BAD-LENGTH: error: --densessm-lower-scan-to-gpu: option 'chunkwise-min-length' must be a length, or -1 (never), found -2

// Retention-shaped: 3 heads, K = 4, V = 40 (two value tiles of 32), 300
// tokens in chunks of 32 (ten turns of the inter-chunk loop, the last of 12
// tokens), an input scale and an initial state. One block of 64 threads per
// (head, value tile) and batch entry: a 6 x 1 grid. Workgroup buffers: the
// log decays, G, the zero-decay segments and β [C]; the Q and K tiles
// [C x 16], rows padded to 17 (bank conflicts); the state tile [16 x 32];
// the value tile [C x 32]; the scores [C x C]; the inter-chunk readout
// [C x 32].
// CHECK-LABEL: func.func @retention_long
// CHECK-DAG: %[[MINUS_INF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[Y:.*]] = memref.alloc() : memref<1x300x3x40xf32>
// CHECK-DAG: %[[STATE:.*]] = memref.alloc() : memref<1x3x4x40xf32>
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %[[BY:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c6, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: threads(%[[TX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c64, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: workgroup(%[[LOGA:[a-z0-9_]+]] : memref<32xf32, #gpu.address_space<workgroup>>, %[[G:[a-z0-9_]+]] : memref<32xf32, #gpu.address_space<workgroup>>, %[[SEG:[a-z0-9_]+]] : memref<32xf32, #gpu.address_space<workgroup>>, %[[BETA:[a-z0-9_]+]] : memref<32xf32, #gpu.address_space<workgroup>>,
// CHECK-SAME: %[[QS:[a-z0-9_]+]] : memref<544xf32, #gpu.address_space<workgroup>>, %[[KS:[a-z0-9_]+]] : memref<544xf32, #gpu.address_space<workgroup>>, %[[SS:[a-z0-9_]+]] : memref<512xf32, #gpu.address_space<workgroup>>,
// CHECK-SAME: %[[VS:[a-z0-9_]+]] : memref<1024xf32, #gpu.address_space<workgroup>>, %[[P:[a-z0-9_]+]] : memref<1024xf32, #gpu.address_space<workgroup>>, %[[O:[a-z0-9_]+]] : memref<1024xf32, #gpu.address_space<workgroup>>)
// The head and the value tile's first column and width (40 - j0, at most 32).
// CHECK: %[[H:.*]] = arith.divui %[[BX]], %c2
// CHECK: %[[TILE:.*]] = arith.remui %[[BX]], %c2
// CHECK: %[[J0:.*]] = arith.muli %[[TILE]], %c32
// CHECK: %[[REST:.*]] = arith.subi %c40, %[[J0]]
// CHECK: %[[BV:.*]] = arith.minui %[[REST]], %c32
// The state tile starts as the initial state, the threads striding over it.
// CHECK: scf.for %{{.*}} = %[[TX]] to %{{.*}} step %c64 {
// CHECK:   memref.store %{{.*}}, %[[STATE]][%[[BY]], %[[H]],
// CHECK: gpu.barrier
// The inter-chunk loop; n = min(32, 300 - t0) tokens.
// CHECK: scf.for %[[C:.*]] = %c0 to %c10 step %c1 {
// CHECK:   %[[T0:.*]] = arith.muli %[[C]], %c32
// CHECK:   %[[LEFT:.*]] = arith.subi %c300, %[[T0]]
// CHECK:   %[[N:.*]] = arith.minui %[[LEFT]], %c32
// 1. The tokens' log decays δ·A[h] and input scales, then the value tile.
// CHECK:   scf.for %[[R1:.*]] = %[[TX]] to %[[N]] step %c64 {
// CHECK:     arith.mulf
// CHECK:     memref.store %{{.*}}, %[[LOGA]][%[[R1]]]
// CHECK:     memref.store %{{.*}}, %[[BETA]][%[[R1]]]
// CHECK:   scf.for
// CHECK:     memref.store %{{.*}}, %[[VS]]
// CHECK:   gpu.barrier
// 2. G by a prefix sum, restarted at a zero decay (log decay -inf).
// CHECK:   scf.for %[[R2:.*]] = %[[TX]] to %[[N]] step %c64 {
// CHECK:     %{{.*}}:2 = scf.for %{{.*}} = %c0 to %{{.*}} step %c1 iter_args({{.*}}) -> (f32, f32) {
// CHECK:       %[[LA:.*]] = memref.load %[[LOGA]]
// CHECK:       %[[ZERO_DECAY:.*]] = arith.cmpf oeq, %[[LA]], %[[MINUS_INF]]
// CHECK:       arith.addf %{{.*}}, %[[LA]]
// CHECK:       arith.select %[[ZERO_DECAY]]
// CHECK:       arith.select %[[ZERO_DECAY]]
// CHECK:     memref.store %{{.*}}, %[[G]][%[[R2]]]
// CHECK:     memref.store %{{.*}}, %[[SEG]][%[[R2]]]
// CHECK:   memref.store %{{.*}}, %[[P]]
// CHECK:   memref.store %{{.*}}, %[[O]]
// CHECK:   gpu.barrier
// 3. The key-block loop: q, k and state tiles, a barrier, the lower
//    triangle of the scores and the inter-chunk readout, a barrier.
// CHECK:   scf.for %[[K0:.*]] = %c0 to %c4 step %c16 {
// CHECK:     %[[KB:.*]] = arith.minui %{{.*}}, %c16
// CHECK:     memref.load %{{.*}} : memref<1x300x3x4xf32
// CHECK:     memref.store %{{.*}}, %[[QS]]
// CHECK:     memref.load %{{.*}} : memref<1x300x3x4xf32
// CHECK:     memref.store %{{.*}}, %[[KS]]
// CHECK:     memref.load %[[STATE]]
// CHECK:     memref.store %{{.*}}, %[[SS]]
// CHECK:     gpu.barrier
// CHECK:     scf.for %{{.*}} = %[[TX]] to %{{.*}} step %c64 {
// CHECK:       %[[CAUSAL:.*]] = arith.cmpi ule
// CHECK:       scf.if %[[CAUSAL]] {
// CHECK:         memref.load %[[P]]
// CHECK:         scf.for %{{.*}} = %c0 to %[[KB]] step %c1 iter_args
// CHECK:           %[[QV:.*]] = memref.load %[[QS]]
// CHECK:           %[[KV:.*]] = memref.load %[[KS]]
// CHECK:           math.fma %[[QV]], %[[KV]]
// CHECK:         memref.store %{{.*}}, %[[P]]
// CHECK:     scf.for %{{.*}} = %[[TX]] to %{{.*}} step %c64 {
// CHECK:       memref.load %[[O]]
// CHECK:       scf.for %{{.*}} = %c0 to %[[KB]] step %c1 iter_args
// CHECK:         %[[QV2:.*]] = memref.load %[[QS]]
// CHECK:         %[[SV:.*]] = memref.load %[[SS]]
// CHECK:         math.fma %[[QV2]], %[[SV]]
// CHECK:       memref.store %{{.*}}, %[[O]]
// CHECK:     gpu.barrier
// 4. The decay mask on the scores: exp(G_r - G_s) within a segment, times
//    β_s; then the state update's weights, in place of the log decays.
// CHECK:   scf.for %{{.*}} = %[[TX]] to %{{.*}} step %c64 {
// CHECK:     arith.cmpi ule
// CHECK:     scf.if
// CHECK:       %[[SAME:.*]] = arith.cmpf oeq, %{{.*}}, %{{.*}} : f32
// CHECK:       %[[GR:.*]] = memref.load %[[G]]
// CHECK:       %[[GS:.*]] = memref.load %[[G]]
// CHECK:       %[[GAP:.*]] = arith.subf %[[GR]], %[[GS]]
// CHECK:       %[[EXP:.*]] = math.exp %[[GAP]]
// CHECK:       %[[DECAY:.*]] = arith.select %[[SAME]], %[[EXP]]
// CHECK:       %[[B:.*]] = memref.load %[[BETA]]
// CHECK:       %[[MASK:.*]] = arith.mulf %[[DECAY]], %[[B]]
// CHECK:       %[[SCORE:.*]] = memref.load %[[P]]
// CHECK:       %[[MASKED:.*]] = arith.mulf %[[SCORE]], %[[MASK]]
// CHECK:       memref.store %[[MASKED]], %[[P]]
// CHECK:   scf.for
// CHECK:     math.exp
// CHECK:     memref.store %{{.*}}, %[[LOGA]]
// CHECK:   gpu.barrier
// 5. y = exp(G_r)·(Q S) + (P ⊙ D) V, stored.
// CHECK:   scf.for %{{.*}} = %[[TX]] to %{{.*}} step %c64 {
// CHECK:     memref.load %[[O]]
// CHECK:     math.exp
// CHECK:     %[[INTER:.*]] = arith.mulf
// CHECK:     scf.for %{{.*}} = %c0 to %{{.*}} step %c1 iter_args(%{{.*}} = %[[INTER]]) -> (f32) {
// CHECK:       %[[PV:.*]] = memref.load %[[P]]
// CHECK:       %[[VV:.*]] = memref.load %[[VS]]
// CHECK:       math.fma %[[PV]], %[[VV]]
// CHECK:     memref.store %{{.*}}, %[[Y]][%[[BY]],
// 6. The state update, key block by key block: K reloaded, a barrier,
//    S' = exp(G_{n-1})·S + Kᵀ (w ⊙ V), a barrier.
// CHECK:   %[[CHUNK_DECAY:.*]] = arith.select
// CHECK:   scf.for %{{.*}} = %c0 to %c4 step %c16 {
// CHECK:     memref.store %{{.*}}, %[[KS]]
// CHECK:     gpu.barrier
// CHECK:     scf.for %{{.*}} = %[[TX]] to %{{.*}} step %c64 {
// CHECK:       %[[OLD:.*]] = memref.load %[[STATE]]
// CHECK:       %[[CARRIED:.*]] = arith.mulf %[[CHUNK_DECAY]], %[[OLD]]
// CHECK:       %[[NEW:.*]] = scf.for %{{.*}} = %c0 to %[[N]] step %c1 iter_args(%{{.*}} = %[[CARRIED]]) -> (f32) {
// CHECK:         memref.load %[[LOGA]]
// CHECK:         memref.load %[[VS]]
// CHECK:         memref.load %[[KS]]
// CHECK:         math.fma
// CHECK:       memref.store %[[NEW]], %[[STATE]]
// CHECK:     gpu.barrier
// CHECK-NOT: gpu.shuffle
// CHECK: return
// OFF-LABEL: func.func @retention_long
// OFF: gpu.shuffle  up
func.func @retention_long(%q: tensor<1x300x3x4xf32>, %k: tensor<1x300x3x4xf32>,
    %v: tensor<1x300x3x40xf32>, %dt: tensor<1x300x3xf32>, %A: tensor<3xf32>,
    %scale: tensor<1x300x3xf32>, %s0: tensor<1x3x4x40xf32>)
    -> (tensor<1x300x3x40xf32>, tensor<1x3x4x40xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A input_scale(%scale) initial_state(%s0)
           : tensor<1x300x3x4xf32>, tensor<1x300x3x4xf32>, tensor<1x300x3x40xf32>,
             tensor<1x300x3xf32>, tensor<3xf32>, tensor<1x300x3xf32>, tensor<1x3x4x40xf32>
           -> tensor<1x300x3x40xf32>, tensor<1x3x4x40xf32>
  return %y, %s : tensor<1x300x3x40xf32>, tensor<1x3x4x40xf32>
}

// -----

// Grouped q and k: head h reads group h / (H / G) of each, as in the
// chunked scan (one value tile: the block index is the head). 256 tokens:
// exactly the default threshold.
// CHECK-LABEL: func.func @grouped
// CHECK: gpu.launch blocks(%[[H:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c4,
// CHECK: %[[GQ:.*]] = arith.divui %[[H]], %c2 : index
// CHECK: %[[GK:.*]] = arith.divui %[[H]], %c4 : index
// CHECK: memref.load %{{.*}}[%{{.*}}, %{{.*}}, %[[GQ]], %{{.*}}] : memref<1x256x2x8xbf16
// CHECK: memref.load %{{.*}}[%{{.*}}, %{{.*}}, %[[GK]], %{{.*}}] : memref<1x256x1x8xbf16
// CHECK-NOT: gpu.shuffle
// CHECK: return
func.func @grouped(%q: tensor<1x256x2x8xbf16>, %k: tensor<1x256x1x8xbf16>,
    %v: tensor<1x256x4x16xbf16>, %dt: tensor<1x256x4xf32>, %A: tensor<4xf32>)
    -> (tensor<1x256x4x16xbf16>, tensor<1x4x8x16xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<1x256x2x8xbf16>, tensor<1x256x1x8xbf16>, tensor<1x256x4x16xbf16>,
             tensor<1x256x4xf32>, tensor<4xf32>
           -> tensor<1x256x4x16xbf16>, tensor<1x4x8x16xf32>
  return %y, %s : tensor<1x256x4x16xbf16>, tensor<1x4x8x16xf32>
}

// -----

// Shorter than the threshold (255 tokens): the chunked scan.
// CHECK-LABEL: func.func @retention_short
// CHECK: gpu.launch
// CHECK-SAME: workgroup(%{{[a-z0-9_]+}} : memref<4xf32, #gpu.address_space<workgroup>>, %{{[a-z0-9_]+}} : memref<4xf32, #gpu.address_space<workgroup>>)
// CHECK: gpu.shuffle  up
func.func @retention_short(%q: tensor<1x255x2x4xf32>, %k: tensor<1x255x2x4xf32>,
    %v: tensor<1x255x2x8xf32>, %dt: tensor<1x255x2xf32>, %A: tensor<2xf32>)
    -> (tensor<1x255x2x8xf32>, tensor<1x2x4x8xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<1x255x2x4xf32>, tensor<1x255x2x4xf32>, tensor<1x255x2x8xf32>,
             tensor<1x255x2xf32>, tensor<2xf32>
           -> tensor<1x255x2x8xf32>, tensor<1x2x4x8xf32>
  return %y, %s : tensor<1x255x2x8xf32>, tensor<1x2x4x8xf32>
}

// -----

// A per-element decay (Mamba: A is [H, K]) is never chunkwise, however long.
// CHECK-LABEL: func.func @mamba_long
// CHECK: gpu.launch
// CHECK: gpu.shuffle  up
// CHECK-NOT: memref<1024xf32, #gpu.address_space<workgroup>>
// CHECK: return
func.func @mamba_long(%q: tensor<1x600x1x4xf32>, %k: tensor<1x600x1x4xf32>,
    %v: tensor<1x600x8x1xf32>, %dt: tensor<1x600x8xf32>, %A: tensor<8x4xf32>)
    -> (tensor<1x600x8x1xf32>, tensor<1x8x4x1xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<1x600x1x4xf32>, tensor<1x600x1x4xf32>, tensor<1x600x8x1xf32>,
             tensor<1x600x8xf32>, tensor<8x4xf32>
           -> tensor<1x600x8x1xf32>, tensor<1x8x4x1xf32>
  return %y, %s : tensor<1x600x8x1xf32>, tensor<1x8x4x1xf32>
}

// -----

// A dynamic length: both kernels, chosen at run time by L >= 256 (unsigned).
// CHECK-LABEL: func.func @retention_dynamic
// CHECK: %[[L:.*]] = tensor.dim %{{.*}}, %c1
// CHECK: %[[LONG:.*]] = arith.cmpi uge, %[[L]], %c256
// CHECK: scf.if %[[LONG]] {
// CHECK:   gpu.launch
// CHECK-SAME: memref<1024xf32, #gpu.address_space<workgroup>>
// CHECK:   arith.ceildivui %[[L]], %c32
// CHECK:   math.exp
// CHECK: } else {
// CHECK:   gpu.launch
// CHECK:   gpu.shuffle  up
// CHECK: }
func.func @retention_dynamic(%q: tensor<2x?x2x4xf32>, %k: tensor<2x?x2x4xf32>,
    %v: tensor<2x?x2x8xf32>, %dt: tensor<2x?x2xf32>, %A: tensor<2xf32>)
    -> (tensor<2x?x2x8xf32>, tensor<2x2x4x8xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<2x?x2x4xf32>, tensor<2x?x2x4xf32>, tensor<2x?x2x8xf32>,
             tensor<2x?x2xf32>, tensor<2xf32>
           -> tensor<2x?x2x8xf32>, tensor<2x2x4x8xf32>
  return %y, %s : tensor<2x?x2x8xf32>, tensor<2x2x4x8xf32>
}
