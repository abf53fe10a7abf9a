// RUN: densessm-opt %s --densessm-merge-kernel-binaries --split-input-file --verify-diagnostics | FileCheck %s

// After serialisation: the copy's objects join the original's binary, by
// chip (oldest first: the host code embeds the first), and the copy goes.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:         gpu.binary @kernels  [#gpu.object<#nvvm.target<chip = "sm_80">, "sm_80 object">, #gpu.object<#nvvm.target<chip = "sm_90", flags = {densessm.programmatic_launch}>, "sm_90 object">]
// CHECK-NOT:     gpu.binary @kernels__waits
// CHECK:         gpu.binary @other  [#gpu.object<#nvvm.target<chip = "sm_80">, "other">]
module attributes {gpu.container_module} {
  gpu.binary @kernels__waits [#gpu.object<#nvvm.target<chip = "sm_90", flags = {densessm.programmatic_launch}>, "sm_90 object">]
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_80">, "sm_80 object">]
  gpu.binary @other [#gpu.object<#nvvm.target<chip = "sm_80">, "other">]
}

// -----

// A copy without its original is an error.
module attributes {gpu.container_module} {
  // expected-error @below {{--densessm-merge-kernel-binaries: no gpu.binary for the module 'lost__waits' was copied from}}
  gpu.binary @lost__waits [#gpu.object<#nvvm.target<chip = "sm_90">, "sm_90 object">]
}
