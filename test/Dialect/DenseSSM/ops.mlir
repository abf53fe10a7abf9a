// Round trip of every densessm op in its custom form, and through the
// generic form back to the custom form.
// RUN: densessm-opt %s | densessm-opt | FileCheck %s
// RUN: densessm-opt %s --mlir-print-op-generic | densessm-opt | FileCheck %s
// RUN: densessm-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK-LABEL: func.func @selective_scan_full
// CHECK: densessm.selective_scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} D(%{{.*}}) z(%{{.*}}) delta_bias(%{{.*}}) initial_state(%{{.*}}) {delta_softplus} : tensor<2x8x32xf32>, tensor<2x8x32xf32>, tensor<32x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<32xf32>, tensor<2x8x32xf32>, tensor<32xf32>, tensor<2x32x16xf32> -> tensor<2x8x32xf32>, tensor<2x32x16xf32>
// GENERIC-LABEL: "func.func"() <{{{.*}}sym_name = "selective_scan_full"
// GENERIC: "densessm.selective_scan"(%{{.*}}) <{delta_softplus, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1, 1>}>
func.func @selective_scan_full(%u: tensor<2x8x32xf32>, %dt: tensor<2x8x32xf32>,
    %A: tensor<32x16xf32>, %B: tensor<2x8x16xf32>, %C: tensor<2x8x16xf32>,
    %D: tensor<32xf32>, %z: tensor<2x8x32xf32>, %bias: tensor<32xf32>,
    %s0: tensor<2x32x16xf32>) -> (tensor<2x8x32xf32>, tensor<2x32x16xf32>) {
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C D(%D) z(%z)
             delta_bias(%bias) initial_state(%s0) {delta_softplus}
           : tensor<2x8x32xf32>, tensor<2x8x32xf32>, tensor<32x16xf32>,
             tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<32xf32>,
             tensor<2x8x32xf32>, tensor<32xf32>, tensor<2x32x16xf32>
           -> tensor<2x8x32xf32>, tensor<2x32x16xf32>
  return %y, %s : tensor<2x8x32xf32>, tensor<2x32x16xf32>
}

// Minimal form, grouped B/C, bf16 activations with f32 parameters and
// dynamic batch and length.
// CHECK-LABEL: func.func @selective_scan_grouped_bf16
// CHECK: densessm.selective_scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>, tensor<64x8xf32>, tensor<?x?x4x8xbf16>, tensor<?x?x4x8xbf16> -> tensor<?x?x64xbf16>, tensor<?x64x8xf32>
func.func @selective_scan_grouped_bf16(%u: tensor<?x?x64xbf16>, %dt: tensor<?x?x64xbf16>,
    %A: tensor<64x8xf32>, %B: tensor<?x?x4x8xbf16>, %C: tensor<?x?x4x8xbf16>)
    -> (tensor<?x?x64xbf16>, tensor<?x64x8xf32>) {
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>, tensor<64x8xf32>,
             tensor<?x?x4x8xbf16>, tensor<?x?x4x8xbf16>
           -> tensor<?x?x64xbf16>, tensor<?x64x8xf32>
  return %y, %s : tensor<?x?x64xbf16>, tensor<?x64x8xf32>
}

// CHECK-LABEL: func.func @retention
// CHECK: densessm.retention %{{.*}}, %{{.*}}, %{{.*}} decay(%{{.*}}) position(%{{.*}}) initial_state(%{{.*}}) : tensor<1x8x2x16xf16>, tensor<1x8x2x16xf16>, tensor<1x8x2x32xf16>, tensor<2xf32>, tensor<1xi64>, tensor<1x2x16x32xf32> -> tensor<1x8x2x32xf16>, tensor<1x2x16x32xf32>
// CHECK: densessm.retention %{{.*}}, %{{.*}}, %{{.*}} decay(%{{.*}}) {normalization = #densessm.retention_norm<none>} : tensor<1x8x2x16xf16>
// GENERIC-LABEL: sym_name = "retention"
// GENERIC: "densessm.retention"(%{{.*}}) <{normalization = #densessm.retention_norm<authors>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1>}>
func.func @retention(%q: tensor<1x8x2x16xf16>, %k: tensor<1x8x2x16xf16>,
    %v: tensor<1x8x2x32xf16>, %gamma: tensor<2xf32>, %pos: tensor<1xi64>,
    %S0: tensor<1x2x16x32xf32>) -> (tensor<1x8x2x32xf16>, tensor<1x8x2x32xf16>) {
  %o, %S = densessm.retention %q, %k, %v decay(%gamma) position(%pos)
             initial_state(%S0)
           : tensor<1x8x2x16xf16>, tensor<1x8x2x16xf16>, tensor<1x8x2x32xf16>,
             tensor<2xf32>, tensor<1xi64>, tensor<1x2x16x32xf32>
           -> tensor<1x8x2x32xf16>, tensor<1x2x16x32xf32>
  %o2, %S2 = densessm.retention %q, %k, %v decay(%gamma)
               {normalization = #densessm.retention_norm<none>}
             : tensor<1x8x2x16xf16>, tensor<1x8x2x16xf16>, tensor<1x8x2x32xf16>,
               tensor<2xf32> -> tensor<1x8x2x32xf16>, tensor<1x2x16x32xf32>
  return %o, %o2 : tensor<1x8x2x32xf16>, tensor<1x8x2x32xf16>
}

// CHECK-LABEL: func.func @dense_connect_released
// CHECK: densessm.dense_connect %{{.*}}, [%{{.*}}, %{{.*}}] gate(%{{.*}}, %{{.*}}, %{{.*}}) norm(%{{.*}}) : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x8x64xf32>, tensor<2x64xf32>, tensor<32x2xf32>, tensor<32xf32>
func.func @dense_connect_released(%k: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>,
    %k1: tensor<1x8x32xf32>, %x: tensor<1x8x64xf32>, %fc1: tensor<2x64xf32>,
    %fc2: tensor<32x2xf32>, %w: tensor<32xf32>) -> tensor<1x8x32xf32> {
  %r = densessm.dense_connect %k, [%k0, %k1] gate(%x, %fc1, %fc2) norm(%w)
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x8x32xf32>,
         tensor<1x8x64xf32>, tensor<2x64xf32>, tensor<32x2xf32>, tensor<32xf32>
  return %r : tensor<1x8x32xf32>
}

// The paper's ablation: linear projections, concatenation, no norm.
// CHECK-LABEL: func.func @dense_connect_ablation
// CHECK: densessm.dense_connect %{{.*}}, [%{{.*}}] proj(%{{.*}}) fuse(%{{.*}}) {eps = 9.99999974E-6 : f32, fusion = #densessm.fusion<concat>, norm = #densessm.norm<none>, projection = #densessm.projection<linear>} : tensor<1x8x32xf32>, tensor<1x8x48xf32>, tensor<32x48xf32>, tensor<32x64xf32>
func.func @dense_connect_ablation(%c: tensor<1x8x32xf32>, %p: tensor<1x8x48xf32>,
    %wp: tensor<32x48xf32>, %wf: tensor<32x64xf32>) -> tensor<1x8x32xf32> {
  %r = densessm.dense_connect %c, [%p] proj(%wp) fuse(%wf)
         {projection = #densessm.projection<linear>,
          fusion = #densessm.fusion<concat>, norm = #densessm.norm<none>,
          eps = 1.0e-05 : f32}
       : tensor<1x8x32xf32>, tensor<1x8x48xf32>, tensor<32x48xf32>, tensor<32x64xf32>
  return %r : tensor<1x8x32xf32>
}

// CHECK-LABEL: func.func @causal_conv1d
// CHECK: densessm.causal_conv1d %{{.*}}, %{{.*}} bias(%{{.*}}) window(%{{.*}}) {activation = #densessm.activation<silu>} : tensor<1x8x32xf32>, tensor<32x4xf32>, tensor<32xf32>, tensor<1x32x3xf32> -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
// CHECK: densessm.causal_conv1d %{{.*}}, %{{.*}} : tensor<1x8x32xf32>, tensor<32x1xf32> -> tensor<1x8x32xf32>, tensor<1x32x0xf32>
func.func @causal_conv1d(%x: tensor<1x8x32xf32>, %w: tensor<32x4xf32>,
    %b: tensor<32xf32>, %win: tensor<1x32x3xf32>, %w1: tensor<32x1xf32>)
    -> (tensor<1x8x32xf32>, tensor<1x32x3xf32>, tensor<1x8x32xf32>) {
  %y, %win1 = densessm.causal_conv1d %x, %w bias(%b) window(%win)
                {activation = #densessm.activation<silu>}
              : tensor<1x8x32xf32>, tensor<32x4xf32>, tensor<32xf32>,
                tensor<1x32x3xf32> -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
  %y1, %empty = densessm.causal_conv1d %x, %w1
                : tensor<1x8x32xf32>, tensor<32x1xf32>
                -> tensor<1x8x32xf32>, tensor<1x32x0xf32>
  return %y, %win1, %y1 : tensor<1x8x32xf32>, tensor<1x32x3xf32>, tensor<1x8x32xf32>
}

// CHECK-LABEL: func.func @rms_norm
// CHECK: densessm.rms_norm %{{.*}}, %{{.*}} {eps = 9.99999974E-6 : f32} : tensor<1x8x64xbf16>, tensor<64xf32>
// CHECK: densessm.rms_norm %{{.*}}, %{{.*}} {eps = 9.99999997E-7 : f32} : tensor<1x8x2x32xf32>, tensor<32xf32>
func.func @rms_norm(%x: tensor<1x8x64xbf16>, %w: tensor<64xf32>,
    %o: tensor<1x8x2x32xf32>, %g: tensor<32xf32>) -> (tensor<1x8x64xbf16>, tensor<1x8x2x32xf32>) {
  %y = densessm.rms_norm %x, %w {eps = 1.0e-05 : f32} : tensor<1x8x64xbf16>, tensor<64xf32>
  %n = densessm.rms_norm %o, %g {eps = 1.0e-06 : f32} : tensor<1x8x2x32xf32>, tensor<32xf32>
  return %y, %n : tensor<1x8x64xbf16>, tensor<1x8x2x32xf32>
}

// CHECK-LABEL: func.func @rotary
// CHECK: densessm.rotary %{{.*}} position(%{{.*}}) : tensor<2x8x2x16xf32>, tensor<2xi32>
// CHECK: densessm.rotary %{{.*}} {base = 5.000000e+05 : f32} : tensor<2x8x2x16xf32>
func.func @rotary(%q: tensor<2x8x2x16xf32>, %pos: tensor<2xi32>)
    -> (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>) {
  %r = densessm.rotary %q position(%pos) : tensor<2x8x2x16xf32>, tensor<2xi32>
  %s = densessm.rotary %q {base = 5.0e+05 : f32} : tensor<2x8x2x16xf32>
  return %r, %s : tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>
}

// CHECK-LABEL: func.func @embedding
// CHECK: densessm.embedding %{{.*}}[%{{.*}}] : tensor<256x64xf16>, tensor<2x8xi32> -> tensor<2x8x64xf16>
func.func @embedding(%table: tensor<256x64xf16>, %tokens: tensor<2x8xi32>) -> tensor<2x8x64xf16> {
  %h = densessm.embedding %table[%tokens] : tensor<256x64xf16>, tensor<2x8xi32> -> tensor<2x8x64xf16>
  return %h : tensor<2x8x64xf16>
}

// CHECK-LABEL: func.func @step
// CHECK-SAME: attributes {densessm.schedule = #densessm.schedule<recurrent>}
func.func @step(%x: tensor<1x1x32xf32>, %w: tensor<32x4xf32>, %win: tensor<1x32x3xf32>)
    -> tensor<1x1x32xf32> attributes {densessm.schedule = #densessm.schedule<recurrent>} {
  %y, %win1 = densessm.causal_conv1d %x, %w window(%win)
              : tensor<1x1x32xf32>, tensor<32x4xf32>, tensor<1x32x3xf32>
              -> tensor<1x1x32xf32>, tensor<1x32x3xf32>
  return %y : tensor<1x1x32xf32>
}

// An entry point's inputs, outputs and recurrent states (what ModelBuilder.h
// emits and the runtime binds by).
// CHECK-LABEL: func.func @entry
// CHECK-SAME: {densessm.input = "tokens"}
// CHECK-SAME: {densessm.input = "position"}
// CHECK-SAME: {densessm.state = "layers.0.retention_state"}
// CHECK-SAME: {densessm.weight = "model.norm.weight"}
// CHECK-SAME: -> (tensor<?x1x32xf32> {densessm.output = "logits"}, tensor<?x2x8x16xf32> {densessm.state = "layers.0.retention_state"})
func.func @entry(%tokens: tensor<?x1xi64> {densessm.input = "tokens"},
    %position: tensor<?xi64> {densessm.input = "position"},
    %state: tensor<?x2x8x16xf32> {densessm.state = "layers.0.retention_state"},
    %norm: tensor<32xf32> {densessm.weight = "model.norm.weight"})
    -> (tensor<?x1x32xf32> {densessm.output = "logits"},
        tensor<?x2x8x16xf32> {densessm.state = "layers.0.retention_state"}) {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %tokens, %c0 : tensor<?x1xi64>
  %logits = tensor.empty(%b) : tensor<?x1x32xf32>
  return %logits, %state : tensor<?x1x32xf32>, tensor<?x2x8x16xf32>
}

// The kernel-level scan: per-element decay (Mamba's mapping) and per-head
// decay with grouped keys (retention's).
// CHECK-LABEL: func.func @scan
// CHECK: densessm.scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} dt_bias(%{{.*}}) skip(%{{.*}}) gate(%{{.*}}) initial_state(%{{.*}}) {dt_scales_input, dt_softplus} : tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x32x1xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<32xf32>, tensor<32xf32>, tensor<1x8x32x1xf32>, tensor<1x32x16x1xf32> -> tensor<1x8x32x1xf32>, tensor<1x32x16x1xf32>
// CHECK: densessm.scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} input_scale(%{{.*}}) : tensor<2x8x4x8xbf16>, tensor<2x8x2x8xbf16>, tensor<2x8x4x16xbf16>, tensor<2x8x4xf32>, tensor<4xf32>, tensor<2x8x4xf32> -> tensor<2x8x4x16xbf16>, tensor<2x4x8x16xf32>
func.func @scan(%q: tensor<1x8x1x16xf32>, %k: tensor<1x8x1x16xf32>, %v: tensor<1x8x32x1xf32>,
    %dt: tensor<1x8x32xf32>, %A: tensor<32x16xf32>, %s0: tensor<1x32x16x1xf32>,
    %bias: tensor<32xf32>, %D: tensor<32xf32>, %z: tensor<1x8x32x1xf32>,
    %qh: tensor<2x8x4x8xbf16>, %kh: tensor<2x8x2x8xbf16>, %vh: tensor<2x8x4x16xbf16>,
    %ldecay: tensor<2x8x4xf32>, %one: tensor<4xf32>, %scale: tensor<2x8x4xf32>)
    -> (tensor<1x8x32x1xf32>, tensor<2x8x4x16xbf16>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A dt_bias(%bias) skip(%D) gate(%z) initial_state(%s0)
             {dt_softplus, dt_scales_input}
           : tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x32x1xf32>,
             tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<32xf32>, tensor<32xf32>,
             tensor<1x8x32x1xf32>, tensor<1x32x16x1xf32>
           -> tensor<1x8x32x1xf32>, tensor<1x32x16x1xf32>
  %o, %S = densessm.scan %qh, %kh, %vh, %ldecay, %one input_scale(%scale)
           : tensor<2x8x4x8xbf16>, tensor<2x8x2x8xbf16>, tensor<2x8x4x16xbf16>,
             tensor<2x8x4xf32>, tensor<4xf32>, tensor<2x8x4xf32>
           -> tensor<2x8x4x16xbf16>, tensor<2x4x8x16xf32>
  return %y, %o : tensor<1x8x32x1xf32>, tensor<2x8x4x16xbf16>
}

// A scan with a dense connection fused into its values.
// CHECK-LABEL: func.func @scan_dense
// CHECK: densessm.scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} dense(%{{.*}}, %{{.*}}, %{{.*}}, [%{{.*}}, %{{.*}}]) {dense_eps = 9.99999997E-7 : f32}
func.func @scan_dense(%q: tensor<1x8x2x8xf32>, %k: tensor<1x8x2x8xf32>, %v: tensor<1x8x2x16xf32>,
    %dt: tensor<1x8x2xf32>, %A: tensor<2xf32>, %sel: tensor<1x8x2xf32>, %w2: tensor<32x2xf32>,
    %n: tensor<32xf32>, %k0: tensor<1x8x2x16xf32>, %k1: tensor<1x8x2x16xf32>) -> tensor<1x8x2x16xf32> {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A dense(%sel, %w2, %n, [%k0, %k1]) {dense_eps = 1.0e-06 : f32}
           : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2xf32>, tensor<2xf32>,
             tensor<1x8x2xf32>, tensor<32x2xf32>, tensor<32xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>
           -> tensor<1x8x2x16xf32>, tensor<1x2x8x16xf32>
  return %y : tensor<1x8x2x16xf32>
}
