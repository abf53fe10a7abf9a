//===- DenseSSMBase.td - the densessm dialect --------------*- tablegen -*-===//
//
// The dialect definition shared by the attribute and op files.
//
//===----------------------------------------------------------------------===//

#ifndef DENSESSM_BASE_TD
#define DENSESSM_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def DenseSSM_Dialect : Dialect {
  let name = "densessm";
  let cppNamespace = "::mlir::densessm";
  let summary = "State space language models with dense hidden connections.";
  let description = [{
    The `densessm` dialect models the building blocks of state space language
    models — Mamba-1's selective scan, RetNet's multi-scale retention, and the
    dense hidden connections of DenseSSM (DenseMamba, DenseRetNet) — as ops on
    ranked tensors, one op per concept a model author recognises.

    Conventions every op follows:

    * Activations are token-major, `[batch, length, channels]` (or
      `[batch, length, heads, head_dim]` for per-head tensors), with element
      type `f32`, `f16` or `bf16`.
    * Weights keep the layout the checkpoint stores (`[out, in]`); parameter
      vectors (norm weights, `D`, biases) are `f32` or the activation type.
    * Recurrent state is always `f32` and is a value: a scan takes its initial
      state as an (optional) operand and returns its final state, so prefill
      hands its state to decode, and a caller can save, restore or roll it
      back. An absent initial state means zeros.
    * The ops are schedule-agnostic: the same op over `length = 1` with a
      state in is a decoding step. A function may carry
      `densessm.schedule = #densessm.schedule<recurrent>` (or `<parallel>`)
      to fix how its scans are lowered; the dialect verifies that a
      recurrent function only scans one token at a time.
    * A function argument that carries a weight may say which checkpoint
      tensor it binds to: `%w: tensor<64x32xf32> {densessm.weight =
      "backbone.layers.0.mixer.out_proj.weight"}`.
    * A model's entry points (`@prefill`, `@step`) say what each of their
      other arguments and results is, for the runtime that calls them:
      `{densessm.input = "tokens"}` (`[B, L]` token ids) or
      `{densessm.input = "position"}` (`[B]`, each sequence's first
      position) on an argument, `{densessm.output = "logits"}` on a result,
      and `{densessm.state = "layers.0.ssm_state"}` on a recurrent state
      argument and on the result that returns its final value.
    * The declaration of a runtime function that compiled code calls may
      list the memref arguments it writes:
      `func.func private @densessm_cuda_linear_f32(...) attributes
      {densessm.written_arguments = array<i64: 0>}`. It then writes no
      other memory its callers can see, and the passes that move or fold
      ops across its calls rely on that.

    Projections and elementwise math stay in upstream dialects
    (`linalg.contract`, `arith`, `math`, `tensor`).
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let extraClassDeclaration = [{
    /// The discardable function attribute that fixes a function's schedule.
    static constexpr ::llvm::StringLiteral getScheduleAttrName() {
      return ::llvm::StringLiteral("densessm.schedule");
    }
    /// The function argument attribute naming the checkpoint tensor that an
    /// argument binds to (for example "backbone.layers.0.mixer.A_log").
    static constexpr ::llvm::StringLiteral getWeightAttrName() {
      return ::llvm::StringLiteral("densessm.weight");
    }
    /// The function argument attribute naming a model input other than a
    /// weight or state: "tokens" or "position".
    static constexpr ::llvm::StringLiteral getInputAttrName() {
      return ::llvm::StringLiteral("densessm.input");
    }
    /// The function argument and result attribute naming a recurrent state
    /// (for example "layers.0.ssm_state"): the argument takes its value in,
    /// the result with the same name hands its final value back.
    static constexpr ::llvm::StringLiteral getStateAttrName() {
      return ::llvm::StringLiteral("densessm.state");
    }
    /// The function result attribute naming a model output: "logits".
    static constexpr ::llvm::StringLiteral getOutputAttrName() {
      return ::llvm::StringLiteral("densessm.output");
    }
    /// The attribute of a runtime function's declaration listing the
    /// positions of the memref arguments it writes (all it writes).
    static constexpr ::llvm::StringLiteral getWrittenArgumentsAttrName() {
      return ::llvm::StringLiteral("densessm.written_arguments");
    }
    /// The module attribute recording the kernel modules that
    /// --densessm-wait-for-preceding-kernels split by chip, for
    /// --densessm-merge-kernel-binaries: {copy = {module = "original",
    /// chips = ["sm_80", "sm_90"]}}.
    static constexpr ::llvm::StringLiteral getSplitKernelModulesAttrName() {
      return ::llvm::StringLiteral("densessm.split_kernel_modules");
    }
  private:
    void registerAttributes();
  public:
  }];
}

class DenseSSM_Op<string mnemonic, list<Trait> traits = []>
    : Op<DenseSSM_Dialect, mnemonic, traits>;

#endif // DENSESSM_BASE_TD
