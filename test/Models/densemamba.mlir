// The DenseMamba example model (models/examples/, m = 2, three layers).
// RUN: densessm-opt %models/examples/densemamba.mlir > %t.custom
// RUN: densessm-opt %models/examples/densemamba.mlir --mlir-print-op-generic | densessm-opt > %t.generic
// RUN: diff %t.custom %t.generic
// RUN: densessm-opt %t.custom | diff %t.custom -
// RUN: FileCheck %s --implicit-check-not=backbone.layers.0.mixer.u_ < %t.custom
// RUN: densessm-opt %models/examples/densemamba.mlir -canonicalize | FileCheck %s --check-prefix=CANON

// Layer 0 has nothing to connect (and takes none of its dense tensors);
// layer 1 connects layer 0's u, layer 2 connects layers 1 and 0 (nearest
// first), each gated by its u_select on its own normalised input and
// normalised by its u_norm; the connected u feeds x_proj and the scan.
// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: %arg0: tensor<?x?xi64> {densessm.input = "tokens"},
// CHECK-SAME: %arg5: tensor<?x64x3xf32> {densessm.state = "layers.2.conv_window"},
// CHECK-SAME: %arg6: tensor<?x64x8xf32> {densessm.state = "layers.2.ssm_state"},
// CHECK-SAME: %[[LN1:arg[0-9]+]]: tensor<32xf32> {densessm.weight = "backbone.layers.1.norm.weight"},
// CHECK-SAME: %[[FC1:arg[0-9]+]]: tensor<1x32xf32> {densessm.weight = "backbone.layers.1.mixer.u_select.fc1.weight"},
// CHECK-SAME: %[[FC2:arg[0-9]+]]: tensor<64x1xf32> {densessm.weight = "backbone.layers.1.mixer.u_select.fc2.weight"},
// CHECK-SAME: %[[NORM1:arg[0-9]+]]: tensor<64xf32> {densessm.weight = "backbone.layers.1.mixer.u_norm.weight"},
// CHECK-SAME: %[[LN2:arg[0-9]+]]: tensor<32xf32> {densessm.weight = "backbone.layers.2.norm.weight"},
// CHECK-SAME: %[[NORM2:arg[0-9]+]]: tensor<64xf32> {densessm.weight = "backbone.layers.2.mixer.u_norm.weight"},
// CHECK-SAME: %[[HEAD:arg[0-9]+]]: tensor<64x32xf32> {densessm.weight = "lm_head.weight"})
// CHECK-SAME: -> (tensor<?x?x64xf32> {densessm.output = "logits"},
// CHECK-SAME: tensor<?x64x8xf32> {densessm.state = "layers.2.ssm_state"})
// CHECK-SAME: attributes {densessm.schedule = #densessm.schedule<parallel>}
// CHECK: %[[U0:[a-z0-9_]+]], %{{.*}} = densessm.causal_conv1d {{.*}} window(%arg1)
// CHECK: densessm.selective_scan %[[U0]], {{.*}} initial_state(%arg2)
// CHECK: %[[X1:.+]] = densessm.rms_norm %{{.+}}, %[[LN1]]
// CHECK: %[[U1:[a-z0-9_]+]], %{{.*}} = densessm.causal_conv1d {{.*}} window(%arg3)
// CHECK: %[[F1:.+]] = densessm.dense_connect %[[U1]], [%[[U0]]] gate(%[[X1]], %[[FC1]], %[[FC2]]) norm(%[[NORM1]])
// CHECK-SAME: : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<1x32xf32>, tensor<64x1xf32>, tensor<64xf32>
// CHECK: linalg.contract {{.*}} ins(%[[F1]],
// CHECK: densessm.selective_scan %[[F1]], {{.*}} initial_state(%arg4)
// CHECK: %[[X2:.+]] = densessm.rms_norm %{{.+}}, %[[LN2]]
// CHECK: %[[U2:[a-z0-9_]+]], %{{.*}} = densessm.causal_conv1d {{.*}} window(%arg5)
// CHECK: %[[F2:.+]] = densessm.dense_connect %[[U2]], [%[[U1]], %[[U0]]] gate(%[[X2]], {{.*}}) norm(%[[NORM2]])
// CHECK: densessm.selective_scan %[[F2]], {{.*}} initial_state(%arg6)
// CHECK: linalg.contract {{.*}} ins(%{{.+}}, %[[HEAD]] :
// CHECK: return
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %arg0: tensor<?x1xi64> {densessm.input = "tokens"},
// CHECK-SAME: attributes {densessm.schedule = #densessm.schedule<recurrent>}
// CHECK: densessm.dense_connect %{{[a-z0-9_]+}}, [%{{[a-z0-9_]+}}] gate({{.*}} : tensor<?x1x64xf32>
// CHECK: densessm.dense_connect %{{[a-z0-9_]+}}, [%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}] gate({{.*}} : tensor<?x1x64xf32>

// CANON-LABEL: func.func @prefill(
// CANON-COUNT-2: densessm.dense_connect
// CANON-LABEL: func.func @step(
// CANON-COUNT-2: densessm.dense_connect
