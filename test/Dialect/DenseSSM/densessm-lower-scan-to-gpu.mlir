// --densessm-lower-scan-to-gpu: the kernel-level scan becomes GPU kernels
// (gpu.launch) on buffers — the chunked parallel scan for whole sequences,
// the recurrent step for one token, a statistics kernel first for a fused
// dense connection.
// RUN: densessm-opt %s "-densessm-lower-scan-to-gpu=block-size=64 tokens-per-thread=2" -split-input-file | FileCheck %s
// RUN: not densessm-opt %s "-densessm-lower-scan-to-gpu=block-size=48" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-BLOCK
// RUN: not densessm-opt %s "-densessm-lower-scan-to-gpu=tokens-per-thread=0" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-TOKENS
// BAD-BLOCK: error: --densessm-lower-scan-to-gpu: option 'block-size' must be a multiple of 32 in [32, 1024], found 48
// BAD-TOKENS: error: --densessm-lower-scan-to-gpu: option 'tokens-per-thread' must be in [1, 64], found 0

// Mamba-1 (per-element decay, softplus'd Δ with its bias, D skip, z gate,
// initial state), 200 tokens: one block of 64 threads (two warps) per
// (channel, batch) = a 6 x 2 grid, two tokens per thread, so chunks of 128
// tokens and two turns of the carry loop. Per chunk and key index: each
// thread composes its two (a, b) pairs, the warp scans the aggregates with
// five shuffles up (1, 2, 4, 8, 16) and shifts them by one lane, lane 31
// publishes its warp's aggregate in this key's half of two shared arrays
// (the halves alternate over c·K + i), and after the barrier the last
// thread writes the previous key's carry and each thread applies the
// earlier warps' aggregates to the carry read from the state. After the key
// loop a barrier closes the chunk and the last thread writes the last key's
// carry: one barrier per chunk and key, and one per chunk.
// CHECK-LABEL: func.func @mamba_parallel
// CHECK-SAME: %[[S0:[a-z0-9]+]]: tensor<2x6x5x1xf32>)
// CHECK-DAG: %[[INIT:.*]] = bufferization.to_buffer %[[S0]] read_only
// CHECK-DAG: %[[Y:.*]] = memref.alloc() : memref<2x200x6x1xf32>
// CHECK-DAG: %[[STATE:.*]] = memref.alloc() : memref<2x6x5x1xf32>
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %[[BY:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c6, %{{[a-z0-9_]+}} = %c2, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: threads(%[[TX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c64, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: workgroup(%[[WA:[a-z0-9_]+]] : memref<4xf32, #gpu.address_space<workgroup>>, %[[WB:[a-z0-9_]+]] : memref<4xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[LANE:.*]] = arith.remui %[[TX]], %c32
// CHECK: %[[WARP:.*]] = arith.divui %[[TX]], %c32
// The state column starts as the initial state, one key index per thread.
// CHECK: scf.for %[[I0:.*]] = %[[TX]] to %c5 step %c64 {
// CHECK:   %[[V0:.*]] = memref.load %[[INIT]][%[[BY]], %[[BX]], %[[I0]], %c0]
// CHECK:   memref.store %[[V0]], %[[STATE]][%[[BY]], %[[BX]], %[[I0]], %c0]
// CHECK: gpu.barrier
// CHECK-DAG: %[[LAST_THREAD:.*]] = arith.cmpi eq, %[[TX]], %c63
// CHECK-DAG: %[[LAST_LANE:.*]] = arith.cmpi eq, %[[LANE]], %c31
// The carry loop over chunks:
// CHECK: scf.for %[[C:.*]] = %c0 to %c2 step %c1 {
// CHECK:   arith.muli %[[C]], %c128
// CHECK:   math.log1p
// CHECK:   %[[KEYS_BEFORE:.*]] = arith.muli %[[C]], %c5
// CHECK:   %[[KEYS:.*]]:3 = scf.for %[[I:.*]] = %c0 to %c5 step %c1 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %[[PENDING:.*]] = %{{.*}}) -> (f32, f32, f32) {
// Each thread's two pairs (a exp, b an input), composed: a1·a2, a2·b1 + b2.
// CHECK:     math.exp
// CHECK:     math.exp
// CHECK:     arith.mulf
// CHECK:     math.fma
// CHECK:     gpu.shuffle  up %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle  up %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle  up %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle  up %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle  up %{{.*}}, %c4_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle  up %{{.*}}, %c4_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle  up %{{.*}}, %c8_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle  up %{{.*}}, %c8_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle  up %[[IA:.*]], %c16_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle  up %[[IB:.*]], %c16_i32, %c32_i32 : f32
// CHECK:     %[[INCA:.*]] = arith.select
// CHECK:     %[[INCB:.*]] = arith.select
// CHECK:     %{{.*}}, %[[EXCL_OK:.*]] = gpu.shuffle  up %[[INCA]], %c1_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle  up %[[INCB]], %c1_i32, %c32_i32 : f32
// CHECK:     %[[KEY_NUMBER:.*]] = arith.addi %[[KEYS_BEFORE]], %[[I]]
// CHECK:     %[[PARITY:.*]] = arith.remui %[[KEY_NUMBER]], %c2
// CHECK:     %[[HALF:.*]] = arith.muli %[[PARITY]], %c2
// CHECK:     %[[MINE:.*]] = arith.addi %[[HALF]], %[[WARP]]
// CHECK:     scf.if %[[LAST_LANE]] {
// CHECK:       memref.store %[[INCA]], %[[WA]][%[[MINE]]] : memref<4xf32, #gpu.address_space<workgroup>>
// CHECK:       memref.store %[[INCB]], %[[WB]][%[[MINE]]] : memref<4xf32, #gpu.address_space<workgroup>>
// CHECK:     gpu.barrier
// CHECK:     %[[NOT_FIRST:.*]] = arith.cmpi ugt, %[[I]], %c0
// CHECK:     %[[WRITE_PREVIOUS:.*]] = arith.andi %[[LAST_THREAD]], %[[NOT_FIRST]]
// CHECK:     %[[PREVIOUS:.*]] = arith.subi %[[I]], %c1
// CHECK:     scf.if %[[WRITE_PREVIOUS]] {
// CHECK:       memref.store %[[PENDING]], %[[STATE]][%[[BY]], %[[BX]], %[[PREVIOUS]], %c0]
// CHECK:     %[[CARRY:.*]] = memref.load %[[STATE]][%[[BY]], %[[BX]], %[[I]], %c0]
// CHECK:     scf.for %[[W:.*]] = %c0 to %[[WARP]] step %c1 iter_args(%[[X:.*]] = %[[CARRY]]) -> (f32) {
// CHECK:       %[[AT:.*]] = arith.addi %[[HALF]], %[[W]]
// CHECK:       %[[AW:.*]] = memref.load %[[WA]][%[[AT]]]
// CHECK:       %[[BW:.*]] = memref.load %[[WB]][%[[AT]]]
// CHECK:       math.fma %[[AW]], %[[X]], %[[BW]] : f32
// CHECK-NOT: gpu.barrier
// CHECK:     scf.yield %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32
// CHECK:   gpu.barrier
// CHECK:   scf.if %[[LAST_THREAD]] {
// CHECK:     memref.store %[[KEYS]]#2, %[[STATE]][%[[BY]], %[[BX]], %c4, %c0]
// The epilogue of each of the thread's two tokens: skip, SiLU(z), store.
// CHECK:   scf.if
// CHECK:     math.fma
// CHECK:     math.exp
// CHECK:     memref.store %{{.*}}, %[[Y]]
// CHECK:   scf.if
// CHECK:     memref.store %{{.*}}, %[[Y]]
// CHECK: gpu.terminator
// CHECK: bufferization.to_tensor %[[Y]] restrict writable
// CHECK: bufferization.to_tensor %[[STATE]] restrict writable
func.func @mamba_parallel(%q: tensor<2x200x1x5xf32>, %k: tensor<2x200x1x5xf32>, %v: tensor<2x200x6x1xf32>,
    %dt: tensor<2x200x6xf32>, %A: tensor<6x5xf32>, %bias: tensor<6xf32>, %D: tensor<6xf32>,
    %z: tensor<2x200x6x1xf32>, %s0: tensor<2x6x5x1xf32>)
    -> (tensor<2x200x6x1xf32>, tensor<2x6x5x1xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A dt_bias(%bias) skip(%D) gate(%z) initial_state(%s0)
             {dt_softplus, dt_scales_input}
           : tensor<2x200x1x5xf32>, tensor<2x200x1x5xf32>, tensor<2x200x6x1xf32>,
             tensor<2x200x6xf32>, tensor<6x5xf32>, tensor<6xf32>, tensor<6xf32>,
             tensor<2x200x6x1xf32>, tensor<2x6x5x1xf32>
           -> tensor<2x200x6x1xf32>, tensor<2x6x5x1xf32>
  return %y, %s : tensor<2x200x6x1xf32>, tensor<2x6x5x1xf32>
}

// -----

// The recurrent step (a recurrent function; bf16 activations): a lane per
// (batch, channel) column, 12 columns in one block, and the 5 keys split
// over 5 warps (at most one per key: 160 threads). Each thread reads its
// keys of the state column from the initial state, decays them, adds the
// input and writes them back, accumulating its part of the readout; lanes
// past the 12th column compute on the last one and store nothing. The
// parts meet in shared memory behind one barrier, where warp 0 adds them
// in order, applies the skip and gate, and rounds y to bf16 on store. No
// shuffles, and no staging of q and k (Mamba's columns are channels).
// CHECK-LABEL: func.func @mamba_step
// CHECK-SAME: %[[S0:[a-z0-9]+]]: tensor<2x6x5x1xf32>)
// CHECK-DAG: %[[INIT:.*]] = bufferization.to_buffer %[[S0]] read_only
// CHECK-DAG: %[[Y:.*]] = memref.alloc() : memref<2x1x6x1xbf16>
// CHECK-DAG: %[[STATE:.*]] = memref.alloc() : memref<2x6x5x1xf32>
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: threads(%[[TX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c160, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: workgroup(%[[PARTS:[a-z0-9_]+]] : memref<160xf32, #gpu.address_space<workgroup>>) {
// CHECK: %[[LANE:.*]] = arith.remui %[[TX]], %c32
// CHECK: %[[WARP:.*]] = arith.divui %[[TX]], %c32
// CHECK: %[[COL0:.*]] = arith.muli %[[BX]], %c32
// CHECK: %[[COL:.*]] = arith.addi %[[COL0]], %[[LANE]]
// CHECK: %[[IN:.*]] = arith.cmpi ule, %[[COL]], %c11
// CHECK: %[[CLAMPED:.*]] = arith.minui %[[COL]], %c11
// CHECK: %[[H:.*]] = arith.remui %[[CLAMPED]], %c6
// CHECK: %[[B:.*]] = arith.divui %[[CLAMPED]], %c6
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: math.log1p
// CHECK: %[[PART:.*]] = scf.for %[[I:.*]] = %[[WARP]] to %c5 step %c5 iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32) {
// CHECK:   %[[PREV:.*]] = memref.load %[[INIT]][%[[B]], %[[H]], %[[I]], %c0]
// CHECK:   %[[A:.*]] = math.exp
// CHECK:   %[[NEW:.*]] = math.fma %[[A]], %[[PREV]], %{{.*}} : f32
// CHECK:   scf.if %[[IN]] {
// CHECK:     memref.store %[[NEW]], %[[STATE]][%[[B]], %[[H]], %[[I]], %c0]
// CHECK:   math.fma %{{.*}}, %[[NEW]], %[[ACC]] : f32
// CHECK: %[[SLOT0:.*]] = arith.muli %[[WARP]], %c32
// CHECK: %[[SLOT:.*]] = arith.addi %[[SLOT0]], %[[LANE]]
// CHECK: memref.store %[[PART]], %[[PARTS]][%[[SLOT]]]
// CHECK: gpu.barrier
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[WARP]], %c0
// CHECK: %[[READS:.*]] = arith.andi %[[IN]], %[[FIRST]]
// CHECK: scf.if %[[READS]] {
// CHECK:   scf.for %[[W:.*]] = %c0 to %c5 step %c1 iter_args
// CHECK:     memref.load %[[PARTS]]
// CHECK:   arith.truncf %{{.*}} : f32 to bf16
// CHECK:   memref.store %{{.*}}, %[[Y]][%[[B]], %c0, %[[H]], %c0] : memref<2x1x6x1xbf16>
// CHECK-NOT: gpu.shuffle
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
func.func @mamba_step(%q: tensor<2x1x1x5xbf16>, %k: tensor<2x1x1x5xbf16>, %v: tensor<2x1x6x1xbf16>,
    %dt: tensor<2x1x6xbf16>, %A: tensor<6x5xf32>, %bias: tensor<6xf32>, %D: tensor<6xf32>,
    %z: tensor<2x1x6x1xbf16>, %s0: tensor<2x6x5x1xf32>)
    -> (tensor<2x1x6x1xbf16>, tensor<2x6x5x1xf32>)
    attributes {densessm.schedule = #densessm.schedule<recurrent>} {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A dt_bias(%bias) skip(%D) gate(%z) initial_state(%s0)
             {dt_softplus, dt_scales_input}
           : tensor<2x1x1x5xbf16>, tensor<2x1x1x5xbf16>, tensor<2x1x6x1xbf16>,
             tensor<2x1x6xbf16>, tensor<6x5xf32>, tensor<6xf32>, tensor<6xf32>,
             tensor<2x1x6x1xbf16>, tensor<2x6x5x1xf32>
           -> tensor<2x1x6x1xbf16>, tensor<2x6x5x1xf32>
  return %y, %s : tensor<2x1x6x1xbf16>, tensor<2x6x5x1xf32>
}

// -----

// Retention (per-head decay, input scale), dk = 4, dv = 8, 3 heads, 40
// tokens: one block per (head, value index) = 24 x 1; the decay is one exp
// per token, before the key loop, and the state starts at zero.
// CHECK-LABEL: func.func @retention_parallel
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %[[BY:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c24, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: threads(%[[TX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c64,
// CHECK: %[[H:.*]] = arith.divui %[[BX]], %c8
// CHECK: %[[J:.*]] = arith.remui %[[BX]], %c8
// CHECK: scf.for %[[I0:.*]] = %[[TX]] to %c4 step %c64 {
// CHECK:   memref.store %cst{{.*}}, %[[STATE:.*]][%[[BY]], %[[H]], %[[I0]], %[[J]]]
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %c0 to %c1 step %c1 {
// CHECK:   math.exp
// CHECK:   math.exp
// CHECK:   scf.for %{{.*}} = %c0 to %c4 step %c1 iter_args
// CHECK-NOT: math.exp
// CHECK:     gpu.shuffle  up
// CHECK:     gpu.barrier
// CHECK:     gpu.barrier
// CHECK:     memref.store %{{.*}}, %[[STATE]]
func.func @retention_parallel(%q: tensor<1x40x3x4xf32>, %k: tensor<1x40x3x4xf32>, %v: tensor<1x40x3x8xf32>,
    %dt: tensor<1x40x3xf32>, %A: tensor<3xf32>, %scale: tensor<1x40x3xf32>)
    -> (tensor<1x40x3x8xf32>, tensor<1x3x4x8xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A input_scale(%scale)
           : tensor<1x40x3x4xf32>, tensor<1x40x3x4xf32>, tensor<1x40x3x8xf32>,
             tensor<1x40x3xf32>, tensor<3xf32>, tensor<1x40x3xf32>
           -> tensor<1x40x3x8xf32>, tensor<1x3x4x8xf32>
  return %y, %s : tensor<1x40x3x8xf32>, tensor<1x3x4x8xf32>
}

// -----

// A fused dense connection: first the statistics kernel, one block of 256
// threads per (token, batch) (a parallel scan: the tokens give blocks
// enough, so one part each); each thread sums the squares of its strided
// connected values, the warps reduce with five shuffles xor (16 .. 1), lane
// 0 of each publishes to shared memory, every thread adds the eight warps,
// thread 0 stores the sum; then the scan kernel reads each value as
// connected · rsqrt(sum / 32 + eps) · norm weight.
// CHECK-LABEL: func.func @dense_input
// CHECK: %[[SUMS:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?x1xf32>
// CHECK: gpu.launch blocks(%[[T:[a-z0-9_]+]], %[[B:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c8, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: threads(%[[TX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c256, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: workgroup(%[[PART:[a-z0-9_]+]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for %{{.*}} = %[[TX]] to %c32 step %c256 iter_args
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK: memref.store %{{.*}}, %[[PART]]
// CHECK: gpu.barrier
// CHECK: %[[TOTAL:.*]] = scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args
// CHECK-NOT: math.rsqrt
// CHECK: scf.if
// CHECK:   memref.store %[[TOTAL]], %[[SUMS]][%[[B]], %[[T]], %c0]
// CHECK: gpu.launch
// CHECK: %[[SUM:.*]] = memref.load %[[SUMS]]
// CHECK-NEXT: %[[MEAN:.*]] = arith.divf %[[SUM]], %cst
// CHECK: %[[EPS:.*]] = arith.addf %[[MEAN]]
// CHECK: math.rsqrt %[[EPS]]
// CHECK: gpu.shuffle  up
func.func @dense_input(%q: tensor<1x8x2x4xf32>, %k: tensor<1x8x2x4xf32>, %v: tensor<1x8x2x16xf32>,
    %dt: tensor<1x8x2xf32>, %A: tensor<2xf32>, %sel: tensor<1x8x2xf32>, %w: tensor<32x2xf32>,
    %n: tensor<32xf32>, %k0: tensor<1x8x2x16xf32>) -> (tensor<1x8x2x16xf32>, tensor<1x2x4x16xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A dense(%sel, %w, %n, [%k0]) {dense_eps = 1.0e-06 : f32}
           : tensor<1x8x2x4xf32>, tensor<1x8x2x4xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2xf32>,
             tensor<2xf32>, tensor<1x8x2xf32>, tensor<32x2xf32>, tensor<32xf32>, tensor<1x8x2x16xf32>
           -> tensor<1x8x2x16xf32>, tensor<1x2x4x16xf32>
  return %y, %s : tensor<1x8x2x16xf32>, tensor<1x2x4x16xf32>
}

// -----

// Sizes unknown at compile time: the grid and the loops take them from
// tensor.dim; the number of chunks is a ceiling division of the length.
// CHECK-LABEL: func.func @dynamic
// CHECK-DAG: %[[L:.*]] = tensor.dim %{{.*}}, %c1
// CHECK-DAG: %[[K:.*]] = tensor.dim %arg0, %c3
// CHECK: gpu.launch
// CHECK: arith.ceildivui %[[L]], %c128
// CHECK: scf.for %{{.*}} = %c0 to %[[K]] step %c1 iter_args
// CHECK: gpu.shuffle  up
func.func @dynamic(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>,
    %dt: tensor<?x?x?xf32>, %A: tensor<?x?xf32>) -> (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>
           -> tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
  return %y, %s : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
}
