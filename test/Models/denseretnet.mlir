// The DenseRetNet example model (m = 2, three layers).
// RUN: densessm-opt %models/examples/denseretnet.mlir > %t.custom
// RUN: densessm-opt %models/examples/denseretnet.mlir --mlir-print-op-generic | densessm-opt > %t.generic
// RUN: diff %t.custom %t.generic
// RUN: densessm-opt %t.custom | diff %t.custom -
// RUN: FileCheck %s < %t.custom
// RUN: densessm-opt %models/examples/denseretnet.mlir -densessm-select-schedule -canonicalize | FileCheck %s --check-prefix=CANON

// CHECK-LABEL: func.func @prefill(
// CHECK: %[[K0:[a-z0-9_]+]] = arith.mulf {{.*}} : tensor<1x8x16xf32>
// CHECK: %[[V0:[a-z0-9_]+]] = tensor.extract_slice %{{.*}}[0, 0, 0] [1, 8, 64]
// CHECK: densessm.retention
// CHECK: %[[K1:[a-z0-9_]+]] = arith.mulf {{.*}} : tensor<1x8x16xf32>
// CHECK: %[[V1:[a-z0-9_]+]] = tensor.extract_slice %{{.*}}[0, 0, 0] [1, 8, 64]
// CHECK: densessm.dense_connect %[[K1]], [%[[K0]]] gate(
// CHECK: densessm.dense_connect %[[V1]], [%[[V0]]] gate(
// CHECK: %[[K2:[a-z0-9_]+]] = arith.mulf {{.*}} : tensor<1x8x16xf32>
// CHECK: densessm.dense_connect %[[K2]], [%[[K1]], %[[K0]]] gate(
// CHECK-LABEL: func.func @step(
// CHECK-COUNT-4: densessm.dense_connect

// CANON-LABEL: func.func @prefill(
// CANON-COUNT-4: densessm.dense_connect
// CANON-LABEL: func.func @step(
