// The DenseRetNet example model (models/examples/, m = 2, three layers).
// RUN: densessm-opt %models/examples/denseretnet.mlir > %t.custom
// RUN: densessm-opt %models/examples/denseretnet.mlir --mlir-print-op-generic | densessm-opt > %t.generic
// RUN: diff %t.custom %t.generic
// RUN: densessm-opt %t.custom | diff %t.custom -
// RUN: FileCheck %s < %t.custom \
// RUN:   --implicit-check-not=model.layers.0.self_attn.k_select --implicit-check-not=model.layers.0.self_attn.k_norm \
// RUN:   --implicit-check-not=model.layers.0.self_attn.v_select --implicit-check-not=model.layers.0.self_attn.v_norm
// RUN: densessm-opt %models/examples/denseretnet.mlir -densessm-select-schedule -canonicalize | FileCheck %s --check-prefix=CANON

// Each layer l >= 1 connects the pre-connection k and v of layers l-1 and
// l-2 (nearest first) to its own, gated by its k_select / v_select on its
// normalised input; layer 0 takes none of its dense tensors.
// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: %arg0: tensor<?x?xi64> {densessm.input = "tokens"},
// CHECK-SAME: %arg1: tensor<?xi64> {densessm.input = "position"},
// CHECK-SAME: %arg4: tensor<?x2x8x32xf32> {densessm.state = "layers.2.retention_state"},
// CHECK-SAME: %[[LN1:arg[0-9]+]]: tensor<32xf32> {densessm.weight = "model.layers.1.input_layernorm.weight"},
// CHECK-SAME: %[[KFC1:arg[0-9]+]]: tensor<1x32xf32> {densessm.weight = "model.layers.1.self_attn.k_select.fc1.weight"},
// CHECK-SAME: %[[KFC2:arg[0-9]+]]: tensor<16x1xf32> {densessm.weight = "model.layers.1.self_attn.k_select.fc2.weight"},
// CHECK-SAME: %[[KNORM1:arg[0-9]+]]: tensor<16xf32> {densessm.weight = "model.layers.1.self_attn.k_norm.weight"},
// CHECK-SAME: %[[VFC1:arg[0-9]+]]: tensor<1x32xf32> {densessm.weight = "model.layers.1.self_attn.v_select.fc1.weight"},
// CHECK-SAME: %[[VFC2:arg[0-9]+]]: tensor<64x1xf32> {densessm.weight = "model.layers.1.self_attn.v_select.fc2.weight"},
// CHECK-SAME: %[[VNORM1:arg[0-9]+]]: tensor<64xf32> {densessm.weight = "model.layers.1.self_attn.v_norm.weight"},
// CHECK-SAME: %[[LN2:arg[0-9]+]]: tensor<32xf32> {densessm.weight = "model.layers.2.input_layernorm.weight"},
// CHECK-SAME: %[[HEAD:arg[0-9]+]]: tensor<64x32xf32> {densessm.weight = "lm_head.weight"})
// CHECK-SAME: -> (tensor<?x?x64xf32> {densessm.output = "logits"},
// CHECK-SAME: tensor<?x2x8x32xf32> {densessm.state = "layers.2.retention_state"})
// CHECK-SAME: attributes {densessm.schedule = #densessm.schedule<parallel>}
// Layer 0: k and v before any connection.
// CHECK: %[[K0:[a-z0-9_]+]] = arith.mulf {{.*}} : tensor<?x?x16xf32>
// CHECK: %[[V0:[a-z0-9_]+]] = tensor.extract_slice %{{.*}}[0, 0, 0] [%{{.*}}, %{{.*}}, 64]
// CHECK: densessm.retention {{.*}} initial_state(%arg2)
// Layer 1.
// CHECK: %[[X1:.+]] = densessm.rms_norm %{{.+}}, %[[LN1]]
// CHECK: %[[K1:[a-z0-9_]+]] = arith.mulf {{.*}} : tensor<?x?x16xf32>
// CHECK: %[[V1:[a-z0-9_]+]] = tensor.extract_slice %{{.*}}[0, 0, 0] [%{{.*}}, %{{.*}}, 64]
// CHECK: densessm.dense_connect %[[K1]], [%[[K0]]] gate(%[[X1]], %[[KFC1]], %[[KFC2]]) norm(%[[KNORM1]])
// CHECK-SAME: : tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x32xf32>, tensor<1x32xf32>, tensor<16x1xf32>, tensor<16xf32>
// CHECK: densessm.dense_connect %[[V1]], [%[[V0]]] gate(%[[X1]], %[[VFC1]], %[[VFC2]]) norm(%[[VNORM1]])
// CHECK: densessm.retention {{.*}} initial_state(%arg3)
// Layer 2 reads the pre-connection k and v of layers 1 and 0.
// CHECK: %[[X2:.+]] = densessm.rms_norm %{{.+}}, %[[LN2]]
// CHECK: %[[K2:[a-z0-9_]+]] = arith.mulf {{.*}} : tensor<?x?x16xf32>
// CHECK: %[[V2:[a-z0-9_]+]] = tensor.extract_slice %{{.*}}[0, 0, 0] [%{{.*}}, %{{.*}}, 64]
// CHECK: densessm.dense_connect %[[K2]], [%[[K1]], %[[K0]]] gate(%[[X2]],
// CHECK: densessm.dense_connect %[[V2]], [%[[V1]], %[[V0]]] gate(%[[X2]],
// CHECK: densessm.retention {{.*}} initial_state(%arg4)
// CHECK: linalg.contract {{.*}} ins(%{{.+}}, %[[HEAD]] :
// CHECK: return
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %arg0: tensor<?x1xi64> {densessm.input = "tokens"}, %arg1: tensor<?xi64> {densessm.input = "position"},
// CHECK-SAME: attributes {densessm.schedule = #densessm.schedule<recurrent>}
// CHECK-COUNT-2: densessm.dense_connect %{{[a-z0-9_]+}}, [%{{[a-z0-9_]+}}] gate(
// CHECK-COUNT-2: densessm.dense_connect %{{[a-z0-9_]+}}, [%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}] gate(

// CANON-LABEL: func.func @prefill(
// CANON-SAME: attributes {densessm.schedule = #densessm.schedule<parallel>}
// CANON-COUNT-4: densessm.dense_connect
// CANON-LABEL: func.func @step(
// CANON-SAME: attributes {densessm.schedule = #densessm.schedule<recurrent>}
// CANON-COUNT-4: densessm.dense_connect
