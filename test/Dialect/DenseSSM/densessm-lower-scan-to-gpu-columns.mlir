// --densessm-lower-scan-to-gpu, the column scan: the parallel schedule of at
// least column-scan-min-columns state columns (batch x heads x value size)
// puts 32 consecutive columns on the lanes of a warp and splits time over
// the block's warps; fewer columns take the chunked scan (threads along
// time, warp shuffles). A dynamic size picks one of the two at run time.
// RUN: densessm-opt %s "-densessm-lower-scan-to-gpu=block-size=64 column-scan-min-columns=80 column-tokens-per-thread=3" -split-input-file | FileCheck %s
// RUN: densessm-opt %s "-densessm-lower-scan-to-gpu=block-size=64 column-scan-min-columns=81" -split-input-file | FileCheck %s --check-prefix=FEW
// RUN: densessm-opt %s "-densessm-lower-scan-to-gpu=block-size=64 column-scan-min-columns=-1" -split-input-file | FileCheck %s --check-prefixes=FEW,NEVER
// RUN: densessm-opt %s "-densessm-lower-scan-to-gpu=block-size=64 column-scan-min-columns=0" -split-input-file | FileCheck %s --check-prefix=ALWAYS
// RUN: not densessm-opt %s "-densessm-lower-scan-to-gpu=column-scan-min-columns=-2" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-MIN
// RUN: not densessm-opt %s "-densessm-lower-scan-to-gpu=column-tokens-per-thread=65" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-TOKENS
// BAD-MIN: error: --densessm-lower-scan-to-gpu: option 'column-scan-min-columns' must be a column count, or -1 (never), found -2
// BAD-TOKENS: error: --densessm-lower-scan-to-gpu: option 'column-tokens-per-thread' must be in [1, 64], found 65

// Mamba-1, 2 x 40 = 80 columns, 20 tokens: blocks of 64 threads (two warps)
// over (32 columns, batch) = a 2 x 2 grid, the second block's lanes 8..31
// past the last column. Three tokens per thread: chunks of 6 tokens, four
// turns of the carry loop. Per chunk and key index: each thread composes
// its three pairs and stores the aggregate in this key's half of the two
// workgroup arrays (2 halves x 2 warps x 32 lanes); after one barrier the
// last warp writes the previous key's carry, and each thread applies the
// earlier warps' aggregates (slot w·32 + lane of the half) to the carry.
// After the key loop a barrier, then the last key's carry. The carries
// (K = 5 is static) live in a third workgroup array, slot i·32 + lane, and
// the last warp copies them to the final state at the end. No shuffles.
// CHECK-LABEL: func.func @mamba_columns
// CHECK-DAG: %[[Y:.*]] = memref.alloc() : memref<2x20x40x1xf32>
// CHECK-DAG: %[[STATE:.*]] = memref.alloc() : memref<2x40x5x1xf32>
// CHECK-NOT: gpu.shuffle
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %[[BY:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c2, %{{[a-z0-9_]+}} = %c2, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: threads(%[[TX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c64, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: workgroup(%[[WA:[a-z0-9_]+]] : memref<128xf32, #gpu.address_space<workgroup>>, %[[WB:[a-z0-9_]+]] : memref<128xf32, #gpu.address_space<workgroup>>, %[[CARRIES:[a-z0-9_]+]] : memref<160xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[LANE:.*]] = arith.remui %[[TX]], %c32
// CHECK: %[[WARP:.*]] = arith.divui %[[TX]], %c32
// CHECK: %[[FIRST_COLUMN:.*]] = arith.muli %[[BX]], %c32
// CHECK: %[[COLUMN:.*]] = arith.addi %[[FIRST_COLUMN]], %[[LANE]]
// CHECK: %[[IN_COLUMNS:.*]] = arith.cmpi ult, %[[COLUMN]], %c40
// CHECK: %[[H:.*]] = arith.minui %[[COLUMN]], %c39
// CHECK: %[[IS_LAST_WARP:.*]] = arith.cmpi eq, %[[WARP]], %c1
// CHECK: %[[WRITES_CARRY:.*]] = arith.andi %[[IN_COLUMNS]], %[[IS_LAST_WARP]]
// CHECK: %[[WARP_SLOT:.*]] = arith.muli %[[WARP]], %c32
// CHECK: %[[SLOT:.*]] = arith.addi %[[WARP_SLOT]], %[[LANE]]
// The carries start as the initial state, one key index per warp.
// CHECK: scf.for %[[I0:.*]] = %[[WARP]] to %c5 step %c2 {
// CHECK:   %[[S0:.*]] = memref.load %{{.*}}[%[[BY]], %[[H]], %[[I0]], %c0]
// CHECK:   %[[I0_ROW:.*]] = arith.muli %[[I0]], %c32
// CHECK:   %[[I0_SLOT:.*]] = arith.addi %[[I0_ROW]], %[[LANE]]
// CHECK:   scf.if %[[IN_COLUMNS]] {
// CHECK:     memref.store %[[S0]], %[[CARRIES]][%[[I0_SLOT]]]
// CHECK: gpu.barrier
// The carry loop; the warp's three tokens from c·6 + warp·3.
// CHECK: %[[OFFSET:.*]] = arith.muli %[[WARP]], %c3
// CHECK: scf.for %[[C:.*]] = %c0 to %c4 step %c1 {
// CHECK:   %[[CHUNK_START:.*]] = arith.muli %[[C]], %c6
// CHECK:   arith.addi %[[CHUNK_START]], %[[OFFSET]]
// CHECK:   %[[KEYS_BEFORE:.*]] = arith.muli %[[C]], %c5
// CHECK:   %[[KEYS:.*]]:4 = scf.for %[[I:.*]] = %c0 to %c5 step %c1 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %[[PENDING:.*]] = %{{.*}}) -> (f32, f32, f32, f32) {
// CHECK:     math.exp
// CHECK:     math.exp
// CHECK:     math.exp
// CHECK:     arith.select
// CHECK:     arith.select
// CHECK:     %[[AGG_A:.*]] = arith.mulf
// CHECK:     %[[AGG_B:.*]] = math.fma
// CHECK:     %[[KEY_NUMBER:.*]] = arith.addi %[[KEYS_BEFORE]], %[[I]]
// CHECK:     %[[PARITY:.*]] = arith.remui %[[KEY_NUMBER]], %c2
// CHECK:     %[[HALF:.*]] = arith.muli %[[PARITY]], %c64
// CHECK:     %[[MINE:.*]] = arith.addi %[[HALF]], %[[SLOT]]
// CHECK:     memref.store %[[AGG_A]], %[[WA]][%[[MINE]]]
// CHECK:     memref.store %[[AGG_B]], %[[WB]][%[[MINE]]]
// CHECK:     gpu.barrier
// CHECK:     %[[NOT_FIRST:.*]] = arith.cmpi ugt, %[[I]], %c0
// CHECK:     %[[WRITE_PREVIOUS:.*]] = arith.andi %[[WRITES_CARRY]], %[[NOT_FIRST]]
// CHECK:     %[[PREVIOUS:.*]] = arith.subi %[[I]], %c1
// CHECK:     %[[PREVIOUS_ROW:.*]] = arith.muli %[[PREVIOUS]], %c32
// CHECK:     %[[PREVIOUS_SLOT:.*]] = arith.addi %[[PREVIOUS_ROW]], %[[LANE]]
// CHECK:     scf.if %[[WRITE_PREVIOUS]] {
// CHECK:       memref.store %[[PENDING]], %[[CARRIES]][%[[PREVIOUS_SLOT]]]
// CHECK:     %[[ROW:.*]] = arith.muli %[[I]], %c32
// CHECK:     %[[CARRY_SLOT:.*]] = arith.addi %[[ROW]], %[[LANE]]
// CHECK:     %[[CARRY:.*]] = memref.load %[[CARRIES]][%[[CARRY_SLOT]]]
// CHECK:     scf.for %[[W:.*]] = %c0 to %[[WARP]] step %c1 iter_args(%[[X:.*]] = %[[CARRY]]) -> (f32) {
// CHECK:       %[[W_SLOT:.*]] = arith.muli %[[W]], %c32
// CHECK:       %[[W_LANE:.*]] = arith.addi %[[W_SLOT]], %[[LANE]]
// CHECK:       %[[AT:.*]] = arith.addi %[[HALF]], %[[W_LANE]]
// CHECK:       %[[AW:.*]] = memref.load %[[WA]][%[[AT]]]
// CHECK:       %[[BW:.*]] = memref.load %[[WB]][%[[AT]]]
// CHECK:       math.fma %[[AW]], %[[X]], %[[BW]] : f32
// CHECK-NOT:   gpu.barrier
// CHECK:     scf.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32, f32
// CHECK:   gpu.barrier
// CHECK:   scf.if %[[WRITES_CARRY]] {
// CHECK:     memref.store %[[KEYS]]#3, %[[CARRIES]][%{{.*}}]
// The epilogue of each of the thread's three tokens, in its column only.
// CHECK:   arith.andi %{{.*}}, %[[IN_COLUMNS]]
// CHECK:   scf.if
// CHECK:     memref.store %{{.*}}, %[[Y]][%[[BY]], %{{.*}}, %[[H]], %c0]
// CHECK:   scf.if
// CHECK:     memref.store %{{.*}}, %[[Y]]
// CHECK:   scf.if
// CHECK:     memref.store %{{.*}}, %[[Y]]
// The last warp's copy of the carries to the final state.
// CHECK: scf.for %[[IF:.*]] = %c0 to %c5 step %c1 {
// CHECK:   %[[FINAL:.*]] = memref.load %[[CARRIES]]
// CHECK:   scf.if %[[WRITES_CARRY]] {
// CHECK:     memref.store %[[FINAL]], %[[STATE]][%[[BY]], %[[H]], %[[IF]], %c0]
// CHECK: gpu.terminator
// FEW-LABEL: func.func @mamba_columns
// FEW: gpu.launch blocks(%{{.*}}) in (%{{.*}} = %c40, %{{.*}} = %c2, %{{.*}} = %c1)
// FEW: gpu.shuffle  up
func.func @mamba_columns(%q: tensor<2x20x1x5xf32>, %k: tensor<2x20x1x5xf32>, %v: tensor<2x20x40x1xf32>,
    %dt: tensor<2x20x40xf32>, %A: tensor<40x5xf32>, %bias: tensor<40xf32>, %D: tensor<40xf32>,
    %z: tensor<2x20x40x1xf32>, %s0: tensor<2x40x5x1xf32>)
    -> (tensor<2x20x40x1xf32>, tensor<2x40x5x1xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A dt_bias(%bias) skip(%D) gate(%z) initial_state(%s0)
             {dt_softplus, dt_scales_input}
           : tensor<2x20x1x5xf32>, tensor<2x20x1x5xf32>, tensor<2x20x40x1xf32>,
             tensor<2x20x40xf32>, tensor<40x5xf32>, tensor<40xf32>, tensor<40xf32>,
             tensor<2x20x40x1xf32>, tensor<2x40x5x1xf32>
           -> tensor<2x20x40x1xf32>, tensor<2x40x5x1xf32>
  return %y, %s : tensor<2x20x40x1xf32>, tensor<2x40x5x1xf32>
}

// -----

// Retention (per-head decay, grouped q and k), a dynamic batch: the column
// count B·3·8 is compared with the minimum at run time, the column scan in
// the scf.if's then-region, the chunked scan in its else-region. A lane's
// column h·8 + j gives its head and value index.
// CHECK-LABEL: func.func @retention_dynamic_batch
// CHECK: %[[B:.*]] = tensor.dim %{{.*}}, %c0
// CHECK: %[[BH:.*]] = arith.muli %[[B]], %c3
// CHECK: %[[COLUMNS:.*]] = arith.muli %[[BH]], %c8
// CHECK: %[[MANY:.*]] = arith.cmpi uge, %[[COLUMNS]], %c80
// CHECK: scf.if %[[MANY]] {
// CHECK:   gpu.launch
// CHECK:     arith.cmpi ult, %{{.*}}, %c24
// CHECK:     %[[COL:.*]] = arith.minui %{{.*}}, %c23
// CHECK:     arith.divui %[[COL]], %c8
// CHECK:     arith.remui %[[COL]], %c8
// CHECK-NOT: gpu.shuffle
// CHECK: } else {
// CHECK:   gpu.launch
// CHECK:     gpu.shuffle  up
// With the option at 0 there is no choice to make either: the column scan.
// ALWAYS-LABEL: func.func @retention_dynamic_batch
// ALWAYS-NOT: scf.if
// ALWAYS: gpu.launch
// ALWAYS-NOT: gpu.shuffle
// ALWAYS: return
// With the option at -1 there is no choice to make: the chunked scan.
// NEVER-LABEL: func.func @retention_dynamic_batch
// NEVER-NOT: scf.if
// NEVER: gpu.launch
// NEVER: gpu.shuffle  up
func.func @retention_dynamic_batch(%q: tensor<?x40x1x4xf32>, %k: tensor<?x40x1x4xf32>,
    %v: tensor<?x40x3x8xf32>, %dt: tensor<?x40x3xf32>, %A: tensor<3xf32>)
    -> (tensor<?x40x3x8xf32>, tensor<?x3x4x8xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<?x40x1x4xf32>, tensor<?x40x1x4xf32>, tensor<?x40x3x8xf32>,
             tensor<?x40x3xf32>, tensor<3xf32>
           -> tensor<?x40x3x8xf32>, tensor<?x3x4x8xf32>
  return %y, %s : tensor<?x40x3x8xf32>, tensor<?x3x4x8xf32>
}

// -----

// A dynamic key size: the carries stay in the final-state buffer (no third
// workgroup array), read there per chunk and key and written one key late.
// CHECK-LABEL: func.func @dynamic_keys
// CHECK: memref.alloc(
// CHECK: %[[STATE:.*]] = memref.alloc(
// CHECK: scf.if
// CHECK:   gpu.launch
// CHECK-SAME: workgroup(%{{[a-z0-9_]+}} : memref<128xf32, #gpu.address_space<workgroup>>, %{{[a-z0-9_]+}} : memref<128xf32, #gpu.address_space<workgroup>>) {
// CHECK:     memref.store %{{.*}}, %[[STATE]]
// CHECK:     gpu.barrier
// CHECK:     gpu.barrier
// CHECK:     memref.store %{{.*}}, %[[STATE]]
// CHECK:     memref.load %[[STATE]]
func.func @dynamic_keys(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>,
    %dt: tensor<?x?x?xf32>, %A: tensor<?x?xf32>) -> (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>
           -> tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
  return %y, %s : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
}
