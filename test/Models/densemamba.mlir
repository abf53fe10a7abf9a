// The DenseMamba example model (m = 2, three layers).
// RUN: densessm-opt %models/examples/densemamba.mlir > %t.custom
// RUN: densessm-opt %models/examples/densemamba.mlir --mlir-print-op-generic | densessm-opt > %t.generic
// RUN: diff %t.custom %t.generic
// RUN: densessm-opt %t.custom | diff %t.custom -
// RUN: FileCheck %s < %t.custom
// RUN: densessm-opt %models/examples/densemamba.mlir -canonicalize | FileCheck %s --check-prefix=CANON

// Layer 0 has nothing to connect; layer 1 connects layer 0's u, layer 2
// connects layers 1 and 0 (nearest first), gated by its own input.
// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: %[[NORM1:arg[0-9]+]]: tensor<64xf32> {densessm.weight = "backbone.layers.1.mixer.u_norm.weight"}
// CHECK: %[[U0:[a-z0-9_]+]], %{{.*}} = densessm.causal_conv1d
// CHECK: densessm.selective_scan
// CHECK: %[[U1:[a-z0-9_]+]], %{{.*}} = densessm.causal_conv1d
// CHECK: densessm.dense_connect %[[U1]], [%[[U0]]] gate(
// CHECK-SAME: norm(%[[NORM1]])
// CHECK-SAME: : tensor<1x8x64xf32>, tensor<1x8x64xf32>, tensor<1x8x32xf32>, tensor<1x32xf32>, tensor<64x1xf32>, tensor<64xf32>
// CHECK: %[[U2:[a-z0-9_]+]], %{{.*}} = densessm.causal_conv1d
// CHECK: densessm.dense_connect %[[U2]], [%[[U1]], %[[U0]]] gate(
// CHECK-LABEL: func.func @step(
// CHECK-COUNT-2: densessm.dense_connect

// CANON-LABEL: func.func @prefill(
// CANON-COUNT-2: densessm.dense_connect
