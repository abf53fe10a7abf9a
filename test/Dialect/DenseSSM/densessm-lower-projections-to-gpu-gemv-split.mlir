// RUN: densessm-opt %s --densessm-lower-projections-to-gpu-gemv=wide-loads=false --canonicalize --split-input-file | FileCheck %s
// RUN: densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=wide-loads=false target-blocks=4" --canonicalize --split-input-file | FileCheck %s --check-prefix=FOUR
// RUN: densessm-opt %s "--densessm-lower-projections-to-gpu-gemv=wide-loads=false target-blocks=1" --canonicalize --split-input-file | FileCheck %s --check-prefix=OFF
// RUN: densessm-opt %s --densessm-lower-projections-to-gpu-gemv --canonicalize --split-input-file | FileCheck %s --check-prefix=WIDE

// The GEMV kernel of a projection with few outputs: each output's inputs
// split over several warps of a block (target-blocks, 128 by default).

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// 10 outputs of 300 inputs (10 tiles of 32): a warp per output would be 2
// blocks, so each output takes all 8 warps of a block, 10 blocks. Warp w
// computes part w mod 8 of the block's output w / 8 (here the block's
// index), its lanes starting at their input of the part's first tile and
// striding over 8 tiles (256 inputs). Lane 0 publishes the warp's sum to
// shared memory; after a barrier that every thread reaches, lane 0 of the
// output's first warp adds the 8 parts in order and updates y.
// CHECK-LABEL: func.func @narrow(
// CHECK-SAME:    %[[X:[^:]*]]: memref<1x1x300xf32>, %[[W:[^:]*]]: memref<10x300xbf16>, %[[Y:[^:]*]]: memref<1x1x10xf32>)
// CHECK:         gpu.launch blocks(%[[BX:[^,]*]], {{.*}}) in ({{.*}} = %c10, {{.*}} = %c1{{.*}}) threads(%[[TX:[^,]*]], {{.*}}) in ({{.*}} = %c256, {{.*}}) workgroup(%[[PARTS:[^ ]*]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[LANE:.*]] = arith.remui %[[TX]], %c32
// CHECK:           %[[WARP:.*]] = arith.divui %[[TX]], %c32
// CHECK:           %[[PART:.*]] = arith.remui %[[WARP]], %c8
// CHECK:           %[[SLOT:.*]] = arith.divui %[[WARP]], %c8
// CHECK:           %[[O:.*]] = arith.addi %[[BX]], %[[SLOT]]
// CHECK:           %[[IN:.*]] = arith.cmpi ult, %[[O]], %c10
// CHECK:           scf.if %[[IN]] {
// CHECK:             %[[TILE:.*]] = arith.muli %[[PART]], %c32
// CHECK:             %[[FIRST:.*]] = arith.addi %[[TILE]], %[[LANE]]
// CHECK:             scf.for %{{.*}} = %[[FIRST]] to %{{.*}} step %c1024
// CHECK:             %[[TAIL:.*]] = scf.for %{{.*}} = %{{.*}} to %c300 step %c256
// CHECK:               memref.load %[[W]][%[[O]], %{{.*}}] : memref<10x300xbf16>
// CHECK:             gpu.shuffle  xor %[[TAIL]], %c16_i32
// CHECK:             %[[LAST:.*]], %{{.*}} = gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK:             %[[SUM:.*]] = arith.addf %{{.*}}, %[[LAST]]
// CHECK:             %[[LANE0:.*]] = arith.cmpi eq, %[[LANE]], %c0
// CHECK:             scf.if %[[LANE0]] {
// CHECK:               memref.store %[[SUM]], %[[PARTS]][%[[WARP]]]
// CHECK:           gpu.barrier
// CHECK:           %[[FIRST_PART:.*]] = arith.cmpi eq, %[[PART]], %c0
// CHECK:           %[[OWNS:.*]] = arith.andi %[[IN]], %[[FIRST_PART]]
// CHECK:           %[[LANE0_AGAIN:.*]] = arith.cmpi eq, %[[LANE]], %c0
// CHECK:           %[[ADDS:.*]] = arith.andi %[[OWNS]], %[[LANE0_AGAIN]]
// CHECK:           scf.if %[[ADDS]] {
// CHECK:             %[[P0:.*]] = memref.load %[[PARTS]][%[[WARP]]]
// CHECK:             %[[W1:.*]] = arith.addi %[[WARP]], %c1
// CHECK:             %[[P1:.*]] = memref.load %[[PARTS]][%[[W1]]]
// CHECK:             %[[S1:.*]] = arith.addf %[[P0]], %[[P1]]
// CHECK-COUNT-6:     memref.load %[[PARTS]]
// CHECK:             %[[OLD:.*]] = memref.load %[[Y]]
// CHECK:             memref.store %{{.*}}, %[[Y]]
// CHECK-NOT:     linalg.contract
// With target-blocks=4: 4 warps per output (5 blocks: two outputs each).
// FOUR-LABEL: func.func @narrow(
// FOUR:         gpu.launch blocks({{.*}}) in ({{.*}} = %c5, {{.*}} workgroup({{.*}} : memref<8xf32, #gpu.address_space<workgroup>>)
// FOUR:           arith.remui %{{.*}}, %c4
// FOUR:           gpu.barrier
// FOUR-COUNT-4:   memref.load {{.*}} : memref<8xf32, #gpu.address_space<workgroup>>
// FOUR-NOT:       memref.load {{.*}} : memref<8xf32, #gpu.address_space<workgroup>>
// FOUR:           memref.store
// Never split: a warp per output, no shared memory, no barrier.
// OFF-LABEL: func.func @narrow(
// OFF:         gpu.launch blocks({{.*}}) in ({{.*}} = %c2, {{.*}}) threads({{.*}}) in ({{.*}} = %c256, {{.*}}) {
// OFF-NOT:       gpu.barrier
// OFF:           gpu.terminator
func.func @narrow(%x: memref<1x1x300xf32>, %w: memref<10x300xbf16>, %y: memref<1x1x10xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x300xf32>, memref<10x300xbf16>) outs(%y : memref<1x1x10xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// 64 inputs are 2 tiles: at most 2 warps per output (every warp at least
// one tile), 3 blocks of 4 outputs.
// CHECK-LABEL: func.func @few_tiles(
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %c3, {{.*}} workgroup({{.*}} : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:           arith.remui %{{.*}}, %c2
// CHECK:           gpu.barrier
func.func @few_tiles(%x: memref<1x1x64xf32>, %w: memref<10x64xf32>, %y: memref<1x1x10xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x64xf32>, memref<10x64xf32>) outs(%y : memref<1x1x10xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// 8 rows (static): 4 blocks per row of a warp per output are 32 in all;
// 4 warps per output make them 16 per row, 128 in all: the target.
// CHECK-LABEL: func.func @rows(
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %c16, {{.*}} = %c8, {{.*}} workgroup({{.*}} : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:           arith.remui %{{.*}}, %c4
func.func @rows(%x: memref<8x1x256xf32>, %w: memref<32x256xf32>, %y: memref<8x1x32xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<8x1x256xf32>, memref<32x256xf32>) outs(%y : memref<8x1x32xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// Not split: 1024 outputs are 128 blocks already; a dynamic output count.
// CHECK-LABEL: func.func @many_outputs(
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %c128, {{.*}}) threads({{.*}}) in ({{.*}}) {
// CHECK-NOT:       gpu.barrier
// CHECK:           gpu.terminator
// CHECK-LABEL: func.func @dynamic_outputs(
// CHECK:         gpu.launch blocks({{.*}}) threads({{.*}}) in ({{.*}}) {
// CHECK-NOT:       gpu.barrier
// CHECK:           gpu.terminator
func.func @many_outputs(%x: memref<1x1x64xf32>, %w: memref<1024x64xf32>, %y: memref<1x1x1024xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x64xf32>, memref<1024x64xf32>) outs(%y : memref<1x1x1024xf32>)
  return
}
func.func @dynamic_outputs(%x: memref<1x1x300xf32>, %w: memref<?x300xf32>, %y: memref<1x1x?xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x300xf32>, memref<?x300xf32>) outs(%y : memref<1x1x?xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// Wide loads (8 bf16 weights per lane and load): 1024 inputs are 4 tiles
// of 256, so 4 warps per output, 6 blocks of 2 outputs. The block stages x
// (the first workgroup buffer), the parts go to the second; a lane starts
// at its run (lane·8) of its part's first tile and strides over 4 tiles.
// WIDE-LABEL: func.func @wide(
// WIDE:         gpu.launch blocks({{.*}}) in ({{.*}} = %c6, {{.*}} workgroup(%[[STAGED:[^ ]*]] : memref<1024xf32, #gpu.address_space<workgroup>>, %[[PARTS:[^ ]*]] : memref<8xf32, #gpu.address_space<workgroup>>)
// WIDE:           %[[LANE:.*]] = arith.remui %{{.*}}, %c32
// WIDE:           %[[WARP:.*]] = arith.divui %{{.*}}, %c32
// WIDE:           %[[PART:.*]] = arith.remui %[[WARP]], %c4
// WIDE:           gpu.barrier
// WIDE:           %[[LANE_OFFSET:.*]] = arith.muli %[[LANE]], %c8
// WIDE:           %[[TILE:.*]] = arith.muli %[[PART]], %c256
// WIDE:           %[[FIRST:.*]] = arith.addi %[[TILE]], %[[LANE_OFFSET]]
// WIDE:           scf.for %{{.*}} = %[[FIRST]] to %{{.*}} step %c4096
// WIDE:             vector.load {{.*}} : memref<12x1024xbf16>, vector<8xbf16>
// WIDE:           memref.store %{{.*}}, %[[PARTS]][%[[WARP]]]
// WIDE:           gpu.barrier
// WIDE-COUNT-4:   memref.load %[[PARTS]]
func.func @wide(%x: memref<1x1x1024xf32>, %w: memref<12x1024xbf16>, %y: memref<1x1x12xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x1024xf32>, memref<12x1024xbf16>) outs(%y : memref<1x1x12xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// Sibling projections of one x (10 and 6 outputs) in one kernel, split
// alike: 8 parts, 10 + 6 blocks, each member's barrier inside its range of
// blocks (uniform over a block: a block runs one member).
// CHECK-LABEL: func.func @siblings(
// CHECK:         gpu.launch blocks(%[[BX:[^,]*]], {{.*}}) in ({{.*}} = %c16, {{.*}} workgroup({{.*}} : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[FIRST:.*]] = arith.cmpi ult, %[[BX]], %c10
// CHECK:           scf.if %[[FIRST]] {
// CHECK:             gpu.barrier
// CHECK-COUNT-8:     memref.load {{.*}} : memref<8xf32, #gpu.address_space<workgroup>>
// CHECK:           %[[SECOND:.*]] = arith.cmpi uge, %[[BX]], %c10
// CHECK:           scf.if %{{.*}} {
// CHECK:             gpu.barrier
// CHECK-COUNT-8:     memref.load {{.*}} : memref<8xf32, #gpu.address_space<workgroup>>
func.func @siblings(%x: memref<1x1x300xf32>, %w0: memref<10x300xbf16>, %w1: memref<6x300xbf16>,
                    %y0: memref<1x1x10xf32>, %y1: memref<1x1x6xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w0 : memref<1x1x300xf32>, memref<10x300xbf16>) outs(%y0 : memref<1x1x10xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w1 : memref<1x1x300xf32>, memref<6x300xbf16>) outs(%y1 : memref<1x1x6xf32>)
  return
}
