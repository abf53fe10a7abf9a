// RUN: densessm-opt %s --densessm-merge-kernel-binaries --split-input-file --verify-diagnostics | FileCheck %s

// After serialisation: the objects of each recorded copy join the
// original's binary, in the order of the original's chips (the host code
// embeds the first: here sm_90, as the chips were given), the copy and the
// record go; a binary that merely has a copy's name is left alone.
// CHECK-LABEL: module attributes {gpu.container_module} {
// CHECK-NOT:     densessm.split_kernel_modules
// CHECK:         gpu.binary @kernels  [#gpu.object<#nvvm.target<chip = "sm_90", flags = {densessm.programmatic_launch}>, "sm_90 object">, #gpu.object<#nvvm.target<chip = "sm_80">, "sm_80 object">]
// CHECK-NOT:     gpu.binary @kernels__waits
// CHECK:         gpu.binary @other  [#gpu.object<#nvvm.target<chip = "sm_80">, "other">]
// CHECK:         gpu.binary @other__waits  [#gpu.object<#nvvm.target<chip = "sm_90">, "not a copy">]
module attributes {gpu.container_module, densessm.split_kernel_modules = {kernels__waits = {module = "kernels", chips = ["sm_90", "sm_80"]}}} {
  gpu.binary @kernels__waits [#gpu.object<#nvvm.target<chip = "sm_90", flags = {densessm.programmatic_launch}>, "sm_90 object">]
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_80">, "sm_80 object">]
  gpu.binary @other [#gpu.object<#nvvm.target<chip = "sm_80">, "other">]
  gpu.binary @other__waits [#gpu.object<#nvvm.target<chip = "sm_90">, "not a copy">]
}

// -----

// Nothing recorded: nothing merged.
// CHECK-LABEL: module attributes {gpu.container_module} {
// CHECK:         gpu.binary @k__waits
// CHECK:         gpu.binary @k
module attributes {gpu.container_module} {
  gpu.binary @k__waits [#gpu.object<#nvvm.target<chip = "sm_90">, "sm_90">]
  gpu.binary @k [#gpu.object<#nvvm.target<chip = "sm_80">, "sm_80">]
}

// -----

// A recorded copy whose original has no binary is an error.
// expected-error @below {{--densessm-merge-kernel-binaries: no gpu.binary @lost (run after gpu-module-to-binary)}}
module attributes {gpu.container_module, densessm.split_kernel_modules = {lost__waits = {module = "lost", chips = ["sm_80", "sm_90"]}}} {
  gpu.binary @lost__waits [#gpu.object<#nvvm.target<chip = "sm_90">, "sm_90 object">]
}

// -----

// Run before serialisation: the copy is still a gpu.module.
// expected-error @below {{--densessm-merge-kernel-binaries: no gpu.binary @k__waits (run after gpu-module-to-binary)}}
module attributes {gpu.container_module, densessm.split_kernel_modules = {k__waits = {module = "k", chips = ["sm_80", "sm_90"]}}} {
  gpu.module @k__waits [#nvvm.target<chip = "sm_90">] {
  }
  gpu.binary @k [#gpu.object<#nvvm.target<chip = "sm_80">, "sm_80">]
}
