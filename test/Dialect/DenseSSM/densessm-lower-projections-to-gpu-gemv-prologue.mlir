// RUN: densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=target-blocks=1 wide-loads=false" --canonicalize --split-input-file | FileCheck %s
// RUN: densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=target-blocks=1 fuse-prologues=false wide-loads=false" --canonicalize --split-input-file | FileCheck %s --check-prefix=OFF

// The elementwise op that computes a projection's input x for the
// projections alone is folded into their GEMV kernels: each block computes
// its row x[b, l, :] into shared memory, its warps read x from there. A
// row statistic the op reads (a norm's sum of squares: a fill, then a
// reduction adding to it) is summed by the block itself. The ops go away
// (static rows) or run only on the cuBLAS side of the run-time choice.

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, i) -> (b, l, i)>
#row = affine_map<(b, l, i) -> (b, l)>
#gain = affine_map<(b, l, i) -> (i)>

// RMSNorm read by two projections, siblings in one kernel (the q blocks,
// then the k blocks), which computes the row once a block: the row (one
// group) is summed in 8 segments of 8 inputs, one per warp (warp w takes
// segments w, w + 8, ...), its lanes striding over the segment (the loop
// unrolled 4 times, then its remainder, as is the staging loop); the warp
// sums with shuffles, lane 0 stores the segment's part; then (after a
// barrier) every thread adds its group's 8 parts to the fill value, scales
// its inputs into the staged row, and (after a barrier) the dot reads the
// row from shared memory. No linalg op is left.
// CHECK-LABEL: func.func @rms_norm(
// CHECK-SAME:    %[[V:[^:]*]]: memref<2x1x64xf32>, %[[G:[^:]*]]: memref<64xf32>, %[[WQ:[^:]*]]: memref<32x64xbf16>, %[[WK:[^:]*]]: memref<16x64xbf16>)
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK-NOT:     linalg.
// CHECK:         gpu.launch blocks(%{{.*}}, %[[ROW:[^,]*]], %{{.*}}) in {{.*}} threads(%[[T:[^,]*]], {{.*}} workgroup(%[[STAGED:[^ ]*]] : memref<64xf32, #gpu.address_space<workgroup>>, %[[PARTS:[^ ]*]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[LANE:.*]] = arith.remui %[[T]], %c32
// CHECK:           %[[WARP:.*]] = arith.divui %[[T]], %c32
// CHECK:           scf.for %[[SEG:.*]] = %[[WARP]] to %c8 step %c8 {
// CHECK:             %[[START:.*]] = arith.muli %{{.*}}, %c8
// CHECK:             %[[FIRST:.*]] = arith.addi %{{.*}}, %[[START]]
// CHECK:             %[[MINE:.*]] = arith.addi %[[FIRST]], %[[LANE]]
// CHECK:             %[[PART4:.*]] = scf.for %[[I:.*]] = %[[MINE]] to %[[END4:.*]] step %c128 iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
// CHECK:               %[[VI:.*]] = memref.load %[[V]][%[[ROW]], %c0, %[[I]]]
// CHECK:               %[[SQ:.*]] = arith.mulf %[[VI]], %[[VI]]
// CHECK:               %[[NEXT:.*]] = arith.addf %[[ACC]], %[[SQ]]
// CHECK-COUNT-3:       memref.load %[[V]]
// CHECK:               scf.yield
// CHECK:             %[[PART:.*]] = scf.for %{{.*}} = %[[END4]] to %{{.*}} step %c32 iter_args(%{{.*}} = %[[PART4]]) -> (f32) {
// CHECK-COUNT-5:     gpu.shuffle  xor
// CHECK:             scf.if
// CHECK:               memref.store %{{.*}}, %[[PARTS]][%[[SEG]]]
// CHECK:           gpu.barrier
// CHECK:           scf.for %[[J:.*]] = %[[T]] to %{{.*}} step %c1024 {
// CHECK:             %[[VJ:.*]] = memref.load %[[V]][%[[ROW]], %c0, %[[J]]]
// CHECK:             %[[SUM:.*]] = scf.for %[[W:.*]] = %{{.*}} to %{{.*}} step %c1 iter_args(%[[S:.*]] = %[[ZERO]]) -> (f32) {
// CHECK:               %[[P:.*]] = memref.load %[[PARTS]][%[[W]]]
// CHECK:               arith.addf %[[S]], %[[P]]
// CHECK:             %[[GJ:.*]] = memref.load %[[G]][%[[J]]]
// CHECK:             arith.divf %[[SUM]]
// CHECK:             math.rsqrt
// CHECK:             %[[XJ:.*]] = arith.mulf %{{.*}}, %[[GJ]]
// CHECK:             memref.store %[[XJ]], %[[STAGED]][%[[J]]]
// CHECK:           gpu.barrier
// CHECK:           scf.if
// CHECK:             scf.for
// CHECK:               memref.load %[[WQ]]
// CHECK:               memref.load %[[STAGED]]
// CHECK:               math.fma
// CHECK-NOT:       gpu.barrier
// CHECK:               memref.load %[[WK]]
// CHECK:               memref.load %[[STAGED]]
// CHECK:           gpu.terminator
// CHECK-NOT:     gpu.launch
// CHECK-NOT:     linalg.
// CHECK:         return
// OFF-LABEL:   func.func @rms_norm(
// OFF:           linalg.fill
// OFF:           linalg.generic
// OFF:           linalg.generic
// OFF:           gpu.launch blocks
// OFF-NOT:         workgroup
// OFF:           return
func.func @rms_norm(%v: memref<2x1x64xf32>, %g: memref<64xf32>, %wq: memref<32x64xbf16>, %wk: memref<16x64xbf16>) -> (memref<2x1x32xf32>, memref<2x1x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-6 : f32
  %s = memref.alloc() : memref<2x1xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<2x1xf32>)
  linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%v : memref<2x1x64xf32>) outs(%s : memref<2x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  %x = memref.alloc() : memref<2x1x64xf32>
  linalg.generic {indexing_maps = [#id3, #row, #gain, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v, %s, %g : memref<2x1x64xf32>, memref<2x1xf32>, memref<64xf32>) outs(%x : memref<2x1x64xf32>) {
  ^bb0(%in: f32, %sum: f32, %gain: f32, %out: f32):
    %mean = arith.divf %sum, %n : f32
    %shifted = arith.addf %mean, %eps : f32
    %r = math.rsqrt %shifted : f32
    %scaled = arith.mulf %in, %r : f32
    %xg = arith.mulf %scaled, %gain : f32
    linalg.yield %xg : f32
  }
  %q = memref.alloc() : memref<2x1x32xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<2x1x32xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wq : memref<2x1x64xf32>, memref<32x64xbf16>) outs(%q : memref<2x1x32xf32>)
  %k = memref.alloc() : memref<2x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<2x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %wk : memref<2x1x64xf32>, memref<16x64xbf16>) outs(%k : memref<2x1x16xf32>)
  return %q, %k : memref<2x1x32xf32>, memref<2x1x16xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id4 = affine_map<(b, l, h, d) -> (b, l, h, d)>
#group = affine_map<(b, l, h, d) -> (b, l, h)>
#gain = affine_map<(b, l, h, d) -> (d)>

// A group norm (RetNet's, over each of 2 heads of 96), its output
// flattened for the output projection by a collapsing view: the row's 192
// inputs are y[b, l, h, d] with h = i / 96, d = i % 96. Each head is summed
// in 4 segments of 24 (8 warps for 2 groups), parts kept per segment;
// input i adds the 4 parts of its head, from segment (i / 96)·4.
// CHECK-LABEL: func.func @group_norm(
// CHECK-SAME:    %[[V:[^:]*]]: memref<1x1x2x96xf32>, %[[G:[^:]*]]: memref<96xf32>, %[[W:[^:]*]]: memref<16x192xf32>)
// CHECK-NOT:     linalg.
// CHECK-NOT:     memref.collapse_shape
// CHECK:         gpu.launch {{.*}} workgroup(%[[STAGED:[^ ]*]] : memref<192xf32, #gpu.address_space<workgroup>>, %[[PARTS:[^ ]*]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:           scf.for %[[SEG:.*]] = %{{.*}} to %c8 step %c8 {
// CHECK:             %[[HEAD:.*]] = arith.divui %[[SEG]], %c4
// CHECK:             %[[PIECE:.*]] = arith.remui %[[SEG]], %c4
// CHECK:             arith.muli %[[PIECE]], %c24
// CHECK:             arith.muli %[[HEAD]], %c96
// CHECK:             scf.for %[[I:.*]] = {{.*}} step %c32
// CHECK:               %[[D:.*]] = arith.remui %[[I]], %c96
// CHECK:               %[[H:.*]] = arith.divui %[[I]], %c96
// CHECK:               memref.load %[[V]][%c0, %c0, %[[H]], %[[D]]]
// CHECK:             memref.store %{{.*}}, %[[PARTS]][%[[SEG]]]
// CHECK:           gpu.barrier
// CHECK:           scf.for %[[J:.*]] = %{{.*}} to %c192 step %c256 {
// CHECK:             %[[DJ:.*]] = arith.remui %[[J]], %c96
// CHECK:             %[[HJ:.*]] = arith.divui %[[J]], %c96
// CHECK:             memref.load %[[V]][%c0, %c0, %[[HJ]], %[[DJ]]]
// CHECK:             %[[HEADJ:.*]] = arith.divui %[[J]], %c96
// CHECK:             %[[FIRST:.*]] = arith.muli %[[HEADJ]], %c4
// CHECK:             %[[LAST:.*]] = arith.addi %[[FIRST]], %c4
// CHECK:             scf.for %[[P:.*]] = %[[FIRST]] to %[[LAST]] step %c1
// CHECK:               memref.load %[[PARTS]][%[[P]]]
// CHECK:             memref.load %[[G]][%[[DJ]]]
// CHECK:             math.rsqrt
// CHECK:             memref.store %{{.*}}, %[[STAGED]][%[[J]]]
// CHECK:           gpu.barrier
// CHECK:               memref.load %[[W]]
// CHECK:               memref.load %[[STAGED]]
// CHECK-NOT:     linalg.
// CHECK:         return
func.func @group_norm(%v: memref<1x1x2x96xf32>, %g: memref<96xf32>, %w: memref<16x192xf32>) -> memref<1x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 96.0 : f32
  %eps = arith.constant 1.0e-6 : f32
  %s = memref.alloc() : memref<1x1x2xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<1x1x2xf32>)
  linalg.generic {indexing_maps = [#id4, #group], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%v : memref<1x1x2x96xf32>) outs(%s : memref<1x1x2xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  %normed = memref.alloc() : memref<1x1x2x96xf32>
  linalg.generic {indexing_maps = [#id4, #group, #gain, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%v, %s, %g : memref<1x1x2x96xf32>, memref<1x1x2xf32>, memref<96xf32>) outs(%normed : memref<1x1x2x96xf32>) {
  ^bb0(%in: f32, %sum: f32, %gain: f32, %out: f32):
    %mean = arith.divf %sum, %n : f32
    %shifted = arith.addf %mean, %eps : f32
    %r = math.rsqrt %shifted : f32
    %scaled = arith.mulf %in, %r : f32
    %xg = arith.mulf %scaled, %gain : f32
    linalg.yield %xg : f32
  }
  %x = memref.collapse_shape %normed [[0], [1], [2, 3]] : memref<1x1x2x96xf32> into memref<1x1x192xf32>
  %y = memref.alloc() : memref<1x1x16xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x16xf32>)
  linalg.contract indexing_maps = [#x, #w, #y] ins(%x, %w : memref<1x1x192xf32>, memref<16x192xf32>) outs(%y : memref<1x1x16xf32>)
  return %y : memref<1x1x16xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, i) -> (b, l, i)>

// A gate (x = v · z), dynamic rows: the op moves into the `else` of the
// rows' choice, where the projection's `else` reads x; the kernel stages
// v · z (no statistic: one workgroup buffer, one barrier).
// CHECK-LABEL: func.func @gate_dynamic(
// CHECK-SAME:    %[[V:[^:]*]]: memref<?x?x48xf32>, %[[Z:[^:]*]]: memref<?x?x48xf32>, %[[W:[^:]*]]: memref<24x48xf32>)
// CHECK:         %[[X:.*]] = memref.alloc(%{{.*}}) : memref<?x?x48xf32>
// CHECK:         %[[FITS:.*]] = arith.andi
// CHECK:         scf.if %[[FITS]] {
// CHECK-NEXT:    } else {
// CHECK-NEXT:      linalg.generic {{.*}} ins(%[[V]], %[[Z]] : {{.*}}) outs(%[[X]] : memref<?x?x48xf32>)
// CHECK:         scf.if
// CHECK:           gpu.launch {{.*}} workgroup(%[[STAGED:[^ ]*]] : memref<48xf32, #gpu.address_space<workgroup>>) {
// CHECK:             scf.for %[[I:.*]] = %{{.*}} to %c48 step %c256 {
// CHECK:               %[[VI:.*]] = memref.load %[[V]]
// CHECK:               %[[ZI:.*]] = memref.load %[[Z]]
// CHECK:               %[[P:.*]] = arith.mulf %[[VI]], %[[ZI]]
// CHECK:               memref.store %[[P]], %[[STAGED]][%[[I]]]
// CHECK:             gpu.barrier
// CHECK-NOT:         gpu.barrier
// CHECK:             memref.load %[[STAGED]]
// CHECK:           gpu.terminator
// CHECK:         } else {
// CHECK:           linalg.fill
// CHECK:           linalg.contract {{.*}} ins(%[[X]], %[[W]]
func.func @gate_dynamic(%v: memref<?x?x48xf32>, %z: memref<?x?x48xf32>, %w: memref<24x48xf32>) -> memref<?x?x24xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %b = memref.dim %v, %c0 : memref<?x?x48xf32>
  %l = memref.dim %v, %c1 : memref<?x?x48xf32>
  %x = memref.alloc(%b, %l) : memref<?x?x48xf32>
  linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v, %z : memref<?x?x48xf32>, memref<?x?x48xf32>) outs(%x : memref<?x?x48xf32>) {
  ^bb0(%in: f32, %gate: f32, %out: f32):
    %p = arith.mulf %in, %gate : f32
    linalg.yield %p : f32
  }
  %y = memref.alloc(%b, %l) : memref<?x?x24xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<?x?x24xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<?x?x48xf32>, memref<24x48xf32>) outs(%y : memref<?x?x24xf32>)
  return %y : memref<?x?x24xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, i) -> (b, l, i)>
#row = affine_map<(b, l, i) -> (b, l)>

// A statistic that is no sum (a running maximum) stays as it is; the op
// reading it still folds in, loading s[b, l] like any other input.
// CHECK-LABEL: func.func @max_statistic(
// CHECK-SAME:    %[[V:[^:]*]]: memref<1x1x32xf32>,
// CHECK:         %[[S:.*]] = memref.alloc() : memref<1x1xf32>
// CHECK:         linalg.fill {{.*}} outs(%[[S]]
// CHECK:         linalg.generic {{.*}} ins(%[[V]] {{.*}} outs(%[[S]]
// CHECK:         gpu.launch {{.*}} workgroup(%[[STAGED:[^ ]*]] : memref<32xf32, #gpu.address_space<workgroup>>) {
// CHECK:           scf.for
// CHECK:             memref.load %[[V]]
// CHECK:             memref.load %[[S]]
// CHECK:             arith.subf
// CHECK:             memref.store %{{.*}}, %[[STAGED]]
// CHECK-NOT:     linalg.
// CHECK:         return
func.func @max_statistic(%v: memref<1x1x32xf32>, %w: memref<8x32xf32>) -> memref<1x1x8xf32> {
  %zero = arith.constant 0.0 : f32
  %s = memref.alloc() : memref<1x1xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<1x1xf32>)
  linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%v : memref<1x1x32xf32>) outs(%s : memref<1x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %m = arith.maximumf %acc, %in : f32
    linalg.yield %m : f32
  }
  %x = memref.alloc() : memref<1x1x32xf32>
  linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v, %s : memref<1x1x32xf32>, memref<1x1xf32>) outs(%x : memref<1x1x32xf32>) {
  ^bb0(%in: f32, %max: f32, %out: f32):
    %d = arith.subf %in, %max : f32
    linalg.yield %d : f32
  }
  %y = memref.alloc() : memref<1x1x8xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x8xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x32xf32>, memref<8x32xf32>) outs(%y : memref<1x1x8xf32>)
  return %y : memref<1x1x8xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, i) -> (b, l, i)>

// Left alone: x is also returned (someone else reads it); the op's input
// is written between it and the projection; more inputs than a block
// stages; the op reads x itself; the op reads the statistic through two
// operands (the block computes it for one); an empty row (no inputs to
// stage or sum; canonicalization then erases the op on empty buffers).
// The op stays and the kernel loads x.
// CHECK-LABEL: func.func @x_returned(
// CHECK:         linalg.generic
// CHECK:         gpu.launch
// CHECK-NOT:       workgroup
// CHECK:           memref.load %{{.*}} : memref<1x1x32xf32>
// CHECK-LABEL: func.func @input_written_between(
// CHECK:         linalg.generic
// CHECK:         linalg.fill
// CHECK:         gpu.launch
// CHECK-NOT:       workgroup
// CHECK-LABEL: func.func @too_many_inputs(
// CHECK:         linalg.generic
// CHECK:         gpu.launch
// CHECK-NOT:       workgroup
// CHECK-LABEL: func.func @reads_x(
// CHECK:         linalg.generic
// CHECK:         gpu.launch
// CHECK-NOT:       workgroup
// CHECK-LABEL: func.func @statistic_read_twice(
// CHECK:         linalg.fill
// CHECK:         linalg.generic
// CHECK:         linalg.generic
// CHECK:         gpu.launch
// CHECK-NOT:       workgroup
// CHECK-LABEL: func.func @empty_row(
// CHECK:         gpu.launch
// CHECK-NOT:       workgroup
func.func @x_returned(%v: memref<1x1x32xf32>, %w: memref<8x32xf32>) -> (memref<1x1x8xf32>, memref<1x1x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %x = memref.alloc() : memref<1x1x32xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v : memref<1x1x32xf32>) outs(%x : memref<1x1x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.addf %in, %in : f32
    linalg.yield %d : f32
  }
  %y = memref.alloc() : memref<1x1x8xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x8xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x32xf32>, memref<8x32xf32>) outs(%y : memref<1x1x8xf32>)
  return %y, %x : memref<1x1x8xf32>, memref<1x1x32xf32>
}

func.func @input_written_between(%v: memref<1x1x32xf32>, %w: memref<8x32xf32>) -> memref<1x1x8xf32> {
  %zero = arith.constant 0.0 : f32
  %x = memref.alloc() : memref<1x1x32xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v : memref<1x1x32xf32>) outs(%x : memref<1x1x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.addf %in, %in : f32
    linalg.yield %d : f32
  }
  linalg.fill ins(%zero : f32) outs(%v : memref<1x1x32xf32>)
  %y = memref.alloc() : memref<1x1x8xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x8xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x32xf32>, memref<8x32xf32>) outs(%y : memref<1x1x8xf32>)
  return %y : memref<1x1x8xf32>
}

func.func @too_many_inputs(%v: memref<1x1x8200xf32>, %w: memref<8x8200xf32>) -> memref<1x1x8xf32> {
  %zero = arith.constant 0.0 : f32
  %x = memref.alloc() : memref<1x1x8200xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v : memref<1x1x8200xf32>) outs(%x : memref<1x1x8200xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.addf %in, %in : f32
    linalg.yield %d : f32
  }
  %y = memref.alloc() : memref<1x1x8xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x8xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x8200xf32>, memref<8x8200xf32>) outs(%y : memref<1x1x8xf32>)
  return %y : memref<1x1x8xf32>
}

func.func @reads_x(%v: memref<1x1x32xf32>, %w: memref<8x32xf32>) -> memref<1x1x8xf32> {
  %zero = arith.constant 0.0 : f32
  %x = memref.alloc() : memref<1x1x32xf32>
  linalg.fill ins(%zero : f32) outs(%x : memref<1x1x32xf32>)
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v : memref<1x1x32xf32>) outs(%x : memref<1x1x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.addf %in, %out : f32
    linalg.yield %d : f32
  }
  %y = memref.alloc() : memref<1x1x8xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x8xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x32xf32>, memref<8x32xf32>) outs(%y : memref<1x1x8xf32>)
  return %y : memref<1x1x8xf32>
}

#row = affine_map<(b, l, i) -> (b, l)>
#row0 = affine_map<(b, l, i) -> (b, 0)>
func.func @statistic_read_twice(%v: memref<2x1x64xf32>, %w: memref<32x64xf32>) -> memref<2x1x32xf32> {
  %zero = arith.constant 0.0 : f32
  %s = memref.alloc() : memref<2x1xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<2x1xf32>)
  linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%v : memref<2x1x64xf32>) outs(%s : memref<2x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  %x = memref.alloc() : memref<2x1x64xf32>
  linalg.generic {indexing_maps = [#id3, #row, #row0, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v, %s, %s : memref<2x1x64xf32>, memref<2x1xf32>, memref<2x1xf32>) outs(%x : memref<2x1x64xf32>) {
  ^bb0(%in: f32, %a: f32, %b: f32, %out: f32):
    %t = arith.mulf %in, %a : f32
    %u = arith.mulf %t, %b : f32
    linalg.yield %u : f32
  }
  %y = memref.alloc() : memref<2x1x32xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<2x1x32xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<2x1x64xf32>, memref<32x64xf32>) outs(%y : memref<2x1x32xf32>)
  return %y : memref<2x1x32xf32>
}

func.func @empty_row(%v: memref<1x1x0xf32>, %z: memref<1x1x0xf32>, %w: memref<8x0xf32>) -> memref<1x1x8xf32> {
  %zero = arith.constant 0.0 : f32
  %x = memref.alloc() : memref<1x1x0xf32>
  linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v, %z : memref<1x1x0xf32>, memref<1x1x0xf32>) outs(%x : memref<1x1x0xf32>) {
  ^bb0(%in: f32, %gate: f32, %out: f32):
    %p = arith.mulf %in, %gate : f32
    linalg.yield %p : f32
  }
  %y = memref.alloc() : memref<1x1x8xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x8xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x0xf32>, memref<8x0xf32>) outs(%y : memref<1x1x8xf32>)
  return %y : memref<1x1x8xf32>
}
