// The Mamba-1 example model (models/examples/, the importer's IR of a tiny
// checkpoint): verified, round-tripped (custom and generic form print the
// same module, which parses back to itself), and canonicalised.
// RUN: densessm-opt %models/examples/mamba.mlir > %t.custom
// RUN: densessm-opt %models/examples/mamba.mlir --mlir-print-op-generic | densessm-opt > %t.generic
// RUN: diff %t.custom %t.generic
// RUN: densessm-opt %t.custom | diff %t.custom -
// RUN: FileCheck %s < %t.custom
// RUN: densessm-opt %models/examples/mamba.mlir -canonicalize | FileCheck %s --check-prefix=CANON

// The calling convention: tokens, every layer's conv window and scan state,
// then the weights (named after their checkpoint tensors) in; logits and the
// final states out; batch and length dynamic. The head is untied: its own
// lm_head.weight.
// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: %arg0: tensor<?x?xi64> {densessm.input = "tokens"},
// CHECK-SAME: %arg1: tensor<?x64x3xf32> {densessm.state = "layers.0.conv_window"},
// CHECK-SAME: %arg2: tensor<?x64x8xf32> {densessm.state = "layers.0.ssm_state"},
// CHECK-SAME: %arg3: tensor<?x64x3xf32> {densessm.state = "layers.1.conv_window"},
// CHECK-SAME: %arg4: tensor<?x64x8xf32> {densessm.state = "layers.1.ssm_state"},
// CHECK-SAME: %[[EMBED:arg[0-9]+]]: tensor<64x32xf32> {densessm.weight = "backbone.embeddings.weight"},
// CHECK-SAME: %[[LN0:arg[0-9]+]]: tensor<32xf32> {densessm.weight = "backbone.layers.0.norm.weight"},
// CHECK-SAME: {densessm.weight = "backbone.layers.1.mixer.A_log"}
// CHECK-SAME: %[[NORMF:arg[0-9]+]]: tensor<32xf32> {densessm.weight = "backbone.norm_f.weight"},
// CHECK-SAME: %[[HEAD:arg[0-9]+]]: tensor<64x32xf32> {densessm.weight = "lm_head.weight"})
// CHECK-SAME: -> (tensor<?x?x64xf32> {densessm.output = "logits"},
// CHECK-SAME: tensor<?x64x3xf32> {densessm.state = "layers.0.conv_window"}, tensor<?x64x8xf32> {densessm.state = "layers.0.ssm_state"},
// CHECK-SAME: tensor<?x64x3xf32> {densessm.state = "layers.1.conv_window"}, tensor<?x64x8xf32> {densessm.state = "layers.1.ssm_state"})
// CHECK-SAME: attributes {densessm.schedule = #densessm.schedule<parallel>}
// CHECK: %[[H:.+]] = densessm.embedding %[[EMBED]][%arg0] : tensor<64x32xf32>, tensor<?x?xi64> -> tensor<?x?x32xf32>
// CHECK: densessm.rms_norm %[[H]], %[[LN0]]
// CHECK: densessm.causal_conv1d {{.*}} window(%arg1) {activation = #densessm.activation<silu>}
// CHECK: densessm.selective_scan {{.*}} D({{.*}}) z({{.*}}) delta_bias({{.*}}) initial_state(%arg2) {delta_softplus}
// CHECK: densessm.causal_conv1d {{.*}} window(%arg3)
// CHECK: densessm.selective_scan {{.*}} initial_state(%arg4)
// CHECK-NOT: densessm.dense_connect
// CHECK: %[[HN:.+]] = densessm.rms_norm %{{.+}}, %[[NORMF]]
// CHECK: %[[LOGITS:.+]] = linalg.contract {{.*}} ins(%[[HN]], %[[HEAD]] : {{.*}}) -> tensor<?x?x64xf32>
// CHECK: return %[[LOGITS]], {{.*}} : tensor<?x?x64xf32>, tensor<?x64x3xf32>, tensor<?x64x8xf32>, tensor<?x64x3xf32>, tensor<?x64x8xf32>

// @step: one token per sequence, the same states in and out.
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %arg0: tensor<?x1xi64> {densessm.input = "tokens"}, %arg1: tensor<?x64x3xf32> {densessm.state = "layers.0.conv_window"}, %arg2: tensor<?x64x8xf32> {densessm.state = "layers.0.ssm_state"}
// CHECK-SAME: {densessm.weight = "lm_head.weight"})
// CHECK-SAME: -> (tensor<?x1x64xf32> {densessm.output = "logits"},
// CHECK-SAME: attributes {densessm.schedule = #densessm.schedule<recurrent>}
// CHECK: densessm.causal_conv1d {{.*}} window(%arg1)
// CHECK: densessm.selective_scan {{.*}} initial_state(%arg2)
// CHECK: densessm.causal_conv1d {{.*}} window(%arg3)
// CHECK: densessm.selective_scan {{.*}} initial_state(%arg4)
// CHECK-NOT: densessm.dense_connect
// CHECK: return

// CANON-LABEL: func.func @prefill(
// CANON-COUNT-2: densessm.selective_scan
// CANON-LABEL: func.func @step(
// CANON-COUNT-2: densessm.selective_scan
