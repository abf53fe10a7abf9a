//===- MambaBuilder.cpp - Mamba-1 and DenseMamba entry points -------------===//
//
// One entry point of a Mamba-1 (MODELS.md §1) or DenseMamba (§3) model:
// embeddings, n layers of norm, in_proj, causal conv + SiLU, (the dense
// connection of the scan input u), x_proj, dt_proj, the selective scan and
// out_proj with a residual, then the head. Every layer carries its conv
// window and scan state in and out.
//
//===----------------------------------------------------------------------===//

#include "ModelEmitter.h"

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::frontend;

void mlir::densessm::frontend::emitMambaFunction(ModelEmitter &e) {
  const ModelConfig &c = e.config();
  OpBuilder &b = e.builder();
  const int64_t hiddenSize = c.hiddenSize, inner = c.dInner(),
                state = c.stateSize, kernel = c.convKernel,
                rank = c.timeStepRank, m = c.denseBlockLayers;
  // The checkpoint tensors' dimensions, named as errors name them.
  const Dim vocabDim{c.vocabSize, "vocab_size"},
      hiddenDim{hiddenSize, "hidden_size"}, innerDim{inner, "d_inner"},
      innerPairDim{2 * inner, "2*d_inner"}, stateDim{state, "state_size"},
      kernelDim{kernel, "conv_kernel"}, rankDim{rank, "time_step_rank"},
      dbcDim{rank + 2 * state, "time_step_rank+2*state_size"},
      selectDim{hiddenSize / 32, "hidden_size/32"};

  llvm::SmallVector<Value> windows, states;
  for (int64_t l = 0; l < c.numLayers; ++l) {
    windows.push_back(e.addState("layers." + llvm::Twine(l) + ".conv_window",
                                 {inner, kernel - 1}));
    states.push_back(
        e.addState("layers." + llvm::Twine(l) + ".ssm_state", {inner, state}));
  }

  Value h = e.embedding(
      e.weight("backbone.embeddings.weight", {vocabDim, hiddenDim}));
  KeptTensors keptU;
  llvm::SmallVector<Value> finalStates;
  for (int64_t l = 0; l < c.numLayers; ++l) {
    std::string layer = ("backbone.layers." + llvm::Twine(l)).str();
    std::string mixer = layer + ".mixer.";
    e.setScope(layer);
    Value x = e.rmsNorm(h, e.weight(layer + ".norm.weight", {hiddenDim}));
    Value xz = e.linear(
        x, e.weight(mixer + "in_proj.weight", {innerPairDim, hiddenDim}));
    Value xs = e.sliceLast(xz, 0, inner);
    Value z = e.sliceLast(xz, inner, inner);

    // The checkpoint's depthwise conv weight [d_inner, 1, K] as [d_inner, K].
    Value convWeight = tensor::CollapseShapeOp::create(
        b, e.loc(),
        e.weight(mixer + "conv1d.weight", {innerDim, {1, "1"}, kernelDim}),
        {{0, 1}, {2}});
    Value convBias =
        c.useConvBias ? e.weight(mixer + "conv1d.bias", {innerDim}) : Value();
    auto conv = CausalConv1dOp::create(b, e.loc(), e.activationType({inner}),
                                       e.batchedType({inner, kernel - 1}), xs,
                                       convWeight, convBias, windows[l],
                                       Activation::silu);
    Value u = conv.getY();

    if (m > 0) {
      // DenseMamba: the scan input u is the densely connected hidden state;
      // the pre-fusion u is what later layers read.
      llvm::SmallVector<Value> earlier = keptU.lastFirst(m);
      keptU.keep(u);
      if (!earlier.empty()) {
        Value fc1 =
            e.weight(mixer + "u_select.fc1.weight", {selectDim, hiddenDim});
        Value fc2 =
            e.weight(mixer + "u_select.fc2.weight", {innerDim, selectDim});
        u = e.denseConnect(u, earlier, {{x, fc1, fc2}},
                           e.weight(mixer + "u_norm.weight", {innerDim}));
      } else { // layer 0 holds the tensors too (MODELS.md §3), unused
        for (const char *part : {"u_select.fc1.weight", "u_select.fc2.weight",
                                 "u_norm.weight"})
          e.ignoreWeight(mixer + part);
      }
    }

    Value dbc =
        e.linear(u, e.weight(mixer + "x_proj.weight", {dbcDim, innerDim}));
    Value deltaLowRank = e.sliceLast(dbc, 0, rank);
    Value bt = e.sliceLast(dbc, rank, state);
    Value ct = e.sliceLast(dbc, rank + state, state);
    Value delta = e.linear(
        deltaLowRank, e.weight(mixer + "dt_proj.weight", {innerDim, rankDim}));
    Value deltaBias = e.weight(mixer + "dt_proj.bias", {innerDim});
    // A = -exp(A_log).
    Value a = arith::NegFOp::create(
        b, e.loc(),
        math::ExpOp::create(b, e.loc(),
                            e.weight(mixer + "A_log", {innerDim, stateDim})));
    Value skip = e.weight(mixer + "D", {innerDim});
    auto scan = SelectiveScanOp::create(
        b, e.loc(), e.activationType({inner}), e.batchedType({inner, state}), u,
        delta, a, bt, ct, skip, z, deltaBias, states[l],
        /*delta_softplus=*/true);

    finalStates.push_back(conv.getFinalWindow());
    finalStates.push_back(scan.getFinalState());
    h = e.add(h, e.linear(scan.getY(), e.weight(mixer + "out_proj.weight",
                                                {hiddenDim, innerDim})));
  }
  e.finish(e.head(h, "backbone.norm_f.weight", "backbone.embeddings.weight"),
           finalStates);
}
