// RUN: densessm-opt %s --densessm-cuda-pipeline="stop-at-gpu=true reduction-block-size=0" --split-input-file | FileCheck %s
// RUN: densessm-opt %s --densessm-cuda-pipeline="stop-at-gpu=true reduction-block-size=0 fuse-loops=false" --split-input-file | FileCheck %s --check-prefix=UNFUSED

// (reduction-block-size=0: sums stay loops, one thread per output element,
// as any reduction short of --densessm-lower-reductions-to-gpu's min-size.)

// A norm's sum of squares: the zero fill of the accumulator and the
// reduction into it run over the same rows, so --scf-parallel-loop-fusion
// (fuse-loops, on by default) makes them one loop, hence one kernel whose
// thread zeroes its row's sum and then accumulates it.

// CHECK-LABEL: func.func @sum_of_squares(
// CHECK-COUNT-1: gpu.launch_func
// CHECK-NOT:     gpu.launch_func
// CHECK:       return

// CHECK:       gpu.func
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         memref.store %[[ZERO]], %[[SUM:.*]][%[[ROW:.*]]] :
// CHECK:         scf.for
// CHECK:           memref.load %[[SUM]][%[[ROW]]]
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:           memref.store {{.*}}, %[[SUM]][%[[ROW]]]

// UNFUSED-LABEL: func.func @sum_of_squares(
// UNFUSED-COUNT-2: gpu.launch_func
// UNFUSED-NOT:     gpu.launch_func
// UNFUSED:       return

func.func @sum_of_squares(%x: tensor<?x64xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x64xf32>
  %empty = tensor.empty(%rows) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {
      indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x64xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %square = arith.mulf %in, %in : f32
    %next = arith.addf %acc, %square : f32
    linalg.yield %next : f32
  } -> tensor<?xf32>
  return %sum : tensor<?xf32>
}

// -----

// Two independent elementwise ops of the same rows, each writing its own
// buffer: after bufferization the second buffer's allocation lies between
// the two loops; --densessm-gather-parallel-loops moves it up, and the two
// loops fuse into one kernel.

// CHECK-LABEL: func.func @siblings(
// CHECK-COUNT-1: gpu.launch_func
// CHECK-NOT:     gpu.launch_func
// CHECK:       return

// UNFUSED-LABEL: func.func @siblings(
// UNFUSED-COUNT-2: gpu.launch_func
// UNFUSED-NOT:     gpu.launch_func
// UNFUSED:       return

func.func @siblings(%x: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e0 = tensor.empty(%rows) : tensor<?x64xf32>
  %twice = linalg.generic {
      indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r, i)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x64xf32>) outs(%e0 : tensor<?x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = arith.addf %in, %in : f32
    linalg.yield %t : f32
  } -> tensor<?x64xf32>
  %e1 = tensor.empty(%rows) : tensor<?x64xf32>
  %square = linalg.generic {
      indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r, i)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x64xf32>) outs(%e1 : tensor<?x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.mulf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %twice, %square : tensor<?x64xf32>, tensor<?x64xf32>
}
