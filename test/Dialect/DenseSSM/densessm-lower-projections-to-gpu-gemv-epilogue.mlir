// RUN: densessm-opt %s --densessm-lower-projections-to-gpu-gemv=target-blocks=1 --split-input-file | FileCheck %s
// RUN: densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=target-blocks=1 fuse-epilogues=false" --split-input-file | FileCheck %s --check-prefix=OFF

// An elementwise op on the projection's output right after it is folded
// into the GEMV kernel: the lane that computed y[b, l, o] applies the op's
// body there, and the op (its own kernel) goes away. Only when nothing
// between touches the projection's buffers, the op reads y once at the
// point, and writes a fresh buffer at the point.

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, o) -> (b, l, o)>

// A gate: silu(y) · g. One kernel; lane 0 stores y, then loads g at the
// point, computes the body and stores the product.
// CHECK-LABEL: func.func @gate(
// CHECK-SAME:    %[[X:.*]]: memref<1x1x64xf32>, %[[W:.*]]: memref<32x64xbf16>, %[[G:.*]]: memref<1x1x32xf32>)
// CHECK:         %[[Y:.*]] = memref.alloc() : memref<1x1x32xf32>
// CHECK:         %[[OUT:.*]] = memref.alloc() : memref<1x1x32xf32>
// CHECK:         gpu.launch
// CHECK:           gpu.shuffle  xor
// CHECK:           scf.if
// CHECK:             memref.store %[[SUM:.*]], %[[Y]][%[[B:.*]], %[[L:.*]], %[[O:.*]]] : memref<1x1x32xf32>
// CHECK:             %[[GATE:.*]] = memref.load %[[G]][%[[B]], %[[L]], %[[O]]]
// CHECK:             %[[NEG:.*]] = arith.negf %[[SUM]]
// CHECK:             math.exp %[[NEG]]
// CHECK:             %[[SILU:.*]] = arith.divf %[[SUM]]
// CHECK:             %[[PROD:.*]] = arith.mulf %[[SILU]], %[[GATE]]
// CHECK:             memref.store %[[PROD]], %[[OUT]][%[[B]], %[[L]], %[[O]]]
// CHECK:           gpu.terminator
// CHECK-NOT:     linalg.
// CHECK:         return %[[OUT]]
// OFF-LABEL:   func.func @gate(
// OFF:           gpu.launch
// OFF:           linalg.generic
func.func @gate(%x: memref<1x1x64xf32>, %w: memref<32x64xbf16>, %g: memref<1x1x32xf32>) -> memref<1x1x32xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %y = memref.alloc() : memref<1x1x32xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x32xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x64xf32>, memref<32x64xbf16>) outs(%y : memref<1x1x32xf32>)
  %out = memref.alloc() : memref<1x1x32xf32>
  linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y, %g : memref<1x1x32xf32>, memref<1x1x32xf32>) outs(%out : memref<1x1x32xf32>) {
  ^bb0(%v: f32, %gate: f32, %o: f32):
    %n = arith.negf %v : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %v, %d : f32
    %p = arith.mulf %s, %gate : f32
    linalg.yield %p : f32
  }
  return %out : memref<1x1x32xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id4 = affine_map<(b, l, h, d) -> (b, l, h, d)>
#head = affine_map<(b, l, h, d) -> (h)>

// y split into 2 heads of 16, scaled per head, with the allocation, a view
// and a fill of another buffer between (the projection moves down past
// them). Lane 0 recovers (h, d) from o, the index op reads d.
// CHECK-LABEL: func.func @heads(
// CHECK-SAME:    %{{.*}}: memref<2x1x64xf32>, %{{.*}}: memref<32x64xf32>, %[[S:.*]]: memref<2xf32>)
// CHECK:         %[[OTHER:.*]] = memref.alloc() : memref<4xf32>
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%[[OTHER]] : memref<4xf32>)
// CHECK:         gpu.launch
// CHECK:             memref.store %[[SUM:[^,]*]], %{{.*}}[%[[B:.*]], %[[L:.*]], %[[O:.*]]] : memref<2x1x32xf32>
// CHECK:             %[[D:.*]] = arith.remui %[[O]], %c16
// CHECK:             %[[H:.*]] = arith.divui %[[O]], %c16
// CHECK:             %[[SCALE:.*]] = memref.load %[[S]][%[[H]]]
// CHECK:             %[[DF:.*]] = arith.index_cast %[[D]]
// CHECK:             memref.store %{{.*}}, %{{.*}}[%[[B]], %[[L]], %[[H]], %[[D]]] : memref<2x1x2x16xf32>
// CHECK:           gpu.terminator
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @heads(%x: memref<2x1x64xf32>, %w: memref<32x64xf32>, %s: memref<2xf32>) -> (memref<2x1x2x16xf32>, memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %y = memref.alloc() : memref<2x1x32xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<2x1x32xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<2x1x64xf32>, memref<32x64xf32>) outs(%y : memref<2x1x32xf32>)
  %other = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%other : memref<4xf32>)
  %heads = memref.expand_shape %y [[0], [1], [2, 3]] output_shape [2, 1, 2, 16] : memref<2x1x32xf32> into memref<2x1x2x16xf32>
  %out = memref.alloc() : memref<2x1x2x16xf32>
  linalg.generic {indexing_maps = [#id4, #head, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%heads, %s : memref<2x1x2x16xf32>, memref<2xf32>) outs(%out : memref<2x1x2x16xf32>) {
  ^bb0(%v: f32, %scale: f32, %o: f32):
    %d = linalg.index 3 : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %p = arith.mulf %v, %scale : f32
    %q = arith.addf %p, %df : f32
    linalg.yield %q : f32
  }
  return %out, %other : memref<2x1x2x16xf32>, memref<4xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id4 = affine_map<(b, l, h, d) -> (b, l, h, d)>

// silu(y) split into heads, reading y through two views (bufferization
// keeps one per use): both are the lane's sum.
// CHECK-LABEL: func.func @two_views(
// CHECK:         gpu.launch
// CHECK:             memref.store %[[SUM:[^,]*]], %{{.*}} : memref<1x1x16xf32>
// CHECK:             %[[NEG:.*]] = arith.negf %[[SUM]]
// CHECK:             arith.divf %[[SUM]],
// CHECK:           gpu.terminator
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @two_views(%x: memref<1x1x64xf32>, %w: memref<16x64xf32>) -> memref<1x1x2x8xf32> {
  %one = arith.constant 1.0 : f32
  %y = memref.alloc() : memref<1x1x16xf32>
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x64xf32>, memref<16x64xf32>) outs(%y : memref<1x1x16xf32>)
  %a = memref.expand_shape %y [[0], [1], [2, 3]] output_shape [1, 1, 2, 8] : memref<1x1x16xf32> into memref<1x1x2x8xf32>
  %b = memref.expand_shape %y [[0], [1], [2, 3]] output_shape [1, 1, 2, 8] : memref<1x1x16xf32> into memref<1x1x2x8xf32>
  %out = memref.alloc() : memref<1x1x2x8xf32>
  linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a, %b : memref<1x1x2x8xf32>, memref<1x1x2x8xf32>) outs(%out : memref<1x1x2x8xf32>) {
  ^bb0(%v: f32, %u: f32, %o: f32):
    %n = arith.negf %u : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %v, %d : f32
    linalg.yield %s : f32
  }
  return %out : memref<1x1x2x8xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, o) -> (b, l, o)>
#id4 = affine_map<(b, l, h, d) -> (b, l, h, d)>

// A chain: split into heads and negated, then scaled (the second op reads
// the first's output, which has another use). Both in the kernel; each
// output stored at the point.
// CHECK-LABEL: func.func @chain(
// CHECK:         %[[FIRST:.*]] = memref.alloc() : memref<1x1x2x8xf32>
// CHECK:         %[[SECOND:.*]] = memref.alloc() : memref<1x1x2x8xf32>
// CHECK:         gpu.launch
// CHECK:             %[[NEG:.*]] = arith.negf
// CHECK:             memref.store %[[NEG]], %[[FIRST]][%[[B:[a-z0-9_]+]], %[[L:[a-z0-9_]+]], %[[H:[a-z0-9_]+]], %[[D:[a-z0-9_]+]]]
// CHECK:             %[[SCALED:.*]] = arith.mulf %[[NEG]],
// CHECK:             memref.store %[[SCALED]], %[[SECOND]][%[[B]], %[[L]], %[[H]], %[[D]]]
// CHECK:           gpu.terminator
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[FIRST]], %[[SECOND]]
func.func @chain(%x: memref<1x1x64xf32>, %w: memref<16x64xf32>) -> (memref<1x1x2x8xf32>, memref<1x1x2x8xf32>) {
  %scale = arith.constant 0.25 : f32
  %y = memref.alloc() : memref<1x1x16xf32>
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x64xf32>, memref<16x64xf32>) outs(%y : memref<1x1x16xf32>)
  %heads = memref.expand_shape %y [[0], [1], [2, 3]] output_shape [1, 1, 2, 8] : memref<1x1x16xf32> into memref<1x1x2x8xf32>
  %first = memref.alloc() : memref<1x1x2x8xf32>
  linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%heads : memref<1x1x2x8xf32>) outs(%first : memref<1x1x2x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    linalg.yield %n : f32
  }
  %second = memref.alloc() : memref<1x1x2x8xf32>
  linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%first : memref<1x1x2x8xf32>) outs(%second : memref<1x1x2x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %scale : f32
    linalg.yield %m : f32
  }
  return %first, %second : memref<1x1x2x8xf32>, memref<1x1x2x8xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, o) -> (b, l, o)>

// A dynamic batch: the scf.if's GEMV side holds the folded op, the other
// side the fill, the projection and the op, in that order.
// CHECK-LABEL: func.func @dynamic(
// CHECK:         scf.if
// CHECK:           gpu.launch
// CHECK:             arith.mulf
// CHECK:         } else {
// CHECK-NEXT:      linalg.fill
// CHECK-NEXT:      linalg.contract
// CHECK-NEXT:      linalg.generic
// CHECK:         }
// CHECK-NOT:     linalg.generic
func.func @dynamic(%x: memref<?x1x64xf32>, %w: memref<32x64xf32>) -> memref<?x1x32xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %batch = memref.dim %x, %c0 : memref<?x1x64xf32>
  %y = memref.alloc(%batch) : memref<?x1x32xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<?x1x32xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<?x1x64xf32>, memref<32x64xf32>) outs(%y : memref<?x1x32xf32>)
  %out = memref.alloc(%batch) : memref<?x1x32xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y : memref<?x1x32xf32>) outs(%out : memref<?x1x32xf32>) {
  ^bb0(%v: f32, %o: f32):
    %p = arith.mulf %v, %v : f32
    linalg.yield %p : f32
  }
  return %out : memref<?x1x32xf32>
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id3 = affine_map<(b, l, o) -> (b, l, o)>
#first = affine_map<(b, l, o) -> (b, l, 0)>

// Left alone: an op that reads y off the point (another lane's output),
// one that writes a buffer it did not allocate, one after a write to x.
// CHECK-LABEL: func.func @not_at_the_point(
// CHECK:         gpu.launch
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @writes_an_argument(
// CHECK:         gpu.launch
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @x_written_between(
// CHECK:         gpu.launch
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : memref<1x1x64xf32>)
// CHECK:         linalg.generic
func.func @not_at_the_point(%x: memref<1x1x64xf32>, %w: memref<32x64xf32>) -> memref<1x1x32xf32> {
  %y = memref.alloc() : memref<1x1x32xf32>
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x64xf32>, memref<32x64xf32>) outs(%y : memref<1x1x32xf32>)
  %out = memref.alloc() : memref<1x1x32xf32>
  linalg.generic {indexing_maps = [#first, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y : memref<1x1x32xf32>) outs(%out : memref<1x1x32xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  return %out : memref<1x1x32xf32>
}
func.func @writes_an_argument(%x: memref<1x1x64xf32>, %w: memref<32x64xf32>, %out: memref<1x1x32xf32>) {
  %y = memref.alloc() : memref<1x1x32xf32>
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x64xf32>, memref<32x64xf32>) outs(%y : memref<1x1x32xf32>)
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y : memref<1x1x32xf32>) outs(%out : memref<1x1x32xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  return
}
func.func @x_written_between(%x: memref<1x1x64xf32>, %w: memref<32x64xf32>) -> memref<1x1x32xf32> {
  %zero = arith.constant 0.0 : f32
  %y = memref.alloc() : memref<1x1x32xf32>
  linalg.contract indexing_maps = [#x, #w, #y]
      ins(%x, %w : memref<1x1x64xf32>, memref<32x64xf32>) outs(%y : memref<1x1x32xf32>)
  linalg.fill ins(%zero : f32) outs(%x : memref<1x1x64xf32>)
  %out = memref.alloc() : memref<1x1x32xf32>
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y : memref<1x1x32xf32>) outs(%out : memref<1x1x32xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  return %out : memref<1x1x32xf32>
}
