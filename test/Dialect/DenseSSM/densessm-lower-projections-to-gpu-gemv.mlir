// RUN: densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=target-blocks=1 wide-loads=false" --split-input-file | FileCheck %s
// RUN: densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=target-blocks=1 max-rows=2 block-size=64 unroll=1 wide-loads=false" --split-input-file | FileCheck %s --check-prefix=OPTS
// RUN: not densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=block-size=48" --split-input-file 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=max-rows=0" --split-input-file 2>&1 | FileCheck %s --check-prefix=MAXROWS
// RUN: not densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=unroll=17" --split-input-file 2>&1 | FileCheck %s --check-prefix=UNROLL
// RUN: not densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=target-blocks=0" --split-input-file 2>&1 | FileCheck %s --check-prefix=TARGET

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// One token (a decode step) with bf16 weights: one launch, ceil(70 / 8)
// blocks of 256 threads (a warp per output), no projection left. The warp
// of an output beyond 70 skips as a whole; its lanes stride over the
// inputs by 32, reading the bf16 weight and widening it, four loads per
// iteration of the unrolled loop, then a tail loop; five shuffle-xor steps
// sum the lanes, and lane 0 adds the sum to y.
// CHECK-LABEL: func.func @decode(
// CHECK-SAME:    %[[X:.*]]: memref<1x1x100xf32>, %[[W:.*]]: memref<70x100xbf16>, %[[Y:.*]]: memref<1x1x70xf32>)
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %c9, {{.*}} = %c1{{.*}}, {{.*}}) threads({{.*}}) in ({{.*}} = %c256
// CHECK:           %[[LANE:.*]] = arith.remui %{{.*}}, %c32
// CHECK:           %[[WARP:.*]] = arith.divui %{{.*}}, %c32
// CHECK:           %[[O:.*]] = arith.addi %{{.*}}, %[[WARP]]
// CHECK:           %[[IN:.*]] = arith.cmpi ult, %[[O]], %{{.*}}
// CHECK:           scf.if %[[IN]] {
// CHECK:             %[[MAIN:.*]] = scf.for %[[I:.*]] = %[[LANE]] to %{{.*}} step %{{.*}} iter_args
// CHECK-COUNT-4:       memref.load %[[W]][%[[O]], %{{.*}}] : memref<70x100xbf16>
// CHECK:             %[[TAIL:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[MAIN]])
// CHECK:               arith.extf %{{.*}} : bf16 to f32
// CHECK:               math.fma
// CHECK:             gpu.shuffle  xor %[[TAIL]], %c16_i32, %c32_i32{{.*}} : f32
// CHECK:             gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32{{.*}} : f32
// CHECK:             gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32{{.*}} : f32
// CHECK:             gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32{{.*}} : f32
// CHECK:             %[[LAST:.*]], %{{.*}} = gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32{{.*}} : f32
// CHECK:             %[[SUM:.*]] = arith.addf %{{.*}}, %[[LAST]]
// CHECK:             %[[LANE0:.*]] = arith.cmpi eq, %[[LANE]], %c0{{.*}}
// CHECK:             scf.if %[[LANE0]] {
// CHECK:               %[[OLD:.*]] = memref.load %[[Y]]
// CHECK:               %[[NEW:.*]] = arith.addf %[[OLD]], %[[SUM]]
// CHECK:               memref.store %[[NEW]], %[[Y]]
// CHECK-NOT:     linalg.contract
// OPTS-LABEL: func.func @decode(
// OPTS:         gpu.launch blocks({{.*}}) in ({{.*}} = %c35, {{.*}} threads({{.*}}) in ({{.*}} = %c64
// OPTS:           scf.for
// OPTS-NOT:       scf.for
// OPTS:           gpu.shuffle  xor
func.func @decode(%x: memref<1x1x100xf32>, %w: memref<70x100xbf16>, %y: memref<1x1x70xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x100xf32>, memref<70x100xbf16>) outs(%y : memref<1x1x70xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// Three rows (batch 3): the grid's y axis, each block's row split into
// batch and token; with max-rows=2 they are too many and the projection is
// left for cuBLAS.
// CHECK-LABEL: func.func @batch(
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %c4, {{.*}} = %c3, {{.*}})
// CHECK:           arith.divui %{{.*}}, %c1
// CHECK-NOT:     linalg.contract
// OPTS-LABEL: func.func @batch(
// OPTS-NOT:     gpu.launch
// OPTS:         linalg.contract
func.func @batch(%x: memref<3x1x64xf32>, %w: memref<32x64xf32>, %y: memref<3x1x32xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<3x1x64xf32>, memref<32x64xf32>) outs(%y : memref<3x1x32xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// A prefill of 16 rows: left alone.
// CHECK-LABEL: func.func @prefill(
// CHECK-NOT:     gpu.launch
// CHECK:         linalg.contract
func.func @prefill(%x: memref<2x8x64xf32>, %w: memref<32x64xf16>, %y: memref<2x8x32xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<2x8x64xf32>, memref<32x64xf16>) outs(%y : memref<2x8x32xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// Dynamic rows: the kernel when 1 <= B·L <= 8 (and there is an output: CUDA
// rejects an empty grid), the projection otherwise.
// CHECK-LABEL: func.func @dynamic(
// CHECK:         %[[B:.*]] = memref.dim %{{.*}}, %c0
// CHECK:         %[[L:.*]] = memref.dim %{{.*}}, %c1
// CHECK:         %[[ROWS:.*]] = arith.muli %[[B]], %[[L]]
// CHECK:         %[[SOME:.*]] = arith.cmpi uge, %[[ROWS]], %c1
// CHECK:         %[[FEW:.*]] = arith.cmpi ule, %[[ROWS]], %c8
// CHECK:         scf.if %{{.*}} {
// CHECK:           gpu.launch blocks({{.*}}) in ({{.*}}, {{.*}} = %[[ROWS]]
// CHECK:             gpu.shuffle  xor
// CHECK:         } else {
// CHECK:           linalg.contract
// CHECK:         }
func.func @dynamic(%x: memref<?x?x64xf32>, %w: memref<?x64xbf16>, %y: memref<?x?x?xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<?x?x64xf32>, memref<?x64xbf16>) outs(%y : memref<?x?x?xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// A zero fill right before the projection (the model builder's y = 0,
// y += x wᵀ): the kernel writes y instead of adding to it, and the fill
// (a kernel of its own) goes; with a dynamic row count it moves to the side
// that keeps the projection.
// CHECK-LABEL: func.func @fresh(
// CHECK-SAME:    %[[Y:[^:]*]]: memref<1x1x32xf32>
// CHECK-NOT:     linalg.fill
// CHECK:         gpu.launch
// CHECK:           gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK:           %[[SUM:.*]] = arith.addf
// CHECK-NOT:       memref.load %[[Y]]
// CHECK:           memref.store %[[SUM]], %[[Y]]
// CHECK-LABEL: func.func @fresh_dynamic(
// CHECK:         scf.if
// CHECK-NOT:       linalg.fill
// CHECK:           gpu.launch
// CHECK:         } else {
// CHECK-NEXT:      linalg.fill
// CHECK-NEXT:      linalg.contract
func.func @fresh(%x: memref<1x1x64xf32>, %w: memref<32x64xbf16>, %y: memref<1x1x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<1x1x32xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x64xf32>, memref<32x64xbf16>) outs(%y : memref<1x1x32xf32>)
  return
}
func.func @fresh_dynamic(%x: memref<?x1x64xf32>, %w: memref<32x64xf32>, %y: memref<?x1x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<?x1x32xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<?x1x64xf32>, memref<32x64xf32>) outs(%y : memref<?x1x32xf32>)
  return
}

// BLOCK: error: --densessm-lower-projections-to-gpu-gemv: option 'block-size' must be a multiple of 32 in [32, 1024], found 48
// MAXROWS: error: --densessm-lower-projections-to-gpu-gemv: option 'max-rows' must be in [1, 65535], found 0
// UNROLL: error: --densessm-lower-projections-to-gpu-gemv: option 'unroll' must be in [1, 16], found 17
// TARGET: error: --densessm-lower-projections-to-gpu-gemv: option 'target-blocks' must be in [1, 65535], found 0
