// RUN: densessm-opt %s --densessm-lower-projections-to-gpu-gemv=target-blocks=1 --canonicalize --split-input-file | FileCheck %s
// RUN: densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=target-blocks=1 wide-loads=false" --split-input-file | FileCheck %s --check-prefix=OFF

// The GEMV kernel's wide loads: 16 bytes of a weight row per lane and load.

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// bf16 weights, rows of 512 (a multiple of 8): eight weights per load. The
// block first stages x in shared memory (input i of tile t at
// t·256 + (i mod 8)·32 + (i mod 256)/8), then, when w is 16-byte aligned,
// lane l loads w[o, l·8 + 256·k .. + 8) and reads its e-th input at
// (tile start) + l + e·32: the warp's 32 lanes read 32 consecutive words.
// Otherwise it takes the one-weight loop, reading x where it was staged.
// CHECK-LABEL: func.func @bf16(
// CHECK-SAME:    %[[X:[^:]*]]: memref<1x1x512xf32>, %[[W:[^:]*]]: memref<70x512xbf16>
// CHECK:         gpu.launch {{.*}} workgroup(%[[STAGED:[^ ]*]] : memref<512xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[LANE:.*]] = arith.remui %{{.*}}, %c32
// First the block's 8 weight rows (8 KiB, 64 lines of 128 bytes) into L2,
// a line per thread, past the rows' end their last byte again:
// CHECK:           %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK:           %[[LINE:.*]] = arith.muli %{{.*}}, %c128
// CHECK:           %[[OFFSET:.*]] = arith.minui %[[LINE]], %{{.*}}
// CHECK:           %[[BYTE:.*]] = arith.addi %{{.*}}, %[[OFFSET]]
// CHECK:           %[[I64:.*]] = arith.index_castui %[[BYTE]] : index to i64
// CHECK:           %[[POINTER:.*]] = llvm.inttoptr %[[I64]]
// CHECK:           llvm.inline_asm has_side_effects "prefetch.L2 [$0];", "l" %[[POINTER]]
// CHECK-NOT:       prefetch.L2
// CHECK:           scf.for %[[I:.*]] = %{{.*}} to %c512 step %c256 {
// CHECK:             %[[V:.*]] = memref.load %[[X]][%{{.*}}, %{{.*}}, %[[I]]]
// CHECK:             %[[IN_TILE:.*]] = arith.remui %[[I]], %c256
// CHECK:             %[[TILE:.*]] = arith.subi %[[I]], %[[IN_TILE]]
// CHECK:             %[[SLOT:.*]] = arith.divui %[[IN_TILE]], %c8
// CHECK:             %[[E:.*]] = arith.remui %[[IN_TILE]], %c8
// CHECK:             %[[E32:.*]] = arith.muli %[[E]], %c32
// CHECK:             %[[IN_SLOT:.*]] = arith.addi %[[E32]], %[[SLOT]]
// CHECK:             %[[POS:.*]] = arith.addi %[[TILE]], %[[IN_SLOT]]
// CHECK:             memref.store %[[V]], %[[STAGED]][%[[POS]]]
// CHECK:           gpu.barrier
// CHECK:           scf.if
// CHECK:             %[[PTR:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK:             %[[MIS:.*]] = arith.remui %[[PTR]], %c16
// CHECK:             %[[ALIGNED:.*]] = arith.cmpi eq, %[[MIS]], %c0
// CHECK:             %[[PART:.*]] = scf.if %[[ALIGNED]] -> (f32) {
// CHECK:               %[[FIRST:.*]] = arith.muli %[[LANE]], %c8
// CHECK:               scf.for %[[J:.*]] = %[[FIRST]] to
// CHECK:                 %[[WEIGHTS:.*]] = vector.load %[[W]][%{{.*}}, %[[J]]] {alignment = 16 : i64} : memref<70x512xbf16>, vector<8xbf16>
// CHECK:                 %[[START:.*]] = arith.subi %[[J]], %[[FIRST]]
// CHECK:                 %[[AT:.*]] = arith.addi %[[START]], %[[LANE]]
// CHECK:                 %[[W0:.*]] = vector.extract %[[WEIGHTS]][0]
// CHECK:                 %[[W0F:.*]] = arith.extf %[[W0]] : bf16 to f32
// CHECK:                 %[[X0:.*]] = memref.load %[[STAGED]][%[[AT]]]
// CHECK:                 math.fma %[[W0F]], %[[X0]]
// CHECK:                 vector.extract %[[WEIGHTS]][1]
// CHECK:                 %[[AT1:.*]] = arith.addi %[[AT]], %c32
// CHECK:                 memref.load %[[STAGED]][%[[AT1]]]
// CHECK:                 vector.extract %[[WEIGHTS]][7]
// CHECK:                 %[[AT7:.*]] = arith.addi %[[AT]], %c224
// CHECK:                 memref.load %[[STAGED]][%[[AT7]]]
// The loop is unrolled: four wide loads per iteration.
// CHECK-COUNT-3:         vector.load %[[W]]
// CHECK:             } else {
// CHECK:               scf.for %[[K:.*]] = %[[LANE]] to %{{.*}} step %c128
// CHECK:                 memref.load %[[W]][%{{.*}}, %[[K]]] : memref<70x512xbf16>
// CHECK:                 arith.remui %[[K]], %c256
// CHECK:                 memref.load %[[STAGED]]
// CHECK:             gpu.shuffle  xor %[[PART]], %c16_i32
// OFF-LABEL: func.func @bf16(
// OFF:         gpu.launch
// OFF-NOT:     workgroup
// OFF-NOT:     prefetch.L2
// OFF-NOT:     vector.load
// OFF:         memref.load %{{.*}} : memref<70x512xbf16>
func.func @bf16(%x: memref<1x1x512xf32>, %w: memref<70x512xbf16>, %y: memref<1x1x70xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x512xf32>, memref<70x512xbf16>) outs(%y : memref<1x1x70xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// f32 weights, rows of 100 (a multiple of 4): four weights per load, tiles
// of 128 inputs, so the staged row takes one whole tile (128 words).
// CHECK-LABEL: func.func @f32(
// CHECK:         gpu.launch {{.*}} workgroup(%{{.*}} : memref<128xf32, #gpu.address_space<workgroup>>)
// CHECK:           vector.load %{{.*}} {alignment = 16 : i64} : memref<70x100xf32>, vector<4xf32>
func.func @f32(%x: memref<1x1x100xf32>, %w: memref<70x100xf32>, %y: memref<1x1x70xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x100xf32>, memref<70x100xf32>) outs(%y : memref<1x1x70xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// One weight per load: bf16 rows of 100 (not a multiple of 16 bytes: a row
// would start unaligned), a strided weight (a view: no alignment known), a
// dynamic row length, and more inputs than shared memory stages.
// CHECK-LABEL: func.func @unaligned_rows(
// CHECK-NOT:     vector.load
// CHECK-LABEL: func.func @strided_weight(
// CHECK-NOT:     vector.load
// CHECK-LABEL: func.func @dynamic_inputs(
// CHECK-NOT:     vector.load
// CHECK-LABEL: func.func @too_many_inputs(
// CHECK-NOT:     vector.load
// CHECK:         return
func.func @unaligned_rows(%x: memref<1x1x100xf32>, %w: memref<70x100xbf16>, %y: memref<1x1x70xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x100xf32>, memref<70x100xbf16>) outs(%y : memref<1x1x70xf32>)
  return
}

func.func @strided_weight(%x: memref<1x1x64xf32>, %w: memref<70x64xf32, strided<[128, 1], offset: 64>>, %y: memref<1x1x70xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x64xf32>, memref<70x64xf32, strided<[128, 1], offset: 64>>) outs(%y : memref<1x1x70xf32>)
  return
}

func.func @dynamic_inputs(%x: memref<1x1x?xf32>, %w: memref<70x?xf32>, %y: memref<1x1x70xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x?xf32>, memref<70x?xf32>) outs(%y : memref<1x1x70xf32>)
  return
}

func.func @too_many_inputs(%x: memref<1x1x8200xf32>, %w: memref<70x8200xf32>, %y: memref<1x1x70xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x8200xf32>, memref<70x8200xf32>) outs(%y : memref<1x1x70xf32>)
  return
}
