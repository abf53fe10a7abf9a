//===- RetNetBuilder.cpp - RetNet (GAU) and DenseRetNet entry points ------===//
//
// One entry point of the DenseSSM authors' GAU retention model (MODELS.md
// §2), RetNet with dense_block_layers = 0 or DenseRetNet: embeddings, n
// layers of norm, q/k/v+gate projections, (the dense connections of k and
// v), rotary positions, retention, the per-head group norm, the gate and
// to_out with a residual, then the head. Every layer carries its retention
// state in and out, at each sequence's position.
//
//===----------------------------------------------------------------------===//

#include "ModelEmitter.h"

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cmath>

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::frontend;

/// The per-head decay γ_j = 1 - 2^(-5-j).
static Value decayConstant(ModelEmitter &e, int64_t heads) {
  llvm::SmallVector<float> gammas;
  for (int64_t j = 0; j < heads; ++j)
    gammas.push_back(static_cast<float>(1.0 - std::exp2(-5.0 - j)));
  auto type = RankedTensorType::get({heads}, e.builder().getF32Type());
  return arith::ConstantOp::create(
      e.builder(), e.loc(),
      DenseElementsAttr::get(type, llvm::ArrayRef<float>(gammas)));
}

void mlir::densessm::frontend::emitRetNetFunction(ModelEmitter &e) {
  const ModelConfig &c = e.config();
  OpBuilder &b = e.builder();
  const int64_t hiddenSize = c.hiddenSize, heads = c.numHeads,
                valueSize = c.valueDim(), dk = c.keyHeadDim(),
                dv = c.valueHeadDim(), m = c.denseBlockLayers;
  // The checkpoint tensors' dimensions, named as errors name them.
  const Dim vocabDim{c.vocabSize, "vocab_size"},
      hiddenDim{hiddenSize, "hidden_size"},
      queryKeyDim{c.queryKeyDim, "query_key_dim"},
      valueDim{valueSize, "v_factor*hidden_size"},
      valueGateDim{2 * valueSize, "2*v_factor*hidden_size"},
      headValueDim{dv, "v_factor*hidden_size/num_attention_heads"},
      selectDim{hiddenSize / 32, "hidden_size/32"};

  Value position = e.addPosition();
  llvm::SmallVector<Value> states;
  for (int64_t l = 0; l < c.numLayers; ++l)
    states.push_back(e.addState("layers." + llvm::Twine(l) + ".retention_state",
                                {heads, dk, dv}));

  Value h =
      e.embedding(e.weight("model.embed_tokens.weight", {vocabDim, hiddenDim}));
  Value decay = decayConstant(e, heads);
  KeptTensors keptK, keptV;
  llvm::SmallVector<Value> finalStates;
  for (int64_t l = 0; l < c.numLayers; ++l) {
    std::string layer = ("model.layers." + llvm::Twine(l)).str();
    std::string attn = layer + ".self_attn.";
    e.setScope(layer);
    Value x =
        e.rmsNorm(h, e.weight(layer + ".input_layernorm.weight", {hiddenDim}));
    Value q = e.silu(e.linear(
        x, e.weight(attn + "q_proj.weight", {queryKeyDim, hiddenDim})));
    Value kSilu = e.silu(e.linear(
        x, e.weight(attn + "k_proj.weight", {queryKeyDim, hiddenDim})));
    Value k = e.mul(kSilu, e.splat(1.0 / std::sqrt(double(dk)), kSilu));
    Value vg = e.silu(e.linear(
        x, e.weight(attn + "to_hidden.0.weight", {valueGateDim, hiddenDim})));
    Value v = e.sliceLast(vg, 0, valueSize);
    Value g = e.sliceLast(vg, valueSize, valueSize);

    // Layers l >= 1 fuse the pre-fusion k and v of up to m earlier layers
    // and always apply k_norm and v_norm, even with nothing to fuse (RetNet,
    // m = 0), as the authors' code does. Layer 0's checkpoint also holds
    // these tensors; it reads none of them.
    llvm::SmallVector<Value> earlierK = keptK.lastFirst(m);
    llvm::SmallVector<Value> earlierV = keptV.lastFirst(m);
    keptK.keep(k);
    keptV.keep(v);
    if (l >= 1) {
      auto connect = [&](Value current, llvm::ArrayRef<Value> earlier,
                         llvm::StringRef name, Dim channels) {
        std::string prefix = attn + name.str();
        std::optional<std::array<Value, 3>> gate;
        if (!earlier.empty())
          gate = {
              x,
              e.weight(prefix + "_select.fc1.weight", {selectDim, hiddenDim}),
              e.weight(prefix + "_select.fc2.weight", {channels, selectDim})};
        else // RetNet: nothing to fuse, the gate's tensors are unused
          for (const char *part : {"_select.fc1.weight", "_select.fc2.weight"})
            e.ignoreWeight(prefix + part);
        return e.denseConnect(current, earlier, gate,
                              e.weight(prefix + "_norm.weight", {channels}));
      };
      k = connect(k, earlierK, "k", queryKeyDim);
      v = connect(v, earlierV, "v", valueDim);
    } else {
      for (const char *part : {"k_select.fc1.weight", "k_select.fc2.weight",
                               "v_select.fc1.weight", "v_select.fc2.weight",
                               "k_norm.weight", "v_norm.weight"})
        e.ignoreWeight(attn + part);
    }

    Value qRot = RotaryOp::create(b, e.loc(), e.splitHeads(q, heads), position,
                                  b.getF32FloatAttr(10000.0f));
    Value kRot = RotaryOp::create(b, e.loc(), e.splitHeads(k, heads), position,
                                  b.getF32FloatAttr(10000.0f));
    auto retention = RetentionOp::create(
        b, e.loc(), e.activationType({heads, dv}),
        e.batchedType({heads, dk, dv}), qRot, kRot, e.splitHeads(v, heads),
        decay, position, states[l], RetentionNormalization::authors);
    finalStates.push_back(retention.getFinalState());

    Value normed = e.rmsNorm(
        retention.getO(), e.weight(attn + "group_norm.weight", {headValueDim}));
    Value gated = e.mul(e.mergeHeads(normed), g);
    h = e.add(h, e.linear(gated, e.weight(attn + "to_out.0.weight",
                                          {hiddenDim, valueDim})));
  }
  e.finish(e.head(h, "model.norm.weight", "model.embed_tokens.weight"),
           finalStates);
}
