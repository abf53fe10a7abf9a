// --densessm-cpu-pipeline: a selective scan all the way to the LLVM dialect,
// with its parallel loop on OpenMP and nothing of densessm left.
// RUN: densessm-opt %s --densessm-cpu-pipeline | FileCheck %s
// RUN: densessm-opt %s --densessm-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVM

// CHECK-NOT: densessm.
// CHECK: llvm.func @selective_scan
// CHECK: omp.parallel
// CHECK: omp.wsloop
// CHECK: llvm.intr.fma({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK: llvm.func @_mlir_ciface_selective_scan

// LLVM: define {{.*}} @selective_scan(
// LLVM: call void {{.*}}@__kmpc_fork_call
// LLVM: define void @_mlir_ciface_selective_scan(
func.func @selective_scan(%u: tensor<?x?x?xf32>, %delta: tensor<?x?x?xf32>,
    %A: tensor<?x16xf32>, %B: tensor<?x?x16xf32>, %C: tensor<?x?x16xf32>)
    -> (tensor<?x?x?xf32>, tensor<?x?x16xf32>)
    attributes {llvm.emit_c_interface, densessm.schedule = #densessm.schedule<parallel>} {
  %y, %s = densessm.selective_scan %u, %delta, %A, %B, %C {delta_softplus}
           : tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>
           -> tensor<?x?x?xf32>, tensor<?x?x16xf32>
  return %y, %s : tensor<?x?x?xf32>, tensor<?x?x16xf32>
}
