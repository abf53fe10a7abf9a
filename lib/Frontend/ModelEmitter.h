//===- ModelEmitter.h - a model entry point being built ---------*- C++ -*-===//
//
// What the Mamba and RetNet builders share: one entry point (@prefill or
// @step) of a model module being built, with the calling convention of
// ModelBuilder.h (tokens, position, states, then the weights in the order the
// model first reads them), the checkpoint tensors checked against the shapes
// MODELS.md gives as they are read, and the ops every family uses on
// activations [B, L, C] whose batch (and, in prefill, length) are dynamic.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_FRONTEND_MODELEMITTER_H
#define DENSESSM_LIB_FRONTEND_MODELEMITTER_H

#include "densessm/Frontend/ModelBuilder.h"
#include "densessm/Frontend/ModelConfig.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <array>
#include <optional>
#include <string>

namespace mlir::densessm::frontend {

/// The two entry points of a model module.
enum class EntryPoint { Prefill, Step };

/// One dimension of an expected checkpoint tensor: its size and the
/// configuration quantity it is, which errors name
/// ("expected [64, 8] (d_inner, state_size)").
struct Dim {
  int64_t size;
  llvm::StringRef name;
};

/// The kept (pre-fusion) tensors of the layers so far, which a dense hidden
/// connection reads (MODELS.md §4).
class KeptTensors {
public:
  void keep(Value value) { values.push_back(value); }
  /// The kept tensors of the `m` previous layers that exist, the most recent
  /// first (layer l-1, l-2, ...).
  llvm::SmallVector<Value> lastFirst(int64_t m) const;

private:
  llvm::SmallVector<Value> values;
};

class ModelEmitter {
public:
  /// Opens `entry` (a func.func at the end of `module`) and its tokens
  /// argument.
  ModelEmitter(ModuleOp module, const ModelConfig &config,
               const TensorShapes &shapes, llvm::StringRef source,
               EntryPoint entry);

  const ModelConfig &config() const { return modelConfig; }
  bool isStep() const { return entry == EntryPoint::Step; }

  //===--------------------------------------------------------------------===//
  // Signature, in calling-convention order: position, then the states, then
  // the weights (position and states must be added before any weight).
  //===--------------------------------------------------------------------===//

  /// The tokens argument, [B, L] (L = 1 in step).
  Value tokens() const { return tokensArg; }
  /// Adds the position argument, [B] i64: each sequence's first position.
  Value addPosition();
  /// Adds a recurrent state argument [B, trailing...] (f32) named `name`.
  Value addState(const llvm::Twine &name, llvm::ArrayRef<int64_t> trailing);
  /// The argument bound to checkpoint tensor `tensor`, added on first use.
  /// When the checkpoint lacks the tensor or holds it with another shape,
  /// the first such problem is recorded (see takeError) and a placeholder of
  /// the expected shape is returned, so that building can go on.
  Value weight(const llvm::Twine &tensor, llvm::ArrayRef<Dim> shape);
  /// Ends the function: returns the logits and the final states, in the
  /// order of the state arguments.
  void finish(Value logits, llvm::ArrayRef<Value> finalStates);
  /// The first problem with the checkpoint's tensors, or success.
  llvm::Error takeError();
  /// Records a tensor that the family's checkpoints hold but the model does
  /// not read (MODELS.md names them), so that it does not count as extra.
  void ignoreWeight(const llvm::Twine &tensor) { ignored.insert(tensor.str()); }
  /// Whether the checkpoint tensor `name` is read or knowingly ignored.
  bool knowsWeight(llvm::StringRef name) const {
    return weights.count(name) || ignored.count(name);
  }

  /// Names the part of the model (for example "backbone.layers.3") that the
  /// ops built from now on belong to: their location.
  void setScope(const llvm::Twine &name);

  //===--------------------------------------------------------------------===//
  // Types and ops. Activations are f32 [B, L, ...]; the batch and, in
  // prefill, the length are dynamic and come from the tokens' sizes.
  //===--------------------------------------------------------------------===//

  OpBuilder &builder() { return b; }
  Location loc() const { return location; }

  /// f32 [B, L, trailing...].
  RankedTensorType activationType(llvm::ArrayRef<int64_t> trailing) const;
  /// f32 [B, trailing...] (a state).
  RankedTensorType batchedType(llvm::ArrayRef<int64_t> trailing) const;

  /// densessm.embedding of the tokens in `table` [V, H]: [B, L, H].
  Value embedding(Value table);
  /// densessm.rms_norm over the last axis.
  Value rmsNorm(Value x, Value weight);
  /// x [B, L, in] times w [out, in] (checkpoint layout): a linalg.contract
  /// with the weight as operand 1 and a zero-filled [B, L, out] init, the
  /// form a later pass maps to a GEMM call.
  Value linear(Value x, Value w);
  /// SiLU(x) = x / (1 + exp(-x)), elementwise on the tensor.
  Value silu(Value x);
  Value add(Value a, Value b);
  Value mul(Value a, Value b);
  /// A tensor shaped like the activation `like`, every element `value`.
  Value splat(double value, Value like);
  /// Channels [offset, offset + size) of the last axis of x [B, L, C].
  Value sliceLast(Value x, int64_t offset, int64_t size);
  /// [B, L, heads * d] -> [B, L, heads, d], and back.
  Value splitHeads(Value x, int64_t heads);
  Value mergeHeads(Value x);
  /// densessm.dense_connect of `current` with the `kept` tensors of earlier
  /// layers, gated by SiLU(fc2 SiLU(fc1 x)) when `gate` holds (x, fc1, fc2),
  /// then RMSNorm with `normWeight`.
  Value denseConnect(Value current, llvm::ArrayRef<Value> kept,
                     std::optional<std::array<Value, 3>> gate,
                     Value normWeight);
  /// The final norm and the language-model head: logits [B, L, V]. The head
  /// reads the embedding table when the configuration ties them.
  Value head(Value h, llvm::StringRef normTensor, llvm::StringRef embedTensor);

private:
  /// A tensor.empty of `type`, whose dynamic sizes are the batch and length.
  Value empty(RankedTensorType type);
  llvm::SmallVector<OpFoldResult> activationSizes(RankedTensorType type);
  Value addArgument(Type type, NamedAttribute attr);

  const ModelConfig &modelConfig;
  const TensorShapes &shapes;
  std::string source;
  EntryPoint entry;
  OpBuilder b;
  Location location;
  func::FuncOp function;
  Block *body;
  llvm::SmallVector<NamedAttribute> argAttrs; // one per argument
  llvm::SmallVector<StringAttr> stateNames;
  llvm::StringMap<Value> weights;
  llvm::StringSet<> ignored;
  Value tokensArg, batch, length; // length: null in step (static 1)
  Value zero;
  llvm::DenseMap<std::pair<Type, uint64_t>, Value> splats;
  std::optional<std::string> firstError;
  unsigned otherErrors = 0;
};

/// Emits the body of one entry point for each family (MODELS.md §1 and §3;
/// §2).
void emitMambaFunction(ModelEmitter &emitter);
void emitRetNetFunction(ModelEmitter &emitter);

} // namespace mlir::densessm::frontend

#endif // DENSESSM_LIB_FRONTEND_MODELEMITTER_H
