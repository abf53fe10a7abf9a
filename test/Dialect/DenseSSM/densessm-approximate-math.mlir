// --densessm-approximate-math: f32 exp, expm1, log, log1p become polynomials
// (scalar and vector alike); other math stays.
// RUN: densessm-opt %s -densessm-approximate-math | FileCheck %s

// CHECK-LABEL: func.func @approximated
// CHECK-NOT: math.exp
// CHECK-NOT: math.log1p
// CHECK-NOT: math.log
// CHECK: math.fma {{.*}} : vector<16xf32>
// CHECK: return
func.func @approximated(%x: vector<16xf32>, %y: f32) -> (vector<16xf32>, f32, f32, f32) {
  %e = math.exp %x : vector<16xf32>
  %l = math.log1p %y : f32
  %m = math.expm1 %y : f32
  %n = math.log %y : f32
  return %e, %l, %m, %n : vector<16xf32>, f32, f32, f32
}

// CHECK-LABEL: func.func @left_alone
// CHECK: math.sin
// CHECK: math.cos
// CHECK: math.rsqrt
func.func @left_alone(%y: f32) -> (f32, f32, f32) {
  %s = math.sin %y : f32
  %c = math.cos %y : f32
  %r = math.rsqrt %y : f32
  return %s, %c, %r : f32, f32, f32
}
