// The Mamba-1 example model: verified, round-tripped (custom and generic form
// print the same module), and canonicalised.
// RUN: densessm-opt %models/examples/mamba.mlir > %t.custom
// RUN: densessm-opt %models/examples/mamba.mlir --mlir-print-op-generic | densessm-opt > %t.generic
// RUN: diff %t.custom %t.generic
// RUN: densessm-opt %t.custom | diff %t.custom -
// RUN: FileCheck %s < %t.custom
// RUN: densessm-opt %models/examples/mamba.mlir -canonicalize | FileCheck %s --check-prefix=CANON

// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: tensor<1x8xi64>
// CHECK-SAME: {densessm.weight = "backbone.layers.1.mixer.A_log"}
// CHECK-SAME: -> (tensor<1x8x64xf32>, tensor<1x64x3xf32>, tensor<1x64x8xf32>, tensor<1x64x3xf32>, tensor<1x64x8xf32>)
// CHECK-SAME: attributes {densessm.schedule = #densessm.schedule<parallel>}
// CHECK: densessm.embedding
// CHECK: densessm.causal_conv1d {{.*}} {activation = #densessm.activation<silu>}
// CHECK: densessm.selective_scan {{.*}} D({{.*}}) z({{.*}}) delta_bias({{.*}}) {delta_softplus}
// CHECK: densessm.causal_conv1d
// CHECK: densessm.selective_scan
// CHECK-NOT: densessm.dense_connect
// CHECK: linalg.contract {{.*}} -> tensor<1x8x64xf32>
// CHECK: return

// CHECK-LABEL: func.func @step(
// CHECK-SAME: %arg0: tensor<1x1xi64>, %arg1: tensor<1x64x3xf32>, %arg2: tensor<1x64x8xf32>
// CHECK-SAME: attributes {densessm.schedule = #densessm.schedule<recurrent>}
// CHECK: densessm.causal_conv1d {{.*}} window(%arg1)
// CHECK: densessm.selective_scan {{.*}} initial_state(%arg2)
// CHECK: densessm.causal_conv1d {{.*}} window(%arg3)
// CHECK: densessm.selective_scan {{.*}} initial_state(%arg4)

// CANON-LABEL: func.func @prefill(
// CANON-COUNT-2: densessm.selective_scan
// CANON-LABEL: func.func @step(
// CANON-COUNT-2: densessm.selective_scan
