// The RetNet (GAU) example model (models/examples/): dense_block_layers = 0.
// RUN: densessm-opt %models/examples/retnet.mlir > %t.custom
// RUN: densessm-opt %models/examples/retnet.mlir --mlir-print-op-generic | densessm-opt > %t.generic
// RUN: diff %t.custom %t.generic
// RUN: densessm-opt %t.custom | diff %t.custom -
// RUN: FileCheck %s --implicit-check-not=_select. < %t.custom
// RUN: densessm-opt %models/examples/retnet.mlir -canonicalize | FileCheck %s --check-prefix=CANON

// The calling convention: tokens, each sequence's position and every
// layer's retention state in, then the weights; logits and the final states
// out. No layer takes k_select or v_select (nothing to connect).
// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: %arg0: tensor<?x?xi64> {densessm.input = "tokens"},
// CHECK-SAME: %arg1: tensor<?xi64> {densessm.input = "position"},
// CHECK-SAME: %arg2: tensor<?x2x8x32xf32> {densessm.state = "layers.0.retention_state"},
// CHECK-SAME: %arg3: tensor<?x2x8x32xf32> {densessm.state = "layers.1.retention_state"},
// CHECK-SAME: %[[GN0:arg[0-9]+]]: tensor<32xf32> {densessm.weight = "model.layers.0.self_attn.group_norm.weight"},
// CHECK-SAME: %[[KNORM1:arg[0-9]+]]: tensor<16xf32> {densessm.weight = "model.layers.1.self_attn.k_norm.weight"},
// CHECK-SAME: %[[VNORM1:arg[0-9]+]]: tensor<64xf32> {densessm.weight = "model.layers.1.self_attn.v_norm.weight"},
// CHECK-SAME: %[[NORM:arg[0-9]+]]: tensor<32xf32> {densessm.weight = "model.norm.weight"},
// CHECK-SAME: %[[HEAD:arg[0-9]+]]: tensor<64x32xf32> {densessm.weight = "lm_head.weight"})
// CHECK-SAME: -> (tensor<?x?x64xf32> {densessm.output = "logits"},
// CHECK-SAME: tensor<?x2x8x32xf32> {densessm.state = "layers.0.retention_state"}, tensor<?x2x8x32xf32> {densessm.state = "layers.1.retention_state"})
// CHECK-SAME: attributes {densessm.schedule = #densessm.schedule<parallel>}
// CHECK: %[[DECAY:.*]] = arith.constant dense<[9.687500e-01, 9.843750e-01]> : tensor<2xf32>
// CHECK: densessm.rotary %{{.*}} position(%arg1)
// CHECK: densessm.retention %{{.*}}, %{{.*}}, %{{.*}} decay(%[[DECAY]]) position(%arg1) initial_state(%arg2) :
// CHECK: densessm.rms_norm %{{.*}}, %[[GN0]] {{.*}} : tensor<?x?x2x32xf32>, tensor<32xf32>
// Layer 1 still applies k_norm and v_norm (the authors' code does).
// CHECK: densessm.dense_connect %{{.*}}, [] norm(%[[KNORM1]]) : tensor<?x?x16xf32>, tensor<16xf32>
// CHECK: densessm.dense_connect %{{.*}}, [] norm(%[[VNORM1]]) : tensor<?x?x64xf32>, tensor<64xf32>
// CHECK: densessm.retention {{.*}} position(%arg1) initial_state(%arg3)
// CHECK: %[[HN:.+]] = densessm.rms_norm %{{.+}}, %[[NORM]]
// CHECK: linalg.contract {{.*}} ins(%[[HN]], %[[HEAD]] : {{.*}}) -> tensor<?x?x64xf32>
// CHECK: return
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %arg0: tensor<?x1xi64> {densessm.input = "tokens"}, %arg1: tensor<?xi64> {densessm.input = "position"}, %arg2: tensor<?x2x8x32xf32> {densessm.state = "layers.0.retention_state"}
// CHECK-SAME: -> (tensor<?x1x64xf32> {densessm.output = "logits"},
// CHECK-SAME: attributes {densessm.schedule = #densessm.schedule<recurrent>}
// CHECK: densessm.rotary %{{.*}} position(%arg1)
// CHECK: densessm.retention {{.*}} position(%arg1) initial_state(%arg2)
// CHECK: densessm.retention {{.*}} position(%arg1) initial_state(%arg3)

// Canonicalisation turns those norm-only connections into rms_norm.
// CANON-LABEL: func.func @prefill(
// CANON-NOT: densessm.dense_connect
// CANON-SAME: %[[KNORM1:arg[0-9]+]]: tensor<16xf32> {densessm.weight = "model.layers.1.self_attn.k_norm.weight"}
// CANON: densessm.rms_norm %{{.*}}, %[[KNORM1]]
// CANON-LABEL: func.func @step(
// CANON-NOT: densessm.dense_connect
