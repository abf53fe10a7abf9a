// --densessm-fuse-sibling-kernels: a gpu.launch that shares no buffer one
// of them writes with the kernel before it (right before it, or ending the
// `then` block of the scf.if right before it) runs as one launch with it:
// the first's blocks, then the second's, along x.
// RUN: densessm-opt %s -densessm-fuse-sibling-kernels -split-input-file | FileCheck %s

// Two kernels with an allocation between: one launch of 2 + 1 blocks along
// x (the grid's y shared), the first body under blockIdx.x < 2 with its
// barrier and workgroup buffer, the second with its own block index
// (blockIdx.x - 2) and grid size (1), where the second was.
// CHECK-LABEL: func.func @adjacent
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: memref<64xf32>, %[[Y:[a-z0-9_]+]]: memref<8x32xf32>, %[[N:[a-z0-9_]+]]: index)
// CHECK: %[[A:.*]] = memref.alloc() : memref<64xf32>
// CHECK: %[[B:.*]] = memref.alloc() : memref<8x32xf32>
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c3, %{{[a-z0-9_]+}} = %[[N]], %{{[a-z0-9_]+}} = %c1)
// CHECK-SAME: threads(%[[TX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c32,
// CHECK-SAME: workgroup(%[[W:[a-z0-9_]+]] : memref<32xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[FIRST:.*]] = arith.cmpi ult, %[[BX]], %c2
// CHECK: scf.if %[[FIRST]] {
// CHECK:   memref.load %[[X]]
// CHECK:   memref.store %{{.*}}, %[[W]][%[[TX]]]
// CHECK:   gpu.barrier
// CHECK:   memref.store %{{.*}}, %[[A]]
// CHECK: } else {
// CHECK:   %[[BX2:.*]] = arith.subi %[[BX]], %c2
// CHECK:   memref.load %[[Y]][%c1, %[[TX]]]
// CHECK:   memref.store %{{.*}}, %[[B]][%[[BX2]], %[[TX]]]
// CHECK: }
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @adjacent(%x: memref<64xf32>, %y: memref<8x32xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %a = memref.alloc() : memref<64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %n, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%w : memref<32xf32, #gpu.address_space<workgroup>>) {
    %i = arith.muli %bx, %c32 : index
    %j = arith.addi %i, %tx : index
    %v = memref.load %x[%j] : memref<64xf32>
    memref.store %v, %w[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %u = memref.load %w[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
    memref.store %u, %a[%j] : memref<64xf32>
    gpu.terminator
  }
  %b = memref.alloc() : memref<8x32xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %n, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %v = memref.load %y[%gx, %tx] : memref<8x32xf32>
    memref.store %v, %b[%bx, %tx] : memref<8x32xf32>
    gpu.terminator
  }
  return
}

// -----

// The GEMV side of a projection's run-time choice (an scf.if with no else)
// followed by an independent kernel: the kernel's buffer moves above the
// scf.if, the kernel runs alone in a new else branch and fused with the
// GEMV kernel in the then branch (their workgroup buffers side by side).
// CHECK-LABEL: func.func @after_a_choice
// CHECK: %[[S:.*]] = memref.alloc() : memref<4xf32>
// CHECK: scf.if %{{.*}} {
// CHECK:   gpu.launch blocks(%[[BX:[a-z0-9_]+]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c12,
// CHECK-SAME: workgroup(%{{[a-z0-9_]+}} : memref<64xf32, #gpu.address_space<workgroup>>, %[[W2:[a-z0-9_]+]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:     scf.if
// CHECK:     } else {
// CHECK:       arith.subi %[[BX]], %c8
// CHECK:       memref.store %{{.*}}, %[[W2]]
// CHECK:       memref.store %{{.*}}, %[[S]]
// CHECK: } else {
// CHECK:   gpu.launch blocks(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %c4,
// CHECK:     memref.store %{{.*}}, %[[S]]
// CHECK: }
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @after_a_choice(%few: i1, %x: memref<256xf32>, %w: memref<256x256xf32>, %v: memref<4x32xf32>) -> memref<4xf32> {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %y = memref.alloc() : memref<256xf32>
  scf.if %few {
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
               workgroup(%stage : memref<64xf32, #gpu.address_space<workgroup>>) {
      %o = arith.muli %bx, %c32 : index
      %r = arith.addi %o, %tx : index
      %a = memref.load %x[%r] : memref<256xf32>
      %b = memref.load %w[%r, %tx] : memref<256x256xf32>
      %p = arith.mulf %a, %b : f32
      memref.store %p, %stage[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %p, %y[%r] : memref<256xf32>
      gpu.terminator
    }
  }
  %s = memref.alloc() : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%parts : memref<8xf32, #gpu.address_space<workgroup>>) {
    %a = memref.load %v[%bx, %tx] : memref<4x32xf32>
    memref.store %a, %parts[%c1] : memref<8xf32, #gpu.address_space<workgroup>>
    memref.store %a, %s[%bx] : memref<4xf32>
    gpu.terminator
  }
  return %s : memref<4xf32>
}

// -----

// Left apart: the second reads what the first wrote; other block sizes;
// another grid along y; a store between them; more than 48 KiB of
// workgroup buffers together.
// CHECK-LABEL: func.func @apart
// CHECK-COUNT-7: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @apart(%x: memref<32xf32>, %y: memref<32xf32>, %n: index, %f: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %a = memref.alloc() : memref<32xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%tx] : memref<32xf32>
    memref.store %v, %a[%tx] : memref<32xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%tx] : memref<32xf32>
    memref.store %v, %y[%tx] : memref<32xf32>
    gpu.terminator
  }
  %b = memref.alloc() : memref<32xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%c0] : memref<32xf32>
    memref.store %v, %b[%c0] : memref<32xf32>
    gpu.terminator
  }
  %c = memref.alloc() : memref<32xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %n, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%tx] : memref<32xf32>
    memref.store %v, %c[%tx] : memref<32xf32>
    gpu.terminator
  }
  %d = memref.alloc() : memref<32xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%tx] : memref<32xf32>
    memref.store %v, %d[%tx] : memref<32xf32>
    gpu.terminator
  }
  memref.store %f, %y[%c0] : memref<32xf32>
  %e = memref.alloc() : memref<32xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%w1 : memref<8192xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %x[%tx] : memref<32xf32>
    memref.store %v, %w1[%tx] : memref<8192xf32, #gpu.address_space<workgroup>>
    memref.store %v, %e[%tx] : memref<32xf32>
    gpu.terminator
  }
  %g = memref.alloc() : memref<32xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%w2 : memref<8192xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %x[%tx] : memref<32xf32>
    memref.store %v, %w2[%tx] : memref<8192xf32, #gpu.address_space<workgroup>>
    memref.store %v, %g[%tx] : memref<32xf32>
    gpu.terminator
  }
  return
}
