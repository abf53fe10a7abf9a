// --densessm-lower-reductions-to-gpu: a linalg sum into one f32 output
// (a norm's statistic) with at least min-size terms per output element
// becomes one gpu.launch, a block per output element whose threads stride
// over the terms and whose warps add their sums through shared memory; the
// sum's fill right before it is absorbed; consecutive independent sums
// share the kernel (a short one only over the same output elements as a
// long one); a sum that only one kernel reads, at indices uniform over its
// blocks, is computed by each of that kernel's blocks instead. Other
// reductions are left alone.
// RUN: densessm-opt %s -densessm-lower-reductions-to-gpu -split-input-file | FileCheck %s
// RUN: densessm-opt %s -densessm-lower-reductions-to-gpu=min-size=2000 -split-input-file | FileCheck %s --check-prefix=FEW
// RUN: densessm-opt %s -densessm-lower-reductions-to-gpu=fold-into-kernels=false -split-input-file | FileCheck %s --check-prefix=NOFOLD
// RUN: not densessm-opt %s -densessm-lower-reductions-to-gpu=block-size=100 -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-BLOCK
// RUN: not densessm-opt %s -densessm-lower-reductions-to-gpu=min-size=0 -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-MIN
// BAD-BLOCK: error: --densessm-lower-reductions-to-gpu: option 'block-size' must be a multiple of 32 in [32, 1024], found 100
// BAD-MIN: error: --densessm-lower-reductions-to-gpu: option 'min-size' must be at least 1, found 0

// A decode step's sum of squares of k over 1024 values, batch dynamic: one
// block per (batch, token) row, 256 threads (4 terms each), 8 warps; the
// sum starts from the fill's zero instead of a load of the output, and the
// fill is gone. An scf.if skips an empty batch.
// CHECK-LABEL: func.func @sum_of_squares
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: memref<?x1x1024xf32>)
// CHECK-NOT: linalg.fill
// CHECK: memref.alloc
// CHECK: %[[ROWS:.*]] = memref.dim %[[X]], %c0
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
// CHECK: %[[S:.*]] = arith.addf %cst, %[[TOTAL]]
// CHECK: scf.if %[[FIRST]] {
// CHECK-NOT: memref.load
// CHECK:   memref.store %[[S]], %[[OUT:.*]][%[[BI]], %[[L]]]
// CHECK-NOT: linalg.generic
// FEW-LABEL: func.func @sum_of_squares
// FEW: linalg.fill
// FEW: linalg.generic
// FEW-NOT: gpu.launch
// FEW: return
func.func @sum_of_squares(%x: memref<?x1x1024xf32>) -> memref<?x1xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %b = memref.dim %x, %c0 : memref<?x1x1024xf32>
  %s = memref.alloc(%b) : memref<?x1xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<?x1xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, l, d) -> (b, l, d)>, affine_map<(b, l, d) -> (b, l)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<?x1x1024xf32>) outs(%s : memref<?x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %next = arith.addf %acc, %sq : f32
    linalg.yield %next : f32
  }
  return %s : memref<?x1xf32>
}

// -----

// A group norm's statistic per head, [b, l, h] over d = 40, with no fill
// before it: one warp per (b, l, h) (40 terms: 32 threads, no shared
// memory), the sum added to what the output held. (Outputs here are
// allocations: an argument may be any input argument too.) The weight is
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
func.func @per_head(%x: memref<2x4x3x40xf32>, %w: memref<40xf32>) -> memref<2x4x3xf32> {
  %s = memref.alloc() : memref<2x4x3xf32>
  linalg.generic {indexing_maps = [affine_map<(b, l, h, d) -> (b, l, h, d)>, affine_map<(b, l, h, d) -> (d)>,
                                   affine_map<(b, l, h, d) -> (b, l, h)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<2x4x3x40xf32>, memref<40xf32>) outs(%s : memref<2x4x3xf32>) {
  ^bb0(%in: f32, %wt: f32, %acc: f32):
    %p = arith.mulf %in, %wt : f32
    %next = arith.addf %p, %acc : f32
    linalg.yield %next : f32
  }
  return %s : memref<2x4x3xf32>
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
func.func @two_reductions(%x: memref<6x5x20xf32>) -> memref<5xf32> {
  %s = memref.alloc() : memref<5xf32>
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
  return %s : memref<5xf32>
}

// -----

// Consecutive independent sums (a layer's norms of k and of v, and a
// third): one kernel. Its blocks cover the largest count of output
// elements (2 x 4 rows; the sum over 4 rows is guarded), its threads the
// longest sum (1024 terms: 256 threads), each long sum its own shared
// partials, so no barrier between them; the sum of 16 terms, short of
// min-size, rides along over the same rows as the longest.
// CHECK-LABEL: func.func @siblings
// CHECK-COUNT-1: gpu.launch
// CHECK-SAME: in (%{{[a-z0-9_]+}} = %c8{{(_[0-9]+)?}},
// CHECK-SAME: = %c256,
// CHECK-SAME: workgroup(%[[PA:[a-z0-9_]+]] : memref<8xf32, #gpu.address_space<workgroup>>, %[[PB:[a-z0-9_]+]] : memref<8xf32, #gpu.address_space<workgroup>>, %[[PC:[a-z0-9_]+]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[MINE:.*]] = arith.cmpi ult, %{{.*}}, %c4{{(_[0-9]+)?}} :
// CHECK: scf.if %[[MINE]] {
// CHECK:   scf.for %{{.*}} = %{{.*}} to %c64{{.*}} step %c256
// CHECK:   memref.store %{{.*}}, %[[PA]]
// CHECK:   gpu.barrier
// CHECK-NOT: arith.cmpi ult, %{{.*}}, %c8
// CHECK: scf.for %{{.*}} = %{{.*}} to %c16{{.*}} step %c256
// CHECK: memref.store %{{.*}}, %[[PB]]
// CHECK: gpu.barrier
// CHECK-NOT: arith.cmpi ult, %{{.*}}, %c8
// CHECK: scf.for %{{.*}} = %{{.*}} to %c1024{{.*}} step %c256
// CHECK: memref.store %{{.*}}, %[[PC]]
// CHECK: gpu.barrier
// CHECK-NOT: gpu.launch
// CHECK-NOT: linalg.generic
// CHECK: return
// FEW-LABEL: func.func @siblings
// FEW-NOT: gpu.launch
// FEW: return
func.func @siblings(%q: memref<4x64xf32>, %k: memref<2x4x16xf32>, %v: memref<2x4x1024xf32>)
    -> (memref<4xf32>, memref<2x4xf32>, memref<2x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %sq = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%q : memref<4x64xf32>) outs(%sq : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %next = arith.addf %acc, %in : f32
    linalg.yield %next : f32
  }
  %sk = memref.alloc() : memref<2x4xf32>
  linalg.fill ins(%zero : f32) outs(%sk : memref<2x4xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, l, d) -> (b, l, d)>, affine_map<(b, l, d) -> (b, l)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%k : memref<2x4x16xf32>) outs(%sk : memref<2x4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq2 = arith.mulf %in, %in : f32
    %next = arith.addf %acc, %sq2 : f32
    linalg.yield %next : f32
  }
  %sv = memref.alloc() : memref<2x4xf32>
  linalg.fill ins(%zero : f32) outs(%sv : memref<2x4xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, l, d) -> (b, l, d)>, affine_map<(b, l, d) -> (b, l)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%v : memref<2x4x1024xf32>) outs(%sv : memref<2x4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq2 = arith.mulf %in, %in : f32
    %next = arith.addf %acc, %sq2 : f32
    linalg.yield %next : f32
  }
  return %sq, %sk, %sv : memref<4xf32>, memref<2x4xf32>, memref<2x4xf32>
}

// -----

// A short sum over more output elements than the long one beside it would
// give the kernel a block for each: it stays a loop (one thread per
// output), the long one alone is a kernel.
// CHECK-LABEL: func.func @short_beside_long
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}} : memref<1536x4xf32>)
// CHECK-COUNT-1: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @short_beside_long(%c: memref<1536x4xf32>, %x: memref<1x1024xf32>) -> (memref<1536xf32>, memref<1xf32>) {
  %sc = memref.alloc() : memref<1536xf32>
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%c : memref<1536x4xf32>) outs(%sc : memref<1536xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %next = arith.addf %acc, %in : f32
    linalg.yield %next : f32
  }
  %sx = memref.alloc() : memref<1xf32>
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<1x1024xf32>) outs(%sx : memref<1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %next = arith.addf %acc, %in : f32
    linalg.yield %next : f32
  }
  return %sc, %sx : memref<1536xf32>, memref<1xf32>
}

// -----

// A second sum that reads the first's output is no sibling: two kernels.
// CHECK-LABEL: func.func @chained
// CHECK-COUNT-2: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @chained(%x: memref<64x64xf32>) -> memref<f32> {
  %s = memref.alloc() : memref<64xf32>
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x64xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %next = arith.addf %acc, %in : f32
    linalg.yield %next : f32
  }
  %t = memref.alloc() : memref<f32>
  linalg.generic {indexing_maps = [affine_map<(r) -> (r)>, affine_map<(r) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%s : memref<64xf32>) outs(%t : memref<f32>) {
  ^bb0(%in: f32, %acc: f32):
    %next = arith.addf %acc, %in : f32
    linalg.yield %next : f32
  }
  return %t : memref<f32>
}

// -----

// A scalar input is used as it is (no load); the fill's value, 1.0, is
// where the sum starts.
// CHECK-LABEL: func.func @scalar_input
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<4x64xf32>, %[[A:[a-z0-9_]+]]: f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: gpu.launch
// CHECK:   %[[V:.*]] = memref.load %[[X]]
// CHECK:   arith.mulf %[[V]], %[[A]]
// CHECK:   arith.addf %[[ONE]], %{{.*}}
func.func @scalar_input(%x: memref<4x64xf32>, %a: f32) -> memref<4xf32> {
  %one = arith.constant 1.0 : f32
  %s = memref.alloc() : memref<4xf32>
  linalg.fill ins(%one : f32) outs(%s : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> ()>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x, %a : memref<4x64xf32>, f32) outs(%s : memref<4xf32>) {
  ^bb0(%in: f32, %scale: f32, %acc: f32):
    %t = arith.mulf %in, %scale : f32
    %next = arith.addf %acc, %t : f32
    linalg.yield %next : f32
  }
  return %s : memref<4xf32>
}

// -----

// Left alone: fewer terms than min-size (a convolution's 4 taps); a
// running maximum (no sum); a sum whose terms read the running sum; an f64
// sum; a reduction loop of dynamic size; an input that is the output seen
// through a view (the loops would read the running sum, the kernel what
// was there before); an input that may be the output (two arguments); a
// body op with a region.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: gpu.launch
// CHECK-COUNT-8: linalg.generic
// CHECK-NOT: gpu.launch
func.func @left_alone(%x: memref<8x4xf32>, %xd: memref<8x64xf64>, %xv: memref<8x?xf32>,
                      %u: memref<8x64xf32>, %sa: memref<8xf32>) -> (memref<8xf32>, memref<8xf64>) {
  %s = memref.alloc() : memref<8xf32>
  %sd = memref.alloc() : memref<8xf64>
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
  %own = memref.alloc() : memref<8x64xf32>
  %row = memref.subview %own[0, 0] [8, 1] [1, 1] : memref<8x64xf32> to memref<8xf32, strided<[64]>>
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%y, %own : memref<8x64xf32>, memref<8x64xf32>) outs(%row : memref<8xf32, strided<[64]>>) {
  ^bb0(%in: f32, %old: f32, %acc: f32):
    %p = arith.mulf %in, %old : f32
    %next = arith.addf %acc, %p : f32
    linalg.yield %next : f32
  }
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%u : memref<8x64xf32>) outs(%sa : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %next = arith.addf %acc, %in : f32
    linalg.yield %next : f32
  }
  linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>, affine_map<(r, i) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<8x64xf32>) outs(%s : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %i = linalg.index 1 : index
    %c0 = arith.constant 0 : index
    %first = arith.cmpi eq, %i, %c0 : index
    %t2 = scf.if %first -> (f32) {
      scf.yield %in : f32
    } else {
      %h = arith.mulf %in, %in : f32
      scf.yield %h : f32
    }
    %next = arith.addf %acc, %t2 : f32
    linalg.yield %next : f32
  }
  return %s, %sd : memref<8xf32>, memref<8xf64>
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

// -----


// A sum that only one kernel reads, at a row uniform over each of its
// blocks (a decode step's norm of k, read by the recurrent step's blocks of
// one batch entry; the sum reads a copy the function made, which the
// kernel's store to an argument cannot be): each block adds the 512 terms
// of its row at the top of its body — the threads striding by 256, a
// workgroup array for the eight warps' sums, one barrier — before anything
// reads the total, which replaces the kernel's loads (fill value + total).
// The op, its fill and its buffer are gone. (The sum would have 128
// threads of its own.)
// CHECK-LABEL: func.func @read_by_a_kernel
// CHECK: %[[X:.*]] = memref.alloc() : memref<4x512xf32>
// CHECK-NOT: memref.alloc
// CHECK-NOT: linalg
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %[[BY:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in
// CHECK-SAME: threads(%[[TX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in
// CHECK-SAME: workgroup(%[[STAGE:[a-z0-9_]+]] : memref<256xf32, #gpu.address_space<workgroup>>, %[[PARTS:[a-z0-9_]+]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[ROW:.*]] = arith.remui %[[BY]], %c4
// CHECK: %[[LANE:.*]] = arith.remui %[[TX]], %c32
// CHECK: %[[WARP:.*]] = arith.divui %[[TX]], %c32
// CHECK: %[[PART:.*]] = scf.for %[[R:.*]] = %[[TX]] to %c512{{(_[0-9]+)?}} step %c256{{(_[0-9]+)?}} iter_args
// CHECK:   memref.load %[[X]][%[[ROW]], %[[R]]]
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.store %{{.*}}, %[[PARTS]][%[[WARP]]]
// CHECK: gpu.barrier
// CHECK: %[[TOTAL:.*]] = scf.for %{{.*}} = %c0{{(_[0-9]+)?}} to %c8{{(_[0-9]+)?}} step %c1{{(_[0-9]+)?}} iter_args
// CHECK: %[[S:.*]] = arith.addf %{{.*}}, %[[TOTAL]]
// CHECK: scf.for
// CHECK:   arith.mulf %{{.*}}, %[[S]]
// CHECK: gpu.barrier
// CHECK: gpu.terminator
// NOFOLD-LABEL: func.func @read_by_a_kernel
// NOFOLD: memref.alloc() : memref<4xf32>
// NOFOLD: gpu.launch
// NOFOLD: gpu.launch
// NOFOLD-NOT: workgroup(%{{.*}} : memref<8xf32
// NOFOLD: memref.load %alloc
func.func @read_by_a_kernel(%x: memref<4x512xf32>, %y: memref<4x8x256xf32>) {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c256 = arith.constant 256 : index
  %k = memref.alloc() : memref<4x512xf32>
  memref.copy %x, %k : memref<4x512xf32> to memref<4x512xf32>
  %s = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%k : memref<4x512xf32>) outs(%s : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c16, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1)
             workgroup(%stage : memref<256xf32, #gpu.address_space<workgroup>>) {
    %row = arith.remui %by, %c4 : index
    scf.for %i = %tx to %c256 step %c256 {
      %v = memref.load %k[%row, %i] : memref<4x512xf32>
      %n = memref.load %s[%row] : memref<4xf32>
      %w = arith.mulf %v, %n : f32
      memref.store %w, %stage[%i] : memref<256xf32, #gpu.address_space<workgroup>>
    }
    gpu.barrier
    %t = memref.load %stage[%tx] : memref<256xf32, #gpu.address_space<workgroup>>
    memref.store %t, %y[%row, %bx, %tx] : memref<4x8x256xf32>
    gpu.terminator
  }
  return
}

// -----

// Left to a kernel of its own (128 threads, four warps): a sum a kernel
// reads at a thread's own row (not uniform over the block), one that two
// kernels read, one with a store to what it reads before its kernel, one
// whose kernel writes what it reads.
// CHECK-LABEL: func.func @readers_left_alone
// CHECK: %[[S1:.*]] = memref.alloc() : memref<4xf32>
// CHECK: gpu.launch {{.*}} workgroup(%{{.*}} : memref<4xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.store %{{.*}}, %[[S1]]
// CHECK: gpu.launch
// CHECK: memref.load %[[S1]]
// CHECK: %[[S2:.*]] = memref.alloc() : memref<4xf32>
// CHECK: gpu.launch {{.*}} workgroup(%{{.*}} : memref<4xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.load %[[S2]]
// CHECK: memref.load %[[S2]]
// CHECK: %[[S3:.*]] = memref.alloc() : memref<4xf32>
// CHECK: gpu.launch {{.*}} workgroup(%{{.*}} : memref<4xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.store
// CHECK: memref.load %[[S3]]
// CHECK: %[[S4:.*]] = memref.alloc() : memref<4xf32>
// CHECK: gpu.launch {{.*}} workgroup(%{{.*}} : memref<4xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.load %[[S4]]
func.func @readers_left_alone(%x: memref<4x512xf32>, %y: memref<4xf32>, %a: f32) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %s1 = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%s1 : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x512xf32>) outs(%s1 : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %r = arith.remui %tx, %c4 : index
    %n = memref.load %s1[%r] : memref<4xf32>
    memref.store %n, %y[%r] : memref<4xf32>
    gpu.terminator
  }
  %s2 = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%s2 : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x512xf32>) outs(%s2 : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %n = memref.load %s2[%bx] : memref<4xf32>
    memref.store %n, %y[%bx] : memref<4xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %n = memref.load %s2[%bx] : memref<4xf32>
    memref.store %n, %y[%bx] : memref<4xf32>
    gpu.terminator
  }
  %s3 = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%s3 : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x512xf32>) outs(%s3 : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  memref.store %a, %x[%c0, %c0] : memref<4x512xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %n = memref.load %s3[%bx] : memref<4xf32>
    memref.store %n, %y[%bx] : memref<4xf32>
    gpu.terminator
  }
  %s4 = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%s4 : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x512xf32>) outs(%s4 : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %n = memref.load %s4[%bx] : memref<4xf32>
    memref.store %n, %x[%bx, %tx] : memref<4x512xf32>
    gpu.terminator
  }
  return
}

// -----

// Also left to their own kernel: a row from `gpu.thread_id` (an op, not an
// argument of the body, and no arithmetic), a sum read through a view of
// a buffer the kernel writes, a load under an scf.if (which may be what
// keeps its row in range: hoisted, the sum would read rows 4 to 7).
// CHECK-LABEL: func.func @more_readers_left_alone(
// CHECK-COUNT-2: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @more_readers_left_alone(%x: memref<4x512xf32>, %y: memref<4x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %s = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x512xf32>) outs(%s : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %t = gpu.thread_id x
    %r = arith.remui %t, %c4 : index
    %n = memref.load %s[%r] : memref<4xf32>
    memref.store %n, %y[%r, %tx] : memref<4x32xf32>
    gpu.terminator
  }
  return
}

// CHECK-LABEL: func.func @more_readers_left_alone_view
// CHECK-COUNT-2: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @more_readers_left_alone_view(%x: memref<4x512xf32>, %y: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %v = memref.subview %x[0, 0] [4, 512] [1, 1] : memref<4x512xf32> to memref<4x512xf32, strided<[512, 1]>>
  %s = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%v : memref<4x512xf32, strided<[512, 1]>>) outs(%s : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %n = memref.load %s[%bx] : memref<4xf32>
    %nb = arith.addi %bx, %c1 : index
    %r = arith.remui %nb, %c4 : index
    memref.store %n, %x[%r, %tx] : memref<4x512xf32>
    gpu.terminator
  }
  return
}

// CHECK-LABEL: func.func @more_readers_left_alone_guarded
// CHECK-COUNT-2: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @more_readers_left_alone_guarded(%x: memref<4x512xf32>, %y: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %s = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x512xf32>) outs(%s : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %in = arith.cmpi ult, %bx, %c4 : index
    scf.if %in {
      %n = memref.load %s[%bx] : memref<4xf32>
      memref.store %n, %y[%bx] : memref<4xf32>
    }
    gpu.terminator
  }
  return
}

// -----

// A norm: its sum of squares, then the scaling that reads the total at
// each of the row's elements. The sum's blocks compute the scaling too,
// each thread the row's elements it added (strided by the block), from the
// fill's value plus the total, which thread 0 also stores: one kernel. The
// scaling's output is allocated before it, after the sum; the kernel goes
// where the scaling was.
// CHECK-LABEL: func.func @norm
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: memref<3x200xf32>, %[[G:[a-z0-9_]+]]: memref<200xf32>)
// CHECK: %[[Y:.*]] = memref.alloc() : memref<3x200xf32>
// CHECK: gpu.launch blocks(%[[P:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c3
// CHECK-SAME: threads(%[[T:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c64,
// CHECK: %[[TOTAL:.*]] = scf.for %{{.*}} = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args
// CHECK: %[[S:.*]] = arith.addf %cst, %[[TOTAL]]
// CHECK: scf.if
// CHECK:   memref.store %[[S]]
// CHECK: scf.for %[[R:.*]] = %[[T]] to %c200{{.*}} step %c64{{.*}} {
// CHECK:   %[[V:.*]] = memref.load %[[X]][%{{.*}}, %[[R]]]
// CHECK:   %[[GV:.*]] = memref.load %[[G]][%[[R]]]
// CHECK:   %[[MEAN:.*]] = arith.divf %[[S]], %{{.*}}
// CHECK:   %[[RS:.*]] = math.rsqrt %[[MEAN]]
// CHECK:   %[[N:.*]] = arith.mulf %[[V]], %[[RS]]
// CHECK:   %[[O:.*]] = arith.mulf %[[N]], %[[GV]]
// CHECK:   memref.store %[[O]], %[[Y]][%{{.*}}, %[[R]]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @norm(%x: memref<3x200xf32>, %g: memref<200xf32>) -> memref<3x200xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 200.0 : f32
  %s = memref.alloc() : memref<3xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<3xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<3x200xf32>) outs(%s : memref<3xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  %y = memref.alloc() : memref<3x200xf32>
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>,
                                   affine_map<(b, d) -> (d)>, affine_map<(b, d) -> (b, d)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %s, %g : memref<3x200xf32>, memref<3xf32>, memref<200xf32>) outs(%y : memref<3x200xf32>) {
  ^bb0(%v: f32, %ss: f32, %w: f32, %o: f32):
    %mean = arith.divf %ss, %n : f32
    %rs = math.rsqrt %mean : f32
    %nv = arith.mulf %v, %rs : f32
    %out = arith.mulf %nv, %w : f32
    linalg.yield %out : f32
  }
  return %y : memref<3x200xf32>
}

// Left as their own ops: a scaling after a sum without a fill (only
// thread 0 reads what the output held), one with a store between, one
// over the rows transposed (the sum's domain loop by loop, it is not), one
// reading the total again through a view and one reading an argument that
// may be the sum's (both would load the output before thread 0 stores the
// total).
// CHECK-LABEL: func.func @no_fill_consumer_left_alone
// CHECK: gpu.launch
// CHECK: linalg.generic
// CHECK-LABEL: func.func @store_between_consumer_left_alone
// CHECK: gpu.launch
// CHECK: memref.store
// CHECK: linalg.generic
// CHECK-LABEL: func.func @transposed_consumer_left_alone
// CHECK: gpu.launch
// CHECK: linalg.generic
// CHECK-LABEL: func.func @consumer_through_a_view_left_alone
// CHECK: gpu.launch
// CHECK: linalg.generic
// CHECK-LABEL: func.func @consumer_of_an_aliasing_argument_left_alone
// CHECK: gpu.launch
// CHECK: linalg.generic
func.func @no_fill_consumer_left_alone(%x: memref<3x200xf32>, %s0: memref<3xf32>) -> memref<3x200xf32> {
  %s = memref.alloc() : memref<3xf32>
  memref.copy %s0, %s : memref<3xf32> to memref<3xf32>
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<3x200xf32>) outs(%s : memref<3xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sum = arith.addf %acc, %in : f32
    linalg.yield %sum : f32
  }
  %y = memref.alloc() : memref<3x200xf32>
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>,
                                   affine_map<(b, d) -> (b, d)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : memref<3x200xf32>, memref<3xf32>) outs(%y : memref<3x200xf32>) {
  ^bb0(%v: f32, %ss: f32, %o: f32):
    %out = arith.mulf %v, %ss : f32
    linalg.yield %out : f32
  }
  return %y : memref<3x200xf32>
}

func.func @store_between_consumer_left_alone(%x: memref<3x200xf32>, %z: memref<3xf32>) -> memref<3x200xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %s = memref.alloc() : memref<3xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<3xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<3x200xf32>) outs(%s : memref<3xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sum = arith.addf %acc, %in : f32
    linalg.yield %sum : f32
  }
  memref.store %zero, %z[%c0] : memref<3xf32>
  %y = memref.alloc() : memref<3x200xf32>
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>,
                                   affine_map<(b, d) -> (b, d)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : memref<3x200xf32>, memref<3xf32>) outs(%y : memref<3x200xf32>) {
  ^bb0(%v: f32, %ss: f32, %o: f32):
    %out = arith.mulf %v, %ss : f32
    linalg.yield %out : f32
  }
  return %y : memref<3x200xf32>
}

func.func @transposed_consumer_left_alone(%x: memref<3x200xf32>) -> memref<200x3xf32> {
  %zero = arith.constant 0.0 : f32
  %s = memref.alloc() : memref<3xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<3xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, d) -> (b, d)>, affine_map<(b, d) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<3x200xf32>) outs(%s : memref<3xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sum = arith.addf %acc, %in : f32
    linalg.yield %sum : f32
  }
  %y = memref.alloc() : memref<200x3xf32>
  linalg.generic {indexing_maps = [affine_map<(d, b) -> (b, d)>, affine_map<(d, b) -> (b)>,
                                   affine_map<(d, b) -> (d, b)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : memref<3x200xf32>, memref<3xf32>) outs(%y : memref<200x3xf32>) {
  ^bb0(%v: f32, %ss: f32, %o: f32):
    %out = arith.mulf %v, %ss : f32
    linalg.yield %out : f32
  }
  return %y : memref<200x3xf32>
}

func.func @consumer_through_a_view_left_alone(%x: memref<64x256xf32>) -> memref<64x256xf32> {
  %zero = arith.constant 0.0 : f32
  %s = memref.alloc() : memref<64xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<64xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, i) -> (b, i)>, affine_map<(b, i) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x256xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %n = arith.addf %acc, %sq : f32
    linalg.yield %n : f32
  }
  %e = memref.expand_shape %s [[0, 1]] output_shape [64, 1] : memref<64xf32> into memref<64x1xf32>
  %y = memref.alloc() : memref<64x256xf32>
  linalg.generic {indexing_maps = [affine_map<(b, i) -> (b, i)>, affine_map<(b, i) -> (b)>,
                                   affine_map<(b, i) -> (b, 0)>, affine_map<(b, i) -> (b, i)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %s, %e : memref<64x256xf32>, memref<64xf32>, memref<64x1xf32>) outs(%y : memref<64x256xf32>) {
  ^bb0(%in: f32, %t: f32, %t2: f32, %o: f32):
    %m = arith.mulf %in, %t : f32
    %r = arith.mulf %m, %t2 : f32
    linalg.yield %r : f32
  }
  return %y : memref<64x256xf32>
}

func.func @consumer_of_an_aliasing_argument_left_alone(%in0: memref<64x64xf32>, %s: memref<64xf32>,
                                                       %t: memref<64xf32>) -> memref<64x64xf32> {
  %zero = arith.constant 0.0 : f32
  %x = memref.alloc() : memref<64x64xf32>
  memref.copy %in0, %x : memref<64x64xf32> to memref<64x64xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<64xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, i) -> (b, i)>, affine_map<(b, i) -> (b)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x64xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %n = arith.addf %acc, %sq : f32
    linalg.yield %n : f32
  }
  %y = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [affine_map<(b, i) -> (b, i)>, affine_map<(b, i) -> (b)>,
                                   affine_map<(b, i) -> (i)>, affine_map<(b, i) -> (b, i)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %s, %t : memref<64x64xf32>, memref<64xf32>, memref<64xf32>) outs(%y : memref<64x64xf32>) {
  ^bb0(%in: f32, %tot: f32, %other: f32, %o: f32):
    %m = arith.mulf %in, %tot : f32
    %r = arith.mulf %m, %other : f32
    linalg.yield %r : f32
  }
  return %y : memref<64x64xf32>
}
