//===- DenseSSMOps.td - densessm model-level ops -----------*- tablegen -*-===//
//
// One op per concept a model author recognises (DESIGN.md, "The dialect, in
// two levels"). Shapes use these names throughout:
//   B batch, L length (tokens), D channels (d_inner), N state size,
//   G groups of B/C, h heads, dk key dim per head, dv value dim per head,
//   H model width, K convolution width, V vocabulary.
//
// Operand types are only constrained to ranked tensors here; every rank,
// dimension and element-type relation is checked by the C++ verifiers
// (lib/Dialect/DenseSSM/IR/), which name the offending operand and say what
// was expected and what was found.
//
//===----------------------------------------------------------------------===//

#ifndef DENSESSM_OPS_TD
#define DENSESSM_OPS_TD

include "DenseSSM/DenseSSMBase.td"
include "DenseSSM/DenseSSMAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

//===----------------------------------------------------------------------===//
// selective_scan
//===----------------------------------------------------------------------===//

def DenseSSM_SelectiveScanOp : DenseSSM_Op<"selective_scan",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "Mamba's selective state space scan (S6)";
  let description = [{
    The input-dependent diagonal recurrence of Mamba-1 (MODELS.md §1), for
    every batch entry `b`, channel `d` and state element `n`:

    ```
    δ_t[d]   = softplus?(delta_t[d] + delta_bias[d])
    s_t[d,n] = exp(δ_t[d]·A[d,n]) · s_{t-1}[d,n] + δ_t[d] · B_t[g(d),n] · u_t[d]
    y_t[d]   = Σ_n C_t[g(d),n] · s_t[d,n] + D[d] · u_t[d]
    y_t[d]  *= SiLU(z_t[d])                  (when z is given)
    ```

    `softplus` is applied when `delta_softplus` is set (passing `x > 20`
    through unchanged, as PyTorch does). `B` and `C` are per token: either
    `[B, L, N]`, shared by all channels (Mamba-1), or grouped `[B, L, G, N]`,
    where channel `d` reads group `g(d) = d / (D / G)`. `s_{-1}` is
    `initial_state`, or zeros when it is absent.

    | operand | shape | element type |
    | --- | --- | --- |
    | `u`, `delta`, `z` | `[B, L, D]` | activation type `T` (f32, f16, bf16) |
    | `A` | `[D, N]` | f32 or `T` |
    | `B`, `C` | `[B, L, N]` or `[B, L, G, N]` | `T` |
    | `D`, `delta_bias` | `[D]` | f32 or `T` |
    | `initial_state` | `[B, D, N]` | f32 |

    Results: `y` with the type of `u`, and the final state `[B, D, N]` in f32.
    A decoding step is this op with `L = 1` and the previous state in.

    Example (one Mamba-1 layer's scan over 8 tokens):

    ```mlir
    %y, %s = densessm.selective_scan %u, %dt, %A, %Bt, %Ct D(%D) z(%z)
               delta_bias(%dt_bias) initial_state(%s0) {delta_softplus}
             : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>,
               tensor<1x8x16xf32>, tensor<1x8x16xf32>, tensor<32xf32>,
               tensor<1x8x32xf32>, tensor<32xf32>, tensor<1x32x16xf32>
             -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$u,
    AnyRankedTensor:$delta,
    AnyRankedTensor:$A,
    AnyRankedTensor:$B,
    AnyRankedTensor:$C,
    Optional<AnyRankedTensor>:$D,
    Optional<AnyRankedTensor>:$z,
    Optional<AnyRankedTensor>:$delta_bias,
    Optional<AnyRankedTensor>:$initial_state,
    UnitAttr:$delta_softplus
  );
  let results = (outs AnyRankedTensor:$y, AnyRankedTensor:$final_state);
  let assemblyFormat = [{
    $u `,` $delta `,` $A `,` $B `,` $C
    (`D` `(` $D^ `)`)?
    (`z` `(` $z^ `)`)?
    (`delta_bias` `(` $delta_bias^ `)`)?
    (`initial_state` `(` $initial_state^ `)`)?
    attr-dict `:` type(operands) `->` type(results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// retention
//===----------------------------------------------------------------------===//

def DenseSSM_RetentionOp : DenseSSM_Op<"retention",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "multi-scale retention with a per-head decay";
  let description = [{
    RetNet's retention (MODELS.md §2), per batch entry and head `j`, over
    absolute positions `p = position[b] + t`:

    ```
    c_p   = Σ_{i=0..p} γ_j^i                       (normalization = authors)
    S_p   = γ_j · sqrt(c_{p-1} / c_p) · S_{p-1} + k_pᵀ v_p / sqrt(c_p)
    o_p   = q_p · S_p
    ```

    that is `o_t = Σ_{s≤t} γ^(t-s) / sqrt(c_t) · (q_t·k_s) v_s` plus the
    carried state's contribution. With `normalization = none`,
    `c_p = 1` throughout (`S_p = γ S_{p-1} + k_pᵀ v_p`). The authors'
    parallel form also divides each row by `clamp(Σ_s |R_ts|, 1, 5e4)`; that
    is a positive scalar per (token, head), which the per-head RMSNorm that
    always follows removes, so the op defines the form both schedules can
    compute exactly.

    `q` and `k` are expected already rotated (`densessm.rotary`). `position`
    gives each sequence's position of its first token (zeros when absent); it
    is required when an initial state is given under the authors'
    normalisation, since the scale depends on the absolute position.

    | operand | shape | element type |
    | --- | --- | --- |
    | `q`, `k` | `[B, L, h, dk]` | activation type `T` (f32, f16, bf16) |
    | `v` | `[B, L, h, dv]` | `T` |
    | `decay` | `[h]` | f32 (γ per head) |
    | `position` | `[B]` | i32 or i64 |
    | `initial_state` | `[B, h, dk, dv]` | f32 |

    Results: `o` `[B, L, h, dv]` of type `T`, and the final state
    `[B, h, dk, dv]` in f32.

    ```mlir
    %o, %S = densessm.retention %q, %k, %v decay(%gamma) position(%pos)
               initial_state(%S0)
             : tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>,
               tensor<2xf32>, tensor<1xi64>, tensor<1x2x16x32xf32>
             -> tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$q,
    AnyRankedTensor:$k,
    AnyRankedTensor:$v,
    AnyRankedTensor:$decay,
    Optional<AnyRankedTensor>:$position,
    Optional<AnyRankedTensor>:$initial_state,
    DefaultValuedAttr<DenseSSM_RetentionNormalizationAttr,
        "::mlir::densessm::RetentionNormalization::authors">:$normalization
  );
  let results = (outs AnyRankedTensor:$o, AnyRankedTensor:$final_state);
  let assemblyFormat = [{
    $q `,` $k `,` $v `decay` `(` $decay `)`
    (`position` `(` $position^ `)`)?
    (`initial_state` `(` $initial_state^ `)`)?
    attr-dict `:` type(operands) `->` type(results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// dense_connect
//===----------------------------------------------------------------------===//

def DenseSSM_DenseConnectOp : DenseSSM_Op<"dense_connect",
    [Pure, AttrSizedOperandSegments, InferTypeOpAdaptor]> {
  let summary = "DenseSSM's selective transition and hidden fusion modules";
  let description = [{
    The dense hidden connection of MODELS.md §4: the current layer's tensor
    `c` is fused with the kept (pre-fusion) tensors of up to `m` earlier
    layers, each projected and gated by a selection computed from the layer
    input `x`:

    ```
    sel    = SiLU(gate_fc2 · SiLU(gate_fc1 · x))          (no gate: sel = 1)
    g_i    = Proj_i(kept_i) ⊙ sel                         Proj_i: identity | proj_weights[i] ·
    fused  = c + Σ_i g_i                                  (fusion = add)
           | fuse_weight · [c; g_1; …; g_m]               (fusion = concat)
    result = RMSNorm(fused; norm_weight, eps)             (norm = rms)
           | fused                                        (norm = none)
    ```

    | operand | shape | notes |
    | --- | --- | --- |
    | `current` | `[B, L, C]` | activation type `T` |
    | `kept` (0 to any) | `[B, L, C_i]` | `T`; `C_i = C` for identity projection |
    | `gate_input` | `[B, L, H]` | `T`; with `gate_fc1 [R, H]`, `gate_fc2 [C, R]` |
    | `proj_weights` | `[C, C_i]` each | one per kept tensor, projection = linear only |
    | `fuse_weight` | `[C, C·(1+m)]` | fusion = concat only |
    | `norm_weight` | `[C]` | norm = rms only |

    The gate is all three of `gate_input`, `gate_fc1` and `gate_fc2` or none
    of them. Weights are f32 or `T`.

    ```mlir
    %kf = densessm.dense_connect %k, [%k_l0, %k_l1] gate(%x, %fc1, %fc2)
            norm(%k_norm) {eps = 1.0e-06 : f32}
          : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x8x32xf32>,
            tensor<1x8x64xf32>, tensor<2x64xf32>, tensor<32x2xf32>, tensor<32xf32>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$current,
    Variadic<AnyRankedTensor>:$kept,
    Optional<AnyRankedTensor>:$gate_input,
    Optional<AnyRankedTensor>:$gate_fc1,
    Optional<AnyRankedTensor>:$gate_fc2,
    Variadic<AnyRankedTensor>:$proj_weights,
    Optional<AnyRankedTensor>:$fuse_weight,
    Optional<AnyRankedTensor>:$norm_weight,
    DefaultValuedAttr<DenseSSM_ProjectionAttr,
        "::mlir::densessm::Projection::identity">:$projection,
    DefaultValuedAttr<DenseSSM_FusionAttr,
        "::mlir::densessm::Fusion::add">:$fusion,
    DefaultValuedAttr<DenseSSM_NormAttr, "::mlir::densessm::Norm::rms">:$norm,
    DefaultValuedAttr<F32Attr, "1.0e-6">:$eps
  );
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $current `,` `[` $kept `]`
    (`gate` `(` $gate_input^ `,` $gate_fc1 `,` $gate_fc2 `)`)?
    (`proj` `(` $proj_weights^ `)`)?
    (`fuse` `(` $fuse_weight^ `)`)?
    (`norm` `(` $norm_weight^ `)`)?
    attr-dict `:` type(operands)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// causal_conv1d
//===----------------------------------------------------------------------===//

def DenseSSM_CausalConv1dOp : DenseSSM_Op<"causal_conv1d",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "depthwise causal 1-D convolution with a carried window";
  let description = [{
    Mamba's depthwise causal convolution over time (MODELS.md §1), for every
    channel `c`:

    ```
    y_t[c] = act(bias[c] + Σ_{k<K} weight[c,k] · x_{t-K+1+k}[c])
    ```

    where positions before the first token read the carried `window`
    (the previous `K-1` inputs, oldest first), or zeros when it is absent.
    The op also returns the final window, the last `K-1` inputs (window
    included), which a decoding step carries to the next; it is `[B, C, 0]`
    for `K = 1`, and a caller that does not need it leaves it unused.

    | operand | shape | element type |
    | --- | --- | --- |
    | `x` | `[B, L, C]` | activation type `T` (f32, f16, bf16) |
    | `weight` | `[C, K]`, any `K ≥ 1` | f32 or `T` |
    | `bias` | `[C]` | f32 or `T` |
    | `window` | `[B, C, K-1]` | `T` |

    ```mlir
    %y, %w1 = densessm.causal_conv1d %x, %w bias(%b) window(%w0)
                {activation = #densessm.activation<silu>}
              : tensor<1x8x32xf32>, tensor<32x4xf32>, tensor<32xf32>,
                tensor<1x32x3xf32> -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$x,
    AnyRankedTensor:$weight,
    Optional<AnyRankedTensor>:$bias,
    Optional<AnyRankedTensor>:$window,
    DefaultValuedAttr<DenseSSM_ActivationAttr,
        "::mlir::densessm::Activation::none">:$activation
  );
  let results = (outs AnyRankedTensor:$y, AnyRankedTensor:$final_window);
  let assemblyFormat = [{
    $x `,` $weight
    (`bias` `(` $bias^ `)`)?
    (`window` `(` $window^ `)`)?
    attr-dict `:` type(operands) `->` type(results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// rms_norm
//===----------------------------------------------------------------------===//

def DenseSSM_RMSNormOp : DenseSSM_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMS normalisation over the last axis";
  let description = [{
    `result = weight ⊙ input / sqrt(mean(input²) + eps)` over the last axis,
    computed in f32 (MODELS.md). On a per-head tensor `[B, L, h, dv]` with a
    `[dv]` weight this is retention's group norm (one weight shared by the
    heads).

    ```mlir
    %y = densessm.rms_norm %x, %w {eps = 1.0e-05 : f32}
           : tensor<1x8x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       F32Attr:$eps);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// rotary
//===----------------------------------------------------------------------===//

def DenseSSM_RotaryOp : DenseSSM_Op<"rotary", [Pure, InferTypeOpAdaptor]> {
  let summary = "RetNet's rotary position rotation of interleaved channel pairs";
  let description = [{
    Rotates each channel pair `(2i, 2i+1)` of every head by the angle
    `p·θ_i`, where `p = position[b] + t` is the token's absolute position and
    `θ_i = base^(-i / (d/2 - 1))` for `i < d/2` (the DenseSSM authors'
    RetNet, MODELS.md §2):

    ```
    (a, b) -> (a·cos(pθ_i) - b·sin(pθ_i),  b·cos(pθ_i) + a·sin(pθ_i))
    ```

    `x` is `[B, L, h, d]` with `d` even and at least 4; `position` is `[B]`
    (i32 or i64), zeros when absent.

    ```mlir
    %qr = densessm.rotary %q position(%pos) {base = 1.0e+04 : f32}
            : tensor<1x8x2x16xf32>, tensor<1xi64>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$x,
    Optional<AnyRankedTensor>:$position,
    DefaultValuedAttr<F32Attr, "10000.0">:$base
  );
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $x (`position` `(` $position^ `)`)? attr-dict `:` type(operands)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

def DenseSSM_EmbeddingOp : DenseSSM_Op<"embedding", [Pure]> {
  let summary = "token embedding lookup";
  let description = [{
    `result[b, t, :] = table[tokens[b, t], :]`. `tokens` is `[B, L]` (i32 or
    i64), `table` is `[V, H]`; the result is `[B, L, H]` with the table's
    element type. A token id outside `[0, V)` is an error the runtime reports;
    constant token ids are checked here.

    ```mlir
    %h = densessm.embedding %table[%tokens]
           : tensor<256x64xf32>, tensor<1x8xi64> -> tensor<1x8x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$table, AnyRankedTensor:$tokens);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $table `[` $tokens `]` attr-dict `:` type($table) `,` type($tokens)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// scan (kernel level)
//===----------------------------------------------------------------------===//

def DenseSSM_ScanOp : DenseSSM_Op<"scan", [Pure, AttrSizedOperandSegments]> {
  let summary = "the kernel-level diagonal gated linear recurrence";
  let description = [{
    The one scan every model-level op lowers to (DESIGN.md, "The dialect, in
    two levels"), with its input computation and epilogue fused in as
    operands so that a lowering computes them in registers. Per batch entry
    `b` and head `h`, over the key index `i` and the value index `j`:

    ```
    δ_t[h]     = softplus?(dt_t[h] + dt_bias[h])
    β_t[h]     = input_scale_t[h] · (δ_t[h] if dt_scales_input)
    S_t[h,i,j] = exp(δ_t[h] · A[h,i]) · S_{t-1}[h,i,j] + β_t[h] · k_t[gk(h),i] · v_t[h,j]
    y_t[h,j]   = (Σ_i q_t[gq(h),i] · S_t[h,i,j] + skip[h] · v_t[h,j]) · SiLU(gate_t[h,j])
    ```

    A dense hidden connection (MODELS.md §4, the released form: identity
    projections, addition, RMSNorm) may be fused into the values, so that
    the connected tensor is never materialised: with `dense(select,
    select_weight, norm_weight, [kept...])` the values are, for channel
    `c = h·V + j`,

    ```
    f_t[c] = v_t[h,j] + SiLU(Σ_r select_weight[c,r] · select_t[r]) · Σ_i kept_i,t[h,j]
    v_t[h,j] ← f_t[c] · norm_weight[c] / sqrt(mean_c f_t[c]² + dense_eps)
    ```

    where `select` `[B, L, R]` is the gate's hidden layer
    `SiLU(fc1 · x)`, `select_weight` `[H·V, R]` its second layer and the
    kept tensors `[B, L, H, V]` the earlier layers' pre-fusion values
    (`--densessm-fuse-dense-connections` builds this form).

    Absent parts drop out: no `dt_bias` adds nothing, `softplus` applies
    only with `dt_softplus` (passing `x > 20` through, as PyTorch does), a
    missing `input_scale` is 1, a missing `skip` adds nothing and a missing
    `gate` multiplies by 1. The decay is per state element when `A` is
    `[H, K]` (Mamba) and per head when `A` is `[H]` (retention: `A = 1`
    and `dt` the log of the per-token decay). `q` and `k` may be grouped:
    head `h` reads group `g(h) = h / (H / G)`. `S_{-1}` is `initial_state`,
    or zeros. Accumulation and state are f32.

    | operand | shape | element type |
    | --- | --- | --- |
    | `q` | `[B, L, Gq, K]` | activation type `T` |
    | `k` | `[B, L, Gk, K]` | `T` |
    | `v`, `gate` | `[B, L, H, V]` | `T` |
    | `dt` | `[B, L, H]` | f32 or `T` |
    | `input_scale` | `[B, L, H]` | f32 |
    | `A` | `[H, K]` or `[H]` | f32 |
    | `dt_bias`, `skip` | `[H]` | f32 or `T` |
    | `initial_state` | `[B, H, K, V]` | f32 |

    Results: `y` `[B, L, H, V]` of type `T`, the final state
    `[B, H, K, V]` in f32.

    Mamba-1 maps `H = d_inner`, `K = N`, `V = 1`, `q = C`, `k = B`,
    `v = u`, `dt = Δ` with `dt_bias`, `dt_softplus` and `dt_scales_input`,
    `skip = D`, `gate = z`; retention maps heads to heads, with
    `input_scale = 1/sqrt(c_t)` and `dt = log(γ·sqrt(c_{t-1}/c_t))`.

    ```mlir
    %y, %s = densessm.scan %q, %k, %v, %dt, %A dt_bias(%bias) skip(%D)
               gate(%z) {dt_softplus, dt_scales_input}
             : tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x32x1xf32>,
               tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<32xf32>,
               tensor<32xf32>, tensor<1x8x32x1xf32>
             -> tensor<1x8x32x1xf32>, tensor<1x32x16x1xf32>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$q,
    AnyRankedTensor:$k,
    AnyRankedTensor:$v,
    AnyRankedTensor:$dt,
    AnyRankedTensor:$A,
    Optional<AnyRankedTensor>:$dt_bias,
    Optional<AnyRankedTensor>:$input_scale,
    Optional<AnyRankedTensor>:$skip,
    Optional<AnyRankedTensor>:$gate,
    Optional<AnyRankedTensor>:$initial_state,
    Optional<AnyRankedTensor>:$dense_select,
    Optional<AnyRankedTensor>:$dense_select_weight,
    Optional<AnyRankedTensor>:$dense_norm_weight,
    Variadic<AnyRankedTensor>:$dense_kept,
    UnitAttr:$dt_softplus,
    UnitAttr:$dt_scales_input,
    OptionalAttr<F32Attr>:$dense_eps
  );
  let results = (outs AnyRankedTensor:$y, AnyRankedTensor:$final_state);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $dt `,` $A
    (`dt_bias` `(` $dt_bias^ `)`)?
    (`input_scale` `(` $input_scale^ `)`)?
    (`skip` `(` $skip^ `)`)?
    (`gate` `(` $gate^ `)`)?
    (`initial_state` `(` $initial_state^ `)`)?
    (`dense` `(` $dense_select^ `,` $dense_select_weight `,` $dense_norm_weight
       `,` `[` $dense_kept `]` `)`)?
    attr-dict `:` type(operands) `->` type(results)
  }];
  let hasVerifier = 1;
  let builders = [
    // The scan with its five required operands; the optional parts are
    // assigned afterwards through their get*Mutable() accessors.
    OpBuilder<(ins "::mlir::Type":$y, "::mlir::Type":$finalState,
                   "::mlir::Value":$q, "::mlir::Value":$k, "::mlir::Value":$v,
                   "::mlir::Value":$dt, "::mlir::Value":$A), [{
      build($_builder, $_state, y, finalState, q, k, v, dt, A,
            /*dt_bias=*/nullptr, /*input_scale=*/nullptr, /*skip=*/nullptr,
            /*gate=*/nullptr, /*initial_state=*/nullptr,
            /*dense_select=*/nullptr, /*dense_select_weight=*/nullptr,
            /*dense_norm_weight=*/nullptr, /*dense_kept=*/::mlir::ValueRange(),
            /*dt_softplus=*/false, /*dt_scales_input=*/false,
            /*dense_eps=*/nullptr);
    }]>
  ];
  let extraClassDeclaration = [{
    /// Whether the decay is per state element (`A` is [H, K]) rather than
    /// per head (`A` is [H]).
    bool hasElementwiseDecay() { return getA().getType().getRank() == 2; }
    /// Whether a dense hidden connection is fused into the values.
    bool hasDenseInput() { return static_cast<bool>(getDenseNormWeight()); }
  }];
}

#endif // DENSESSM_OPS_TD
