// --densessm-strip-annotations: the densessm function, argument and result
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

// CHECK-LABEL: func.func @model
// CHECK-SAME: (%{{.*}}: tensor<?x1xi64>, %{{.*}}: tensor<?xi64>, %{{.*}}: tensor<?x4xf32> {llvm.noalias})
// CHECK-SAME: -> (tensor<?x1x8xf32> {llvm.noalias}, tensor<?x4xf32>)
// CHECK-NOT: densessm.
// CHECK: return
func.func @model(%tokens: tensor<?x1xi64> {densessm.input = "tokens"},
    %position: tensor<?xi64> {densessm.input = "position"},
    %state: tensor<?x4xf32> {densessm.state = "layers.0.state", llvm.noalias})
    -> (tensor<?x1x8xf32> {densessm.output = "logits", llvm.noalias},
        tensor<?x4xf32> {densessm.state = "layers.0.state"}) {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %tokens, %c0 : tensor<?x1xi64>
  %logits = tensor.empty(%b) : tensor<?x1x8xf32>
  return %logits, %state : tensor<?x1x8xf32>, tensor<?x4xf32>
}
