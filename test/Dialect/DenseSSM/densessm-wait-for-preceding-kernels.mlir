// RUN: densessm-opt %s --densessm-wait-for-preceding-kernels --split-input-file --verify-diagnostics | FileCheck %s

// Programmatic dependent launch: the kernels of sm_90+ targets wait for
// the kernels before them, then let the next one launch. sm_80 lacks the
// instructions, so a module for both is split: the original keeps sm_80 as
// it is, a copy `__waits` takes sm_90, flagged, with the instructions in
// each kernel before its first memory access (not in other functions).
// The copy is recorded, with the original's chips in order.
// CHECK-LABEL: module attributes {densessm.split_kernel_modules = {kernels__waits = {chips = ["sm_80", "sm_90"], module = "kernels"}}, gpu.container_module}
// CHECK:         gpu.module @kernels [#nvvm.target<chip = "sm_80">] {
// CHECK-NEXT:      gpu.func @scan(
// CHECK-NOT:         nvvm.griddepcontrol
// CHECK:             gpu.return
// CHECK:         gpu.module @kernels__waits [#nvvm.target<chip = "sm_90", flags = {densessm.programmatic_launch}>] {
// CHECK-NEXT:      gpu.func @scan(
// CHECK-NEXT:        %{{.*}} = gpu.thread_id x
// CHECK-NEXT:        arith.constant
// CHECK-NEXT:        nvvm.griddepcontrol wait
// CHECK-NEXT:        nvvm.griddepcontrol launch_dependents
// CHECK-NEXT:        memref.store
// CHECK:           gpu.func @helper(
// CHECK-NOT:         nvvm.griddepcontrol
// CHECK:             gpu.return
module attributes {gpu.container_module} {
  gpu.module @kernels [#nvvm.target<chip = "sm_80">, #nvvm.target<chip = "sm_90">] {
    gpu.func @scan(%out: memref<32xf32>) kernel {
      %t = gpu.thread_id x
      %one = arith.constant 1.0 : f32
      memref.store %one, %out[%t] : memref<32xf32>
      gpu.return
    }
    gpu.func @helper() {
      gpu.return
    }
  }
}

// -----

// The wait goes before the first op that may touch memory: index
// arithmetic and prefetches of weights into L2 (which no kernel writes; as
// the NVVM op or inline PTX) come before it and overlap the kernel before;
// other inline assembly would not.
// CHECK-LABEL: module attributes
// CHECK:         gpu.func @gemv(
// CHECK-NEXT:      %[[T:.*]] = gpu.thread_id x
// CHECK-NEXT:      arith.index_castui %[[T]]
// CHECK-NEXT:      %[[P:.*]] = llvm.inttoptr
// CHECK-NEXT:      nvvm.prefetch level = L2, %[[P]]
// CHECK-NEXT:      llvm.inline_asm has_side_effects "prefetch.L2 [$0];", "l" %[[P]]
// CHECK-NEXT:      nvvm.griddepcontrol wait
// CHECK-NEXT:      nvvm.griddepcontrol launch_dependents
// CHECK-NEXT:      memref.load
// CHECK:         gpu.func @branches(
// CHECK-NEXT:      arith.constant
// CHECK-NEXT:      nvvm.griddepcontrol wait
// CHECK-NEXT:      nvvm.griddepcontrol launch_dependents
// CHECK-NEXT:      cf.br
// CHECK:         gpu.func @other_assembly(
// CHECK-NEXT:      nvvm.griddepcontrol wait
// CHECK-NEXT:      nvvm.griddepcontrol launch_dependents
// CHECK-NEXT:      llvm.inline_asm has_side_effects "membar.gl;"
module attributes {gpu.container_module} {
  gpu.module @kernels [#nvvm.target<chip = "sm_90">] {
    gpu.func @gemv(%w: memref<32xf32>, %out: memref<32xf32>) kernel {
      %t = gpu.thread_id x
      %i = arith.index_castui %t : index to i64
      %p = llvm.inttoptr %i : i64 to !llvm.ptr
      nvvm.prefetch level = L2, %p : !llvm.ptr
      llvm.inline_asm has_side_effects "prefetch.L2 [$0];", "l" %p : (!llvm.ptr) -> ()
      %v = memref.load %w[%t] : memref<32xf32>
      memref.store %v, %out[%t] : memref<32xf32>
      gpu.return
    }
    gpu.func @branches(%out: memref<32xf32>) kernel {
      %one = arith.constant 1.0 : f32
      cf.br ^next
    ^next:
      %c0 = arith.constant 0 : index
      memref.store %one, %out[%c0] : memref<32xf32>
      gpu.return
    }
    gpu.func @other_assembly() kernel {
      llvm.inline_asm has_side_effects "membar.gl;", "" : () -> ()
      gpu.return
    }
  }
}

// -----

// Only sm_90 and newer (sm_90a, sm_100): no copy (none recorded), every
// target flagged.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:         gpu.module @kernels [#nvvm.target<chip = "sm_90a", flags = {densessm.programmatic_launch}>, #nvvm.target<chip = "sm_100", flags = {densessm.programmatic_launch}>] {
// CHECK-NEXT:      gpu.func @step(
// CHECK-NEXT:        nvvm.griddepcontrol wait
// CHECK-NEXT:        nvvm.griddepcontrol launch_dependents
// CHECK-NEXT:        gpu.return
// CHECK-NOT:     gpu.module @kernels__waits
module attributes {gpu.container_module} {
  gpu.module @kernels [#nvvm.target<chip = "sm_90a">, #nvvm.target<chip = "sm_100">] {
    gpu.func @step() kernel {
      gpu.return
    }
  }
}

// -----

// Only older chips, or no targets yet: left as they are.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK-NOT:     nvvm.griddepcontrol
// CHECK-NOT:     __waits
module attributes {gpu.container_module} {
  gpu.module @old [#nvvm.target<chip = "sm_80">, #nvvm.target<chip = "sm_86">] {
    gpu.func @step() kernel {
      gpu.return
    }
  }
  gpu.module @untargeted {
    gpu.func @step() kernel {
      gpu.return
    }
  }
}

// -----

// The copy's name is taken.
module attributes {gpu.container_module} {
  // expected-error @below {{--densessm-wait-for-preceding-kernels: the name of the module's copy for sm_90+, 'kernels__waits', is taken}}
  gpu.module @kernels [#nvvm.target<chip = "sm_80">, #nvvm.target<chip = "sm_90">] {
    gpu.func @step() kernel {
      gpu.return
    }
  }
  gpu.module @kernels__waits {
  }
}
