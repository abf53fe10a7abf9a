// The RetNet (GAU) example model: dense_block_layers = 0.
// RUN: densessm-opt %models/examples/retnet.mlir > %t.custom
// RUN: densessm-opt %models/examples/retnet.mlir --mlir-print-op-generic | densessm-opt > %t.generic
// RUN: diff %t.custom %t.generic
// RUN: densessm-opt %t.custom | diff %t.custom -
// RUN: FileCheck %s < %t.custom
// RUN: densessm-opt %models/examples/retnet.mlir -canonicalize | FileCheck %s --check-prefix=CANON

// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: %[[KNORM1:arg[0-9]+]]: tensor<16xf32> {densessm.weight = "model.layers.1.self_attn.k_norm.weight"}
// CHECK-SAME: %[[VNORM1:arg[0-9]+]]: tensor<64xf32> {densessm.weight = "model.layers.1.self_attn.v_norm.weight"}
// CHECK: %[[DECAY:.*]] = arith.constant dense<[9.687500e-01, 9.843750e-01]> : tensor<2xf32>
// CHECK: densessm.rotary
// CHECK: densessm.retention %{{.*}}, %{{.*}}, %{{.*}} decay(%[[DECAY]]) :
// CHECK: densessm.rms_norm {{.*}} : tensor<1x8x2x32xf32>, tensor<32xf32>
// Layer 1 still applies k_norm and v_norm (the authors' code does).
// CHECK: densessm.dense_connect %{{.*}}, [] norm(%[[KNORM1]])
// CHECK: densessm.dense_connect %{{.*}}, [] norm(%[[VNORM1]])
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %arg0: tensor<1x1xi64>, %arg1: tensor<1xi64>, %arg2: tensor<1x2x8x32xf32>
// CHECK: densessm.rotary %{{.*}} position(%arg1)
// CHECK: densessm.retention {{.*}} position(%arg1) initial_state(%arg2)

// Canonicalisation turns those norm-only connections into rms_norm.
// CANON-LABEL: func.func @prefill(
// CANON-NOT: densessm.dense_connect
// CANON-SAME: %[[KNORM1:arg[0-9]+]]: tensor<16xf32> {densessm.weight = "model.layers.1.self_attn.k_norm.weight"}
// CANON: densessm.rms_norm %{{.*}}, %[[KNORM1]]
// CANON-LABEL: func.func @step(
