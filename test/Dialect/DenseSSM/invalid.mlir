// Every distinct verifier error of the densessm dialect, one case each.
// RUN: densessm-opt %s -split-input-file -verify-diagnostics

// Rank of an operand.
func.func @scan_u_rank(%u: tensor<8x32xf32>, %dt: tensor<1x8x32xf32>, %A: tensor<32x16xf32>,
    %B: tensor<1x8x16xf32>, %C: tensor<1x8x16xf32>) {
  // expected-error @+1 {{'densessm.selective_scan' op operand 'u' must have rank 3 [batch, length, channels], found rank 2 ('tensor<8x32xf32>')}}
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<8x32xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<1x8x16xf32>, tensor<1x8x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
  return
}

// -----

// Mismatched channels between A and u.
func.func @scan_A_channels(%u: tensor<1x8x32xf32>, %dt: tensor<1x8x32xf32>, %A: tensor<16x16xf32>,
    %B: tensor<1x8x16xf32>, %C: tensor<1x8x16xf32>) {
  // expected-error @+1 {{operand 'A' dim 0 (channels) must be 32 to match operand 'u' dim 2, found 16}}
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<16x16xf32>, tensor<1x8x16xf32>, tensor<1x8x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
  return
}

// -----

// Activations must be floating point.
func.func @scan_int_activation(%u: tensor<1x8x32xi32>, %dt: tensor<1x8x32xf32>, %A: tensor<32x16xf32>,
    %B: tensor<1x8x16xf32>, %C: tensor<1x8x16xf32>) {
  // expected-error @+1 {{operand 'u' element type must be f32, f16 or bf16, found 'i32'}}
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<1x8x32xi32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<1x8x16xf32>, tensor<1x8x16xf32>
           -> tensor<1x8x32xi32>, tensor<1x32x16xf32>
  return
}

// -----

// All activations share one element type.
func.func @scan_mixed_activation(%u: tensor<1x8x32xf32>, %dt: tensor<1x8x32xf16>, %A: tensor<32x16xf32>,
    %B: tensor<1x8x16xf32>, %C: tensor<1x8x16xf32>) {
  // expected-error @+1 {{operand 'delta' element type must be 'f32' to match operand 'u', found 'f16'}}
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<1x8x32xf32>, tensor<1x8x32xf16>, tensor<32x16xf32>, tensor<1x8x16xf32>, tensor<1x8x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
  return
}

// -----

// Parameters are f32 or the activation type.
func.func @scan_param_type(%u: tensor<1x8x32xf16>, %dt: tensor<1x8x32xf16>, %A: tensor<32x16xbf16>,
    %B: tensor<1x8x16xf16>, %C: tensor<1x8x16xf16>) {
  // expected-error @+1 {{operand 'A' element type must be f32 or the activation type 'f16', found 'bf16'}}
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<1x8x32xf16>, tensor<1x8x32xf16>, tensor<32x16xbf16>, tensor<1x8x16xf16>, tensor<1x8x16xf16>
           -> tensor<1x8x32xf16>, tensor<1x32x16xf32>
  return
}

// -----

// B and C are [B, L, N] or grouped [B, L, G, N].
func.func @scan_B_rank(%u: tensor<1x8x32xf32>, %dt: tensor<1x8x32xf32>, %A: tensor<32x16xf32>,
    %B: tensor<8x16xf32>, %C: tensor<8x16xf32>) {
  // expected-error @+1 {{operand 'B' must have rank 3 [batch, length, state] or rank 4 [batch, length, groups, state], found rank 2 ('tensor<8x16xf32>')}}
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
  return
}

// -----

func.func @scan_zero_groups(%u: tensor<1x8x32xf32>, %dt: tensor<1x8x32xf32>, %A: tensor<32x16xf32>,
    %B: tensor<1x8x0x16xf32>, %C: tensor<1x8x0x16xf32>) {
  // expected-error @+1 {{operand 'B' dim 2 (groups) must be at least 1, found 0}}
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<1x8x0x16xf32>, tensor<1x8x0x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
  return
}

// -----

func.func @scan_groups_divide(%u: tensor<1x8x32xf32>, %dt: tensor<1x8x32xf32>, %A: tensor<32x16xf32>,
    %B: tensor<1x8x3x16xf32>, %C: tensor<1x8x3x16xf32>) {
  // expected-error @+1 {{operand 'B' has 3 groups, which must divide the 32 channels of operand 'u'}}
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<1x8x3x16xf32>, tensor<1x8x3x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
  return
}

// -----

// Recurrent state is f32.
func.func @scan_state_type(%u: tensor<1x8x32xf16>, %dt: tensor<1x8x32xf16>, %A: tensor<32x16xf32>,
    %B: tensor<1x8x16xf16>, %C: tensor<1x8x16xf16>, %s0: tensor<1x32x16xf16>) {
  // expected-error @+1 {{operand 'initial_state' element type must be f32, found 'f16'}}
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C initial_state(%s0)
           : tensor<1x8x32xf16>, tensor<1x8x32xf16>, tensor<32x16xf32>, tensor<1x8x16xf16>, tensor<1x8x16xf16>, tensor<1x32x16xf16>
           -> tensor<1x8x32xf16>, tensor<1x32x16xf32>
  return
}

// -----

// A result of the wrong shape.
func.func @scan_result_state(%u: tensor<1x8x32xf32>, %dt: tensor<1x8x32xf32>, %A: tensor<32x16xf32>,
    %B: tensor<1x8x16xf32>, %C: tensor<1x8x16xf32>) {
  // expected-error @+1 {{result 'final_state' dim 2 (state) must be 16 to match operand 'A' dim 1, found 8}}
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<1x8x16xf32>, tensor<1x8x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x8xf32>
  return
}

// -----

// Operands must be ranked tensors (checked by ODS, which names the operand
// by its position).
func.func @scan_unranked(%u: tensor<*xf32>, %dt: tensor<1x8x32xf32>, %A: tensor<32x16xf32>,
    %B: tensor<1x8x16xf32>, %C: tensor<1x8x16xf32>) {
  // expected-error @+1 {{'densessm.selective_scan' op operand #0 must be ranked tensor of any type values, but got 'tensor<*xf32>'}}
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<*xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<1x8x16xf32>, tensor<1x8x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
  return
}

// -----

// A decay of the wrong length.
func.func @retention_decay_length(%q: tensor<1x8x2x16xf32>, %k: tensor<1x8x2x16xf32>,
    %v: tensor<1x8x2x32xf32>, %gamma: tensor<3xf32>) {
  // expected-error @+1 {{'densessm.retention' op operand 'decay' dim 0 (heads) must be 2 to match operand 'q' dim 2, found 3}}
  %o, %S = densessm.retention %q, %k, %v decay(%gamma)
           : tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<3xf32>
           -> tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>
  return
}

// -----

func.func @retention_decay_range(%q: tensor<1x8x2x16xf32>, %k: tensor<1x8x2x16xf32>,
    %v: tensor<1x8x2x32xf32>) {
  %gamma = arith.constant dense<[0.96875, 1.5]> : tensor<2xf32>
  // expected-error @+1 {{operand 'decay' must lie in (0, 1] for every head, found 1.5 for head 1}}
  %o, %S = densessm.retention %q, %k, %v decay(%gamma)
           : tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<2xf32>
           -> tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>
  return
}

// -----

func.func @retention_position_type(%q: tensor<1x8x2x16xf32>, %k: tensor<1x8x2x16xf32>,
    %v: tensor<1x8x2x32xf32>, %gamma: tensor<2xf32>, %pos: tensor<1xf32>) {
  // expected-error @+1 {{operand 'position' element type must be i32 or i64, found 'f32'}}
  %o, %S = densessm.retention %q, %k, %v decay(%gamma) position(%pos)
           : tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<2xf32>, tensor<1xf32>
           -> tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>
  return
}

// -----

func.func @retention_state_needs_position(%q: tensor<1x8x2x16xf32>, %k: tensor<1x8x2x16xf32>,
    %v: tensor<1x8x2x32xf32>, %gamma: tensor<2xf32>, %S0: tensor<1x2x16x32xf32>) {
  // expected-error @+1 {{operand 'position' is required when an initial state is given with normalization = authors (the scale depends on each sequence's absolute position)}}
  %o, %S = densessm.retention %q, %k, %v decay(%gamma) initial_state(%S0)
           : tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<2xf32>, tensor<1x2x16x32xf32>
           -> tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>
  return
}

// -----

// Unknown attribute values are parse errors.
func.func @retention_unknown_norm(%q: tensor<1x8x2x16xf32>, %k: tensor<1x8x2x16xf32>,
    %v: tensor<1x8x2x32xf32>, %gamma: tensor<2xf32>) {
  // expected-error @+3 {{expected ::mlir::densessm::RetentionNormalization to be one of: authors, none}}
  // expected-error @+2 {{failed to parse DenseSSM_RetentionNormalizationAttr parameter 'value' which is to be a `::mlir::densessm::RetentionNormalization`}}
  %o, %S = densessm.retention %q, %k, %v decay(%gamma)
           {normalization = #densessm.retention_norm<softmax>}
           : tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<2xf32>
           -> tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>
  return
}

// -----

// A kept tensor of the wrong width.
func.func @dense_kept_width(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x16xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{'densessm.dense_connect' op operand 'kept #0' dim 2 (channels) must be 32 to match operand 'current' dim 2, found 16}}
  %r = densessm.dense_connect %c, [%k0] norm(%w)
       : tensor<1x8x32xf32>, tensor<1x8x16xf32>, tensor<32xf32>
  return
}

// -----

func.func @dense_kept_length(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>, %k1: tensor<1x4x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{operand 'kept #1' dim 1 (length) must be 8 to match operand 'current' dim 1, found 4}}
  %r = densessm.dense_connect %c, [%k0, %k1] norm(%w)
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x4x32xf32>, tensor<32xf32>
  return
}

// -----

func.func @dense_gate_width(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>, %x: tensor<1x8x64xf32>,
    %fc1: tensor<2x64xf32>, %fc2: tensor<16x2xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{operand 'gate_fc2' dim 0 (channels) must be 32 to match operand 'current' dim 2, found 16}}
  %r = densessm.dense_connect %c, [%k0] gate(%x, %fc1, %fc2) norm(%w)
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x8x64xf32>, tensor<2x64xf32>, tensor<16x2xf32>, tensor<32xf32>
  return
}

// -----

// The gate's three operands come together (only the generic form can split them).
func.func @dense_partial_gate(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>, %x: tensor<1x8x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{the gate needs 'gate_input', 'gate_fc1' and 'gate_fc2' together, found 1 of them}}
  %r = "densessm.dense_connect"(%c, %k0, %x, %w) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1>}>
       : (tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x8x64xf32>, tensor<32xf32>) -> tensor<1x8x32xf32>
  return
}

// -----

func.func @dense_linear_count(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>, %k1: tensor<1x8x32xf32>,
    %p0: tensor<32x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{projection = linear needs one 'proj_weights' per kept tensor: expected 2, found 1}}
  %r = densessm.dense_connect %c, [%k0, %k1] proj(%p0) norm(%w) {projection = #densessm.projection<linear>}
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x32xf32>, tensor<32xf32>
  return
}

// -----

func.func @dense_identity_weights(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>,
    %p0: tensor<32x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{projection = identity takes no 'proj_weights', found 1}}
  %r = densessm.dense_connect %c, [%k0] proj(%p0) norm(%w)
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x32xf32>, tensor<32xf32>
  return
}

// -----

func.func @dense_linear_weight_shape(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x48xf32>,
    %p0: tensor<32x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{operand 'proj_weights #0' dim 1 (kept #0 channels) must be 48 to match operand 'kept #0' dim 2, found 32}}
  %r = densessm.dense_connect %c, [%k0] proj(%p0) norm(%w) {projection = #densessm.projection<linear>}
       : tensor<1x8x32xf32>, tensor<1x8x48xf32>, tensor<32x32xf32>, tensor<32xf32>
  return
}

// -----

func.func @dense_concat_needs_weight(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{fusion = concat needs operand 'fuse_weight'}}
  %r = densessm.dense_connect %c, [%k0] norm(%w) {fusion = #densessm.fusion<concat>}
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32xf32>
  return
}

// -----

func.func @dense_add_takes_no_weight(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>,
    %f: tensor<32x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{fusion = add takes no operand 'fuse_weight'}}
  %r = densessm.dense_connect %c, [%k0] fuse(%f) norm(%w)
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @dense_concat_weight_width(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>,
    %f: tensor<32x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{operand 'fuse_weight' dim 1 (concat_channels) must be 64 to match channels x (1 + number of kept tensors), found 32}}
  %r = densessm.dense_connect %c, [%k0] fuse(%f) norm(%w) {fusion = #densessm.fusion<concat>}
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x32xf32>, tensor<32xf32>
  return
}

// -----

func.func @dense_rms_needs_weight(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>) {
  // expected-error @+1 {{norm = rms needs operand 'norm_weight'}}
  %r = densessm.dense_connect %c, [%k0] : tensor<1x8x32xf32>, tensor<1x8x32xf32>
  return
}

// -----

func.func @dense_none_takes_no_weight(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{norm = none takes no operand 'norm_weight'}}
  %r = densessm.dense_connect %c, [%k0] norm(%w) {norm = #densessm.norm<none>}
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32xf32>
  return
}

// -----

func.func @dense_eps(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive and finite, found 0}}
  %r = densessm.dense_connect %c, [%k0] norm(%w) {eps = 0.0 : f32}
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32xf32>
  return
}

// -----

func.func @dense_unknown_fusion(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+2 {{expected ::mlir::densessm::Fusion to be one of: add, concat}}
  // expected-error @+1 {{failed to parse DenseSSM_FusionAttr parameter 'value' which is to be a `::mlir::densessm::Fusion`}}
  %r = densessm.dense_connect %c, [%k0] norm(%w) {fusion = #densessm.fusion<multiply>}
       : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32xf32>
  return
}

// -----

// The result has the type of the current tensor (generic form only).
func.func @dense_result_type(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+2 {{'densessm.dense_connect' op failed to infer returned types}}
  // expected-error @+1 {{'densessm.dense_connect' op inferred type(s) 'tensor<1x8x32xf32>' are incompatible with return type(s) of operation 'tensor<1x8x16xf32>'}}
  %r = "densessm.dense_connect"(%c, %k0, %w) <{operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 1>}>
       : (tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32xf32>) -> tensor<1x8x16xf32>
  return
}

// -----

func.func @conv_kernel(%x: tensor<1x8x32xf32>, %w: tensor<32x0xf32>) {
  // expected-error @+1 {{'densessm.causal_conv1d' op operand 'weight' dim 1 (kernel) must be at least 1, found 0}}
  %y, %win = densessm.causal_conv1d %x, %w : tensor<1x8x32xf32>, tensor<32x0xf32>
             -> tensor<1x8x32xf32>, tensor<1x32x0xf32>
  return
}

// -----

func.func @conv_window(%x: tensor<1x8x32xf32>, %w: tensor<32x4xf32>, %win: tensor<1x32x4xf32>) {
  // expected-error @+1 {{operand 'window' dim 2 (kernel-1) must be 3 to match operand 'weight' dim 1 (kernel) - 1, found 4}}
  %y, %win1 = densessm.causal_conv1d %x, %w window(%win)
              : tensor<1x8x32xf32>, tensor<32x4xf32>, tensor<1x32x4xf32>
              -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x8x32xf32>, %w: tensor<32x4xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{operand 'bias' dim 0 (channels) must be 32 to match operand 'x' dim 2, found 16}}
  %y, %win = densessm.causal_conv1d %x, %w bias(%b)
             : tensor<1x8x32xf32>, tensor<32x4xf32>, tensor<16xf32>
             -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
  return
}

// -----

func.func @conv_unknown_activation(%x: tensor<1x8x32xf32>, %w: tensor<32x4xf32>) {
  // expected-error @+2 {{expected ::mlir::densessm::Activation to be one of: none, silu}}
  // expected-error @+1 {{failed to parse DenseSSM_ActivationAttr parameter 'value' which is to be a `::mlir::densessm::Activation`}}
  %y, %win = densessm.causal_conv1d %x, %w {activation = #densessm.activation<gelu>}
             : tensor<1x8x32xf32>, tensor<32x4xf32> -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
  return
}

// -----

func.func @rms_norm_rank0(%x: tensor<f32>, %w: tensor<1xf32>) {
  // expected-error @+1 {{'densessm.rms_norm' op operand 'input' must have rank at least 1, found 'tensor<f32>'}}
  %y = densessm.rms_norm %x, %w {eps = 1.0e-05 : f32} : tensor<f32>, tensor<1xf32>
  return
}

// -----

func.func @rms_norm_weight(%x: tensor<1x8x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{operand 'weight' dim 0 (channels) must be 64 to match operand 'input' dim 2, found 32}}
  %y = densessm.rms_norm %x, %w {eps = 1.0e-05 : f32} : tensor<1x8x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @rms_norm_eps(%x: tensor<1x8x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{attribute 'eps' must be positive and finite, found -1}}
  %y = densessm.rms_norm %x, %w {eps = -1.0 : f32} : tensor<1x8x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @rms_norm_missing_eps(%x: tensor<1x8x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'densessm.rms_norm' op requires attribute 'eps'}}
  %y = densessm.rms_norm %x, %w : tensor<1x8x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @rotary_odd(%x: tensor<1x8x2x15xf32>) {
  // expected-error @+1 {{'densessm.rotary' op operand 'x' dim 3 (head_dim) must be even and at least 4 (the angles divide by head_dim/2 - 1), found 15}}
  %r = densessm.rotary %x : tensor<1x8x2x15xf32>
  return
}

// -----

func.func @rotary_position_batch(%x: tensor<2x8x2x16xf32>, %pos: tensor<3xi64>) {
  // expected-error @+1 {{operand 'position' dim 0 (batch) must be 2 to match operand 'x' dim 0, found 3}}
  %r = densessm.rotary %x position(%pos) : tensor<2x8x2x16xf32>, tensor<3xi64>
  return
}

// -----

func.func @rotary_base(%x: tensor<1x8x2x16xf32>) {
  // expected-error @+1 {{attribute 'base' must be positive and finite, found 0}}
  %r = densessm.rotary %x {base = 0.0 : f32} : tensor<1x8x2x16xf32>
  return
}

// -----

func.func @embedding_tokens(%table: tensor<256x64xf32>) {
  %tokens = arith.constant dense<[[1, 2, 256]]> : tensor<1x3xi64>
  // expected-error @+1 {{'densessm.embedding' op operand 'tokens' holds token id 256 at flat index 2, outside the vocabulary [0, 256)}}
  %h = densessm.embedding %table[%tokens] : tensor<256x64xf32>, tensor<1x3xi64> -> tensor<1x3x64xf32>
  return
}

// -----

func.func @embedding_result(%table: tensor<256x64xf32>, %tokens: tensor<1x3xi64>) {
  // expected-error @+1 {{result 'result' dim 2 (hidden) must be 64 to match operand 'table' dim 1, found 32}}
  %h = densessm.embedding %table[%tokens] : tensor<256x64xf32>, tensor<1x3xi64> -> tensor<1x3x32xf32>
  return
}

// -----

// The schedule attribute.
// expected-error @+1 {{unknown densessm attribute 'densessm.unroll' (the dialect defines 'densessm.schedule', 'densessm.written_arguments' and 'densessm.split_kernel_modules')}}
func.func @unknown_dialect_attr() attributes {densessm.unroll = 4 : i64} {
  return
}

// -----

// The arguments a runtime function writes: memref arguments of a declaration.
// expected-error @+1 {{'densessm.written_arguments': position 1 is not that of a memref argument (or is listed twice)}}
func.func private @writes_a_scalar(memref<4xf32>, f32) attributes {densessm.written_arguments = array<i64: 1>}

// -----

// expected-error @+1 {{'densessm.written_arguments': position 0 is not that of a memref argument (or is listed twice)}}
func.func private @listed_twice(memref<4xf32>) attributes {densessm.written_arguments = array<i64: 0, 0>}

// -----

// The kernel modules split by chip (--densessm-wait-for-preceding-kernels):
// a record per copy, on a module.
// expected-error @+1 {{'densessm.split_kernel_modules' must be a dictionary of {module = "name", chips = ["sm_XY", ...]} on a module, found {k__waits = {module = "k"}}}}
module attributes {densessm.split_kernel_modules = {k__waits = {module = "k"}}} {
}

// -----

// expected-error @+1 {{'densessm.split_kernel_modules' must be a dictionary of {module = "name", chips = ["sm_XY", ...]} on a module}}
func.func private @on_a_function() attributes {densessm.split_kernel_modules = {}}

// -----

// expected-error @+1 {{'densessm.written_arguments' must be an array<i64> of argument positions on a function declaration}}
func.func @not_a_declaration(%a: memref<4xf32>) attributes {densessm.written_arguments = array<i64: 0>} {
  return
}

// -----

// expected-error @+1 {{'densessm.schedule' must be #densessm.schedule<parallel> or #densessm.schedule<recurrent>, found "recurrent"}}
func.func @schedule_string() attributes {densessm.schedule = "recurrent"} {
  return
}

// -----

func.func @schedule_on_op(%x: tensor<4xf32>) {
  // expected-error @+1 {{'densessm.schedule' may only be attached to a function, found it on 'arith.addf'}}
  %y = arith.addf %x, %x {densessm.schedule = #densessm.schedule<parallel>} : tensor<4xf32>
  return
}

// -----

func.func @recurrent_multi_token(%x: tensor<1x8x32xf32>, %w: tensor<32x4xf32>)
    attributes {densessm.schedule = #densessm.schedule<recurrent>} {
  // expected-error @+1 {{'densessm.causal_conv1d' op is in a function with schedule recurrent and must process one token per sequence: operand 'x' dim 1 (length) must be 1, found 8}}
  %y, %win = densessm.causal_conv1d %x, %w : tensor<1x8x32xf32>, tensor<32x4xf32>
             -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
  return
}

// -----

// expected-error @+2 {{expected ::mlir::densessm::Schedule to be one of: parallel, recurrent}}
// expected-error @+1 {{failed to parse DenseSSM_ScheduleAttr parameter 'value' which is to be a `::mlir::densessm::Schedule`}}
func.func @schedule_unknown() attributes {densessm.schedule = #densessm.schedule<chunked>} {
  return
}

// -----

// expected-error @+1 {{'densessm.weight' on argument 0 must be a non-empty string naming a checkpoint tensor, found 3 : i64}}
func.func @weight_not_string(%w: tensor<4xf32> {densessm.weight = 3}) {
  return
}

// -----

// expected-error @+1 {{unknown densessm argument attribute 'densessm.tied' on argument 0 (the dialect defines 'densessm.weight', 'densessm.input' and 'densessm.state')}}
func.func @unknown_arg_attr(%w: tensor<4xf32> {densessm.tied}) {
  return
}

// -----

// The entry-point attributes: model inputs, outputs and recurrent states.
// expected-error @+1 {{'densessm.input' on argument 1 must be "tokens" or "position", found "ids"}}
func.func @input_unknown(%t: tensor<?x?xi64> {densessm.input = "tokens"},
    %p: tensor<?xi64> {densessm.input = "ids"}) {
  return
}

// -----

// expected-error @+1 {{'densessm.input' = "tokens" on argument 0 must be on a rank-2 integer tensor [batch, length], found 'tensor<?x?xf32>'}}
func.func @input_tokens_type(%t: tensor<?x?xf32> {densessm.input = "tokens"}) {
  return
}

// -----

// expected-error @+1 {{'densessm.input' = "position" on argument 0 must be on a rank-1 integer tensor [batch], found 'tensor<?x1xi64>'}}
func.func @input_position_type(%p: tensor<?x1xi64> {densessm.input = "position"}) {
  return
}

// -----

// expected-error @+1 {{'densessm.state' on argument 0 must be a non-empty string naming a recurrent state, found ""}}
func.func @state_empty(%s: tensor<?x4xf32> {densessm.state = ""}) {
  return
}

// -----

// expected-error @+1 {{'densessm.state' on argument 0 must be on an f32 ranked tensor (recurrent state is always f32), found 'tensor<?x4xbf16>'}}
func.func @state_type(%s: tensor<?x4xbf16> {densessm.state = "layers.0.ssm_state"}) {
  return
}

// -----

// expected-error @+1 {{'densessm.state' = "layers.1.ssm_state" on result 0 names no state argument (a state result returns the final value of the argument with the same 'densessm.state')}}
func.func @state_result_unmatched(%s: tensor<?x4xf32> {densessm.state = "layers.0.ssm_state"})
    -> (tensor<?x4xf32> {densessm.state = "layers.1.ssm_state"}) {
  return %s : tensor<?x4xf32>
}

// -----

// expected-error @+1 {{'densessm.state' = "layers.0.ssm_state" on result 0 must have the type of the state's argument 0, 'tensor<?x4xf32>', found 'tensor<?x8xf32>'}}
func.func @state_result_type(%s: tensor<?x4xf32> {densessm.state = "layers.0.ssm_state"})
    -> (tensor<?x8xf32> {densessm.state = "layers.0.ssm_state"}) {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %s, %c0 : tensor<?x4xf32>
  %r = tensor.empty(%b) : tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}

// -----

// expected-error @+1 {{'densessm.output' on result 0 must be "logits", found "probs"}}
func.func @output_unknown(%x: tensor<4xf32>) -> (tensor<4xf32> {densessm.output = "probs"}) {
  return %x : tensor<4xf32>
}

// -----

// expected-error @+1 {{unknown densessm result attribute 'densessm.weight' on result 0 (the dialect defines 'densessm.output' and 'densessm.state')}}
func.func @unknown_result_attr(%x: tensor<4xf32>) -> (tensor<4xf32> {densessm.weight = "lm_head.weight"}) {
  return %x : tensor<4xf32>
}

// -----

func.func @scan_groups(%q: tensor<1x8x3x16xf32>, %k: tensor<1x8x1x16xf32>, %v: tensor<1x8x32x1xf32>,
    %dt: tensor<1x8x32xf32>, %A: tensor<32x16xf32>) {
  // expected-error @+1 {{'densessm.scan' op operand 'q' has 3 groups, which must divide the 32 heads of operand 'v'}}
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<1x8x3x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x32x1xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>
           -> tensor<1x8x32x1xf32>, tensor<1x32x16x1xf32>
  return
}

// -----

func.func @scan_A_rank(%q: tensor<1x8x1x16xf32>, %k: tensor<1x8x1x16xf32>, %v: tensor<1x8x32x1xf32>,
    %dt: tensor<1x8x32xf32>, %A: tensor<1x32x16xf32>) {
  // expected-error @+1 {{operand 'A' must have rank 2 [heads, key_dim] (decay per state element) or rank 1 [heads] (decay per head), found rank 3 ('tensor<1x32x16xf32>')}}
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x32x1xf32>, tensor<1x8x32xf32>, tensor<1x32x16xf32>
           -> tensor<1x8x32x1xf32>, tensor<1x32x16x1xf32>
  return
}

// -----

func.func @scan_dt_type(%q: tensor<1x8x1x16xf16>, %k: tensor<1x8x1x16xf16>, %v: tensor<1x8x32x1xf16>,
    %dt: tensor<1x8x32xbf16>, %A: tensor<32x16xf32>) {
  // expected-error @+1 {{operand 'dt' element type must be f32 or the activation type 'f16', found 'bf16'}}
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<1x8x1x16xf16>, tensor<1x8x1x16xf16>, tensor<1x8x32x1xf16>, tensor<1x8x32xbf16>, tensor<32x16xf32>
           -> tensor<1x8x32x1xf16>, tensor<1x32x16x1xf32>
  return
}

// -----

func.func @scan_gate_shape(%q: tensor<1x8x1x16xf32>, %k: tensor<1x8x1x16xf32>, %v: tensor<1x8x32x1xf32>,
    %dt: tensor<1x8x32xf32>, %A: tensor<32x16xf32>, %z: tensor<1x8x32x2xf32>) {
  // expected-error @+1 {{operand 'gate' dim 3 (value_dim) must be 1 to match operand 'v' dim 3, found 2}}
  %y, %s = densessm.scan %q, %k, %v, %dt, %A gate(%z)
           : tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x32x1xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<1x8x32x2xf32>
           -> tensor<1x8x32x1xf32>, tensor<1x32x16x1xf32>
  return
}

// -----

func.func @scan_dense_without_eps(%q: tensor<1x8x2x8xf32>, %k: tensor<1x8x2x8xf32>, %v: tensor<1x8x2x16xf32>,
    %dt: tensor<1x8x2xf32>, %A: tensor<2xf32>, %sel: tensor<1x8x2xf32>, %w2: tensor<32x2xf32>, %n: tensor<32xf32>) {
  // expected-error @+1 {{a fused dense connection needs 'dense_select', 'dense_select_weight', 'dense_norm_weight' and 'dense_eps' together}}
  %y, %s = densessm.scan %q, %k, %v, %dt, %A dense(%sel, %w2, %n, [])
           : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2xf32>, tensor<2xf32>,
             tensor<1x8x2xf32>, tensor<32x2xf32>, tensor<32xf32>
           -> tensor<1x8x2x16xf32>, tensor<1x2x8x16xf32>
  return
}

// -----

func.func @scan_dense_weight_width(%q: tensor<1x8x2x8xf32>, %k: tensor<1x8x2x8xf32>, %v: tensor<1x8x2x16xf32>,
    %dt: tensor<1x8x2xf32>, %A: tensor<2xf32>, %sel: tensor<1x8x2xf32>, %w2: tensor<16x2xf32>, %n: tensor<32xf32>) {
  // expected-error @+1 {{operand 'dense_select_weight' dim 0 (channels) must be 32 to match heads x value_dim, found 16}}
  %y, %s = densessm.scan %q, %k, %v, %dt, %A dense(%sel, %w2, %n, []) {dense_eps = 1.0e-06 : f32}
           : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2xf32>, tensor<2xf32>,
             tensor<1x8x2xf32>, tensor<16x2xf32>, tensor<32xf32>
           -> tensor<1x8x2x16xf32>, tensor<1x2x8x16xf32>
  return
}
