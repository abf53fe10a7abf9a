// --densessm-lower-reductions-to-gpu: a linalg sum into one f32 output
// (a norm's statistic) with at least min-size terms per output element
// becomes one gpu.launch, a block per output element whose threads stride
// over the terms and whose warps add their sums through shared memory; the
// sum's zero fill right before it is absorbed. Other reductions are left
// alone.
// RUN: densessm-opt %s -densessm-lower-reductions-to-gpu -split-input-file | FileCheck %s
// RUN: densessm-opt %s -densessm-lower-reductions-to-gpu=min-size=2000 -split-input-file | FileCheck %s --check-prefix=FEW
// RUN: not densessm-opt %s -densessm-lower-reductions-to-gpu=block-size=100 -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-BLOCK
// RUN: not densessm-opt %s -densessm-lower-reductions-to-gpu=min-size=0 -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-MIN
// BAD-BLOCK: error: --densessm-lower-reductions-to-gpu: option 'block-size' must be a multiple of 32 in [32, 1024], found 100
// BAD-MIN: error: --densessm-lower-reductions-to-gpu: option 'min-size' must be at least 1, found 0

// A decode step's sum of squares of k over 1024 values, batch dynamic: one
// block per (batch, token) row, 256 threads (4 terms each), 8 warps; the
// sum starts from the fill's zero instead of a load of the output, and the
// fill is gone. An scf.if skips an empty batch.
// CHECK-LABEL: func.func @sum_of_squares
// CHECK-NOT: linalg.fill
// CHECK: %[[ROWS:.*]] = memref.dim %[[X:.*]], %c0
// CHECK: %[[ANY:.*]] = arith.cmpi ugt, %[[ROWS]], %c0
// CHECK: scf.if %[[ANY]] {
// CHECK: gpu.launch blocks(%[[P:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %[[ROWS]], %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}})
// CHECK-SAME: threads(%[[T:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c256,
// CHECK-SAME: workgroup(%[[PART:[a-z0-9_]+]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[WARP:.*]] = arith.divui %[[T]], %c32
// CHECK: %[[L:.*]] = arith.remui %[[P]], %c1
// CHECK: %[[BI:.*]] = arith.divui %[[P]], %c1
// CHECK: %[[PARTIAL:.*]] = scf.for %[[R:.*]] = %[[T]] to %c1024{{.*}} step %c256{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32) {
// CHECK:   %[[V:.*]] = memref.load %[[X]][%[[BI]], %[[L]], %[[R]]]
// CHECK:   %[[SQ:.*]] = arith.mulf %[[V]], %[[V]]
// CHECK:   %[[TERM:.*]] = arith.addf %{{.*}}, %[[SQ]]
// CHECK:   %[[NEXT:.*]] = arith.addf %[[ACC]], %[[TERM]]
// CHECK:   scf.yield %[[NEXT]]
// CHECK: gpu.shuffle  xor %[[PARTIAL]], %c16_i32, %c32_i32 : f32
// CHECK-COUNT-4: gpu.shuffle  xor
// CHECK: scf.if
// CHECK:   memref.store %{{.*}}, %[[PART]][%[[WARP]]]
// CHECK: gpu.barrier
// CHECK: %[[TOTAL:.*]] = scf.for %{{.*}} = %c0{{.*}} to %c8{{.*}} step %c1{{.*}} iter_args
// CHECK:   memref.load %[[PART]]
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[T]], %c0
// CHECK: scf.if %[[FIRST]] {
// CHECK-NOT: memref.load
// CHECK:   %[[S:.*]] = arith.addf %cst, %[[TOTAL]]
// CHECK:   memref.store %[[S]], %[[OUT:.*]][%[[BI]], %[[L]]]
// CHECK-NOT: linalg.generic
// FEW-LABEL: func.func @sum_of_squares
// FEW: linalg.fill
// FEW: linalg.generic
// FEW-NOT: gpu.launch
// FEW: return
func.func @sum_of_squares(%x: memref<?x1x1024xf32>, %s: memref<?x1xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%s : memref<?x1xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, l, d) -> (b, l, d)>, affine_map<(b, l, d) -> (b, l)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<?x1x1024xf32>) outs(%s : memref<?x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %next = arith.addf %acc, %sq : f32
    linalg.yield %next : f32
  }
  return
}

// -----

// A group norm's statistic per head, [b, l, h] over d = 40, with no fill
// before it: one warp per (b, l, h) (40 terms: 32 threads, no shared
// memory), the sum added to what the output held. The weight is
// broadcast over b, l, h.
// CHECK-LABEL: func.func @per_head
// CHECK: gpu.launch blocks(%[[P:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c24, %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}})
// CHECK-SAME: threads(%[[T:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c32, %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}}) {
// CHECK: %[[H:.*]] = arith.remui %[[P]], %c3
// CHECK: %[[REST:.*]] = arith.divui %[[P]], %c3
// CHECK: %[[L:.*]] = arith.remui %[[REST]], %c4
// CHECK: %[[B:.*]] = arith.divui %[[REST]], %c4
// CHECK: scf.for %[[D:.*]] = %[[T]] to %c40{{.*}} step %c32{{.*}} iter_args
// CHECK:   memref.load %{{.*}}[%[[B]], %[[L]], %[[H]], %[[D]]] : memref<2x4x3x40xf32>
// CHECK:   memref.load %{{.*}}[%[[D]]] : memref<40xf32>
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK-NOT: gpu.barrier
// CHECK: scf.if
// CHECK:   %[[OLD:.*]] = memref.load %[[OUT:.*]][%[[B]], %[[L]], %[[H]]]
// CHECK:   %[[NEW:.*]] = arith.addf %[[OLD]], %{{.*}}
// CHECK:   memref.store %[[NEW]], %[[OUT]][%[[B]], %[[L]], %[[H]]]
func.func @per_head(%x: memref<2x4x3x40xf32>, %w: memref<40xf32>, %s: memref<2x4x3xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, l, h, d) -> (b, l, h, d)>, affine_map<(b, l, h, d) -> (d)>,
                                   affine_map<(b, l, h, d) -> (b, l, h)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<2x4x3x40xf32>, memref<40xf32>) outs(%s : memref<2x4x3xf32>) {
  ^bb0(%in: f32, %wt: f32, %acc: f32):
    %p = arith.mulf %in, %wt : f32
    %next = arith.addf %p, %acc : f32
    linalg.yield %next : f32
  }
  return
}

// -----

// Two reduction loops around a parallel one, the output indexed by the
// parallel loop alone: the terms are (i, k) pairs, k fastest (6 x 20 =
// 120: 32 threads); linalg.index reads the term's own position.
// CHECK-LABEL: func.func @two_reductions
// CHECK: gpu.launch blocks(%[[P:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c5{{(_[0-9]+)?}}, %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}})
// CHECK: scf.for %[[R:.*]] = %{{.*}} to %c120{{.*}} step %c32{{.*}} iter_args
// CHECK:   %[[K:.*]] = arith.remui %[[R]], %c20
// CHECK:   %[[I:.*]] = arith.divui %[[R]], %c20
// CHECK:   memref.load %{{.*}}[%[[I]], %[[P]], %[[K]]] : memref<6x5x20xf32>
// CHECK:   arith.index_cast %[[K]]
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[P]]] : memref<5xf32>
func.func @two_reductions(%x: memref<6x5x20xf32>, %s: memref<5xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> (j)>],
                  iterator_types = ["reduction", "parallel", "reduction"]}
      ins(%x : memref<6x5x20xf32>) outs(%s : memref<5xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %k = linalg.index 2 : index
    %ki = arith.index_cast %k : index to i32
    %kf = arith.sitofp %ki : i32 to f32
    %p = arith.mulf %in, %kf : f32
    %next = arith.addf %acc, %p : f32
    linalg.yield %next : f32
  }
  return
}

// -----

// Left alone: fewer terms than min-size (a convolution's 4 taps); a
// running maximum (no sum); a sum whose terms read the running sum; an f64
// sum; a reduction loop of dynamic size.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: gpu.launch
// CHECK-COUNT-5: linalg.generic
// CHECK-NOT: gpu.launch
func.func @left_alone(%x: memref<8x4xf32>, %s: memref<8xf32>, %xd: memref<8x64xf64>, %sd: memref<8xf64>,
                      %xv: memref<8x?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x4xf32>) outs(%s : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %next = arith.addf %acc, %in : f32
    linalg.yield %next : f32
  }
  %y = memref.alloc() : memref<8x64xf32>
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<8x64xf32>) outs(%s : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %next = arith.maximumf %acc, %in : f32
    linalg.yield %next : f32
  }
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<8x64xf32>) outs(%s : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %t = arith.mulf %in, %acc : f32
    %next = arith.addf %acc, %t : f32
    linalg.yield %next : f32
  }
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%xd : memref<8x64xf64>) outs(%sd : memref<8xf64>) {
  ^bb0(%in: f64, %acc: f64):
    %next = arith.addf %acc, %in : f64
    linalg.yield %next : f64
  }
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%xv : memref<8x?xf32>) outs(%s : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %next = arith.addf %acc, %in : f32
    linalg.yield %next : f32
  }
  return
}

// -----

// A kernel's own linalg ops are not the host code's: left alone.
// CHECK-LABEL: func.func @in_kernel
// CHECK: gpu.launch
// CHECK:   linalg.generic
// CHECK-NOT: gpu.launch
func.func @in_kernel(%x: memref<8x64xf32>, %s: memref<8xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                    iterator_types = ["parallel", "reduction"]}
        ins(%x : memref<8x64xf32>) outs(%s : memref<8xf32>) {
    ^bb0(%in: f32, %acc: f32):
      %next = arith.addf %acc, %in : f32
      linalg.yield %next : f32
    }
    gpu.terminator
  }
  return
}
