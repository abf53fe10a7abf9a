// The recurrent step kernel of --densessm-lower-scan-to-gpu for retention
// (V > 1): a block per 32 value columns of one (batch, head), its warps
// splitting the key index, q_t and k_t staged in shared memory, the warps'
// partial readouts added by warp 0; a fused dense connection's statistics
// in parts. (Mamba's step, a lane per channel, is in
// densessm-lower-scan-to-gpu.mlir.)
// RUN: densessm-opt %s -densessm-lower-scan-to-gpu -split-input-file | FileCheck %s
// RUN: densessm-opt %s "-densessm-lower-scan-to-gpu=recurrent-block-size=32" -split-input-file | FileCheck %s --check-prefix=ONE

// One token, V = 40 columns in two blocks per (b, h) (the second's lanes
// 8..31 past the end), 2 × 3 (b, h) pairs: a (6, 2) grid (B·H along x). 4 keys, so 4 of
// the 8 warps (one key each): 128 threads. Every thread of a block shares
// (b, h): the block stages q_t and k_t (a strided loop, one barrier), then
// each thread decays and updates its key of its column, stores it if its
// column exists, and adds q·s to its part; the parts meet in shared memory
// behind a second barrier, and warp 0's in-range lanes add the four in
// order and store y.
// CHECK-LABEL: func.func @retention_step
// CHECK-DAG: %[[Y:.*]] = memref.alloc() : memref<2x1x3x40xf32>
// CHECK-DAG: %[[STATE:.*]] = memref.alloc() : memref<2x3x4x40xf32>
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %[[BY:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c6, %{{[a-z0-9_]+}} = %c2, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: threads(%[[TX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c128, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: workgroup(%[[PARTS:[a-z0-9_]+]] : memref<128xf32, #gpu.address_space<workgroup>>, %[[QS:[a-z0-9_]+]] : memref<4xf32, #gpu.address_space<workgroup>>, %[[KS:[a-z0-9_]+]] : memref<4xf32, #gpu.address_space<workgroup>>) {
// CHECK: %[[LANE:.*]] = arith.remui %[[TX]], %c32
// CHECK: %[[WARP:.*]] = arith.divui %[[TX]], %c32
// CHECK: %[[J0:.*]] = arith.muli %[[BY]], %c32
// CHECK: %[[J:.*]] = arith.addi %[[J0]], %[[LANE]]
// CHECK: %[[IN:.*]] = arith.cmpi ule, %[[J]], %c39
// CHECK: %[[JC:.*]] = arith.minui %[[J]], %c39
// CHECK: %[[H:.*]] = arith.remui %[[BX]], %c3
// CHECK: %[[B:.*]] = arith.divui %[[BX]], %c3
// CHECK: scf.for %[[SI:.*]] = %[[TX]] to %c4 step %c128 {
// CHECK:   %[[QV:.*]] = memref.load %{{.*}}[%[[B]], %c0, %[[H]], %[[SI]]]
// CHECK:   memref.store %[[QV]], %[[QS]][%[[SI]]]
// CHECK:   %[[KV:.*]] = memref.load %{{.*}}[%[[B]], %c0, %[[H]], %[[SI]]]
// CHECK:   memref.store %[[KV]], %[[KS]][%[[SI]]]
// CHECK: gpu.barrier
// CHECK: %[[V:.*]] = memref.load %{{.*}}[%[[B]], %c0, %[[H]], %[[JC]]]
// CHECK: %[[DECAY:.*]] = math.exp
// CHECK: %[[PART:.*]] = scf.for %[[I:.*]] = %[[WARP]] to %c4 step %c4 iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32) {
// CHECK:   %[[PREV:.*]] = memref.load %{{.*}}[%[[B]], %[[H]], %[[I]], %[[JC]]]
// CHECK:   %[[KI:.*]] = memref.load %[[KS]][%[[I]]]
// CHECK:   %[[QI:.*]] = memref.load %[[QS]][%[[I]]]
// CHECK:   %[[KV2:.*]] = arith.mulf %[[KI]], %[[V]]
// CHECK:   %[[NEW:.*]] = math.fma %[[DECAY]], %[[PREV]], %[[KV2]]
// CHECK:   scf.if %[[IN]] {
// CHECK:     memref.store %[[NEW]], %[[STATE]][%[[B]], %[[H]], %[[I]], %[[JC]]]
// CHECK:   math.fma %[[QI]], %[[NEW]], %[[ACC]]
// CHECK: %[[SLOT0:.*]] = arith.muli %[[WARP]], %c32
// CHECK: %[[SLOT:.*]] = arith.addi %[[SLOT0]], %[[LANE]]
// CHECK: memref.store %[[PART]], %[[PARTS]][%[[SLOT]]]
// CHECK: gpu.barrier
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[WARP]], %c0
// CHECK: %[[READS:.*]] = arith.andi %[[IN]], %[[FIRST]]
// CHECK: scf.if %[[READS]] {
// CHECK:   %[[SUM:.*]] = scf.for %[[W:.*]] = %c0 to %c4 step %c1 iter_args
// CHECK:     %[[WS:.*]] = arith.muli %[[W]], %c32
// CHECK:     %[[WSLOT:.*]] = arith.addi %[[WS]], %[[LANE]]
// CHECK:     memref.load %[[PARTS]][%[[WSLOT]]]
// CHECK:   memref.store %[[SUM]], %[[Y]][%[[B]], %c0, %[[H]], %[[JC]]]
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator

// One warp: no parts to add, so no shared memory for them and one barrier
// (the staging's); the thread adds all 4 keys, in one pass of the key loop
// that loads the 4 keys' state before it computes any.
// ONE-LABEL: func.func @retention_step
// ONE: gpu.launch
// ONE-SAME: threads(%[[TX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c32, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// ONE-SAME: workgroup(%[[QS:[a-z0-9_]+]] : memref<4xf32, #gpu.address_space<workgroup>>, %[[KS:[a-z0-9_]+]] : memref<4xf32, #gpu.address_space<workgroup>>) {
// ONE: %[[WARP:.*]] = arith.divui %[[TX]], %c32
// ONE: scf.for %{{.*}} = %[[TX]] to %c4 step %c32 {
// ONE: gpu.barrier
// ONE: %[[ACC:.*]] = scf.for %[[I:.*]] = %[[WARP]] to %c4 step %c4 iter_args
// ONE:   memref.load %{{.*}}[%{{.*}}, %{{.*}}, %[[I]], %{{.*}}] : memref<2x3x4x40xf32,
// ONE-NOT: math.fma
// ONE:   %[[I1:.*]] = arith.addi %[[I]], %c1
// ONE:   memref.load %{{.*}}[%{{.*}}, %{{.*}}, %[[I1]], %{{.*}}] : memref<2x3x4x40xf32,
// ONE-NOT: math.fma
// ONE:   %[[I2:.*]] = arith.addi %[[I]], %c2
// ONE:   memref.load %{{.*}}[%{{.*}}, %{{.*}}, %[[I2]], %{{.*}}] : memref<2x3x4x40xf32,
// ONE-NOT: math.fma
// ONE:   %[[I3:.*]] = arith.addi %[[I]], %c3
// ONE:   memref.load %{{.*}}[%{{.*}}, %{{.*}}, %[[I3]], %{{.*}}] : memref<2x3x4x40xf32,
// ONE-NOT: arith.select
// ONE:   math.fma
// ONE-NOT: arith.select
// ONE:   scf.yield
// ONE-NOT: gpu.barrier
// ONE: memref.store %[[ACC]], %{{.*}}[%{{.*}}, %c0, %{{.*}}, %{{.*}}] : memref<2x1x3x40xf32>
// ONE-NOT: gpu.barrier
// ONE: gpu.terminator
func.func @retention_step(%q: tensor<2x1x3x4xf32>, %k: tensor<2x1x3x4xf32>, %v: tensor<2x1x3x40xf32>,
    %dt: tensor<2x1x3xf32>, %A: tensor<3xf32>, %s0: tensor<2x3x4x40xf32>)
    -> (tensor<2x1x3x40xf32>, tensor<2x3x4x40xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A initial_state(%s0)
           : tensor<2x1x3x4xf32>, tensor<2x1x3x4xf32>, tensor<2x1x3x40xf32>, tensor<2x1x3xf32>,
             tensor<3xf32>, tensor<2x3x4x40xf32>
           -> tensor<2x1x3x40xf32>, tensor<2x3x4x40xf32>
  return %y, %s : tensor<2x1x3x40xf32>, tensor<2x3x4x40xf32>
}

// -----

// A recurrent function's scan of unknown length: the first token from the
// initial state, the others in a loop reading the state the token before
// wrote (several warps and staged q, k: the two barriers of each token
// order it after the last, so none between tokens); with no token, each
// thread copies its keys of the initial state.
// CHECK-LABEL: func.func @tokens
// CHECK: %[[L:.*]] = tensor.dim %{{.*}}, %c1
// CHECK: gpu.launch
// CHECK-SAME: = %c2, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK: %[[WARP:.*]] = arith.divui
// CHECK: %[[ANY:.*]] = arith.cmpi ugt, %[[L]], %c0
// CHECK: scf.if %[[ANY]] {
// CHECK:   gpu.barrier
// CHECK:   gpu.barrier
// CHECK:   scf.for %[[T:.*]] = %c1 to %[[L]] step %c1 {
// CHECK-NEXT: scf.for %{{.*}} = %{{.*}} to %c4 step %c128 {
// CHECK:     gpu.barrier
// CHECK:     gpu.barrier
// CHECK:   }
// CHECK: } else {
// CHECK:   scf.for %[[I:.*]] = %[[WARP]] to %c4 step %c4 {
// CHECK:     %[[S0:.*]] = memref.load
// CHECK:     scf.if
// CHECK-NEXT:  memref.store %[[S0]]
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator

// One warp, staged: a barrier between tokens keeps the next token's
// staging from overwriting q and k while a lane still reads them.
// ONE-LABEL: func.func @tokens
// ONE: scf.for %{{.*}} = %c1 to %{{.*}} step %c1 {
// ONE-NEXT: gpu.barrier
// ONE-NEXT: scf.for
func.func @tokens(%q: tensor<1x?x2x4xf32>, %k: tensor<1x?x2x4xf32>, %v: tensor<1x?x2x8xf32>,
    %dt: tensor<1x?x2xf32>, %A: tensor<2xf32>, %s0: tensor<1x2x4x8xf32>)
    -> (tensor<1x?x2x8xf32>, tensor<1x2x4x8xf32>)
    attributes {densessm.schedule = #densessm.schedule<recurrent>} {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A initial_state(%s0)
           : tensor<1x?x2x4xf32>, tensor<1x?x2x4xf32>, tensor<1x?x2x8xf32>, tensor<1x?x2xf32>,
             tensor<2xf32>, tensor<1x2x4x8xf32>
           -> tensor<1x?x2x8xf32>, tensor<1x2x4x8xf32>
  return %y, %s : tensor<1x?x2x8xf32>, tensor<1x2x4x8xf32>
}

// -----

// A key size unknown at compile time: all 8 warps, striding over K in
// passes of 4 keys per warp (keys i, i + 8, i + 16, i + 24: the later
// three may lie past K, and are then computed on the last key, not stored
// and not added); q and k are read from their buffers (nothing staged),
// only the parts shared.
// CHECK-LABEL: func.func @dynamic_keys
// CHECK: %[[K:.*]] = tensor.dim %{{.*}}, %c3
// CHECK: gpu.launch
// CHECK-SAME: = %c256,
// CHECK-SAME: workgroup(%{{[a-z0-9_]+}} : memref<256xf32, #gpu.address_space<workgroup>>) {
// CHECK: %[[WARP:.*]] = arith.divui
// CHECK-NOT: gpu.barrier
// CHECK: %[[LASTKEY:.*]] = arith.subi %[[K]], %c1
// CHECK: scf.for %[[I:.*]] = %[[WARP]] to %[[K]] step %c32 iter_args(%[[ACC:.*]] = %{{.*}})
// CHECK:   %[[I1:.*]] = arith.addi %[[I]], %c8
// CHECK:   %[[E1:.*]] = arith.cmpi ult, %[[I1]], %[[K]]
// CHECK:   %[[C1:.*]] = arith.minui %[[I1]], %[[LASTKEY]]
// CHECK:   memref.load %{{.*}}[%{{.*}}, %c0, %{{.*}}, %[[C1]]]
// CHECK:   arith.addi %[[I]], %c16
// CHECK:   arith.addi %[[I]], %c24
// CHECK:   %[[S0:.*]] = math.fma %{{.*}}, %{{.*}}, %[[ACC]]
// CHECK:   %[[STORES1:.*]] = arith.andi %{{.*}}, %[[E1]]
// CHECK:   scf.if %[[STORES1]] {
// CHECK:     memref.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %[[C1]], %{{.*}}]
// CHECK:   %[[ADD1:.*]] = math.fma %{{.*}}, %{{.*}}, %[[S0]]
// CHECK:   arith.select %[[E1]], %[[ADD1]], %[[S0]]
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
func.func @dynamic_keys(%q: tensor<1x1x2x?xf32>, %k: tensor<1x1x2x?xf32>, %v: tensor<1x1x2x8xf32>,
    %dt: tensor<1x1x2xf32>, %A: tensor<2xf32>) -> (tensor<1x1x2x8xf32>, tensor<1x2x?x8xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<1x1x2x?xf32>, tensor<1x1x2x?xf32>, tensor<1x1x2x8xf32>, tensor<1x1x2xf32>, tensor<2xf32>
           -> tensor<1x1x2x8xf32>, tensor<1x2x?x8xf32>
  return %y, %s : tensor<1x1x2x8xf32>, tensor<1x2x?x8xf32>
}

// -----

// 20 keys over 8 warps: 3 keys per warp and pass (i, i + 8, i + 16), of
// which the last two may not exist (warps 4 to 7 have 2 keys) and are
// guarded; one warp takes its 20 keys in passes of 16, the second pass's
// last 12 past K.
// CHECK-LABEL: func.func @uneven_keys
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %c20 step %c24 iter_args
// CHECK:   arith.addi %[[I]], %c8
// CHECK:   arith.cmpi ult, %{{.*}}, %c20
// CHECK:   arith.minui %{{.*}}, %c19
// CHECK:   arith.addi %[[I]], %c16
// CHECK:   arith.cmpi ult, %{{.*}}, %c20
// CHECK:   arith.minui %{{.*}}, %c19
// CHECK-NOT: arith.addi %[[I]], %c24
// CHECK: gpu.barrier
// ONE-LABEL: func.func @uneven_keys
// ONE: scf.for %[[I:.*]] = %{{.*}} to %c20 step %c16 iter_args
// ONE:   arith.addi %[[I]], %c15
// ONE-NOT: arith.addi %[[I]], %c16
// ONE: scf.yield
func.func @uneven_keys(%q: tensor<1x1x1x20xf32>, %k: tensor<1x1x1x20xf32>, %v: tensor<1x1x1x8xf32>,
    %dt: tensor<1x1x1xf32>, %A: tensor<1xf32>) -> (tensor<1x1x1x8xf32>, tensor<1x1x20x8xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<1x1x1x20xf32>, tensor<1x1x1x20xf32>, tensor<1x1x1x8xf32>, tensor<1x1x1xf32>, tensor<1xf32>
           -> tensor<1x1x1x8xf32>, tensor<1x1x20x8xf32>
  return %y, %s : tensor<1x1x1x8xf32>, tensor<1x1x20x8xf32>
}

// -----

// A fused dense connection in a step: its statistics cut each token's
// H·V = 80 connected values into parts, enough blocks for one value per
// thread — one part of 256 threads here, three of 32 with one warp — each
// block storing its part's sum of squares; the step's threads add a token's
// parts and take 1/rms themselves.
// CHECK-LABEL: func.func @dense_step
// CHECK: %[[SUMS:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?x1xf32>
// CHECK: gpu.launch blocks(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// CHECK: gpu.launch
// CHECK: %[[SUM:.*]] = memref.load %[[SUMS]][%{{.*}}, %c0, %c0]
// CHECK-NEXT: arith.divf %[[SUM]], %cst
// ONE-LABEL: func.func @dense_step
// ONE: %[[SUMS:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?x3xf32>
// ONE: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %[[BY:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c3, %{{[a-z0-9_]+}} = %c1, %{{[a-z0-9_]+}} = %c1)
// ONE-SAME: threads(%[[TX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c32,
// ONE: %[[T:.*]] = arith.divui %[[BX]], %c3
// ONE: %[[PART:.*]] = arith.remui %[[BX]], %c3
// ONE: %[[FIRST0:.*]] = arith.muli %[[PART]], %c32
// ONE: %[[FIRST:.*]] = arith.addi %[[FIRST0]], %[[TX]]
// ONE: scf.for %{{.*}} = %[[FIRST]] to %c80 step %c96 iter_args
// ONE: gpu.shuffle  xor
// ONE-NOT: gpu.barrier
// ONE: memref.store %{{.*}}, %[[SUMS]][%[[BY]], %[[T]], %[[PART]]]
// ONE: gpu.launch
// ONE: %[[P0:.*]] = memref.load %[[SUMS]][%{{.*}}, %c0, %c0]
// ONE: %[[P1:.*]] = memref.load %[[SUMS]][%{{.*}}, %c0, %c1]
// ONE: %[[S1:.*]] = arith.addf %[[P0]], %[[P1]]
// ONE: %[[P2:.*]] = memref.load %[[SUMS]][%{{.*}}, %c0, %c2]
// ONE: %[[S2:.*]] = arith.addf %[[S1]], %[[P2]]
// ONE: %[[MEAN:.*]] = arith.divf %[[S2]], %cst
// ONE: math.rsqrt
func.func @dense_step(%q: tensor<1x1x2x4xf32>, %k: tensor<1x1x2x4xf32>, %v: tensor<1x1x2x40xf32>,
    %dt: tensor<1x1x2xf32>, %A: tensor<2xf32>, %sel: tensor<1x1x2xf32>, %w: tensor<80x2xf32>,
    %n: tensor<80xf32>, %k0: tensor<1x1x2x40xf32>) -> (tensor<1x1x2x40xf32>, tensor<1x2x4x40xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A dense(%sel, %w, %n, [%k0]) {dense_eps = 1.0e-06 : f32}
           : tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x40xf32>, tensor<1x1x2xf32>,
             tensor<2xf32>, tensor<1x1x2xf32>, tensor<80x2xf32>, tensor<80xf32>, tensor<1x1x2x40xf32>
           -> tensor<1x1x2x40xf32>, tensor<1x2x4x40xf32>
  return %y, %s : tensor<1x1x2x40xf32>, tensor<1x2x4x40xf32>
}
