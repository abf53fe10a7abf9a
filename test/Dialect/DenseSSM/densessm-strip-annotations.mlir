// --densessm-strip-annotations: the densessm function and argument
// attributes go; everything else stays.
// RUN: densessm-opt %s -densessm-strip-annotations | FileCheck %s

// CHECK-LABEL: func.func @step
// CHECK-SAME: (%{{.*}}: tensor<4xf32>, %{{.*}}: tensor<4xf32> {llvm.noalias})
// CHECK-NOT: densessm.
// CHECK-SAME: attributes {llvm.emit_c_interface}
func.func @step(%x: tensor<4xf32> {densessm.weight = "model.norm.weight"},
    %y: tensor<4xf32> {densessm.weight = "lm_head.weight", llvm.noalias})
    attributes {densessm.schedule = #densessm.schedule<recurrent>, llvm.emit_c_interface} {
  return
}
