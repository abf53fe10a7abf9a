//===- ModelEmitter.cpp - one model entry point under construction --------===//

#include "ModelEmitter.h"

#include "densessm/Dialect/DenseSSM/IR/DenseSSMAttrs.h"
#include "densessm/Dialect/DenseSSM/IR/DenseSSMDialect.h"
#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::frontend;

llvm::SmallVector<Value> KeptTensors::lastFirst(int64_t m) const {
  size_t first = values.size() > static_cast<size_t>(m) ? values.size() - m : 0;
  return llvm::to_vector(
      llvm::reverse(llvm::ArrayRef<Value>(values).drop_front(first)));
}

/// "[64, 8]".
static std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  return "[" +
         llvm::join(llvm::map_range(
                        shape, [](int64_t d) { return std::to_string(d); }),
                    ", ") +
         "]";
}

ModelEmitter::ModelEmitter(ModuleOp module, const ModelConfig &config,
                           const TensorShapes &shapes, llvm::StringRef source,
                           EntryPoint entry)
    : modelConfig(config), shapes(shapes), source(source.str()), entry(entry),
      b(module.getContext()),
      location(NameLoc::get(b.getStringAttr("embedding"))) {
  b.setInsertionPointToEnd(module.getBody());
  function = func::FuncOp::create(b, NameLoc::get(b.getStringAttr(source)),
                                  isStep() ? "step" : "prefill",
                                  b.getFunctionType({}, {}));
  body = function.addEntryBlock();
  b.setInsertionPointToStart(body);
  auto tokensType = RankedTensorType::get(
      {ShapedType::kDynamic, isStep() ? 1 : ShapedType::kDynamic},
      b.getI64Type());
  tokensArg = addArgument(tokensType,
                          b.getNamedAttr(DenseSSMDialect::getInputAttrName(),
                                         b.getStringAttr("tokens")));
  // Every dynamic size in the function is one of these two values.
  batch = tensor::DimOp::create(b, location, tokensArg, 0);
  if (!isStep())
    length = tensor::DimOp::create(b, location, tokensArg, 1);
}

//===----------------------------------------------------------------------===//
// Signature
//===----------------------------------------------------------------------===//

Value ModelEmitter::addArgument(Type type, NamedAttribute attr) {
  argAttrs.push_back(attr);
  return body->addArgument(type, function.getLoc());
}

Value ModelEmitter::addPosition() {
  assert(weights.empty() && stateNames.empty() &&
         "the position comes before the states and weights");
  return addArgument(
      RankedTensorType::get({ShapedType::kDynamic}, b.getI64Type()),
      b.getNamedAttr(DenseSSMDialect::getInputAttrName(),
                     b.getStringAttr("position")));
}

Value ModelEmitter::addState(const llvm::Twine &name,
                             llvm::ArrayRef<int64_t> trailing) {
  assert(weights.empty() && "the states come before the weights");
  StringAttr nameAttr = b.getStringAttr(name);
  stateNames.push_back(nameAttr);
  return addArgument(
      batchedType(trailing),
      b.getNamedAttr(DenseSSMDialect::getStateAttrName(), nameAttr));
}

Value ModelEmitter::weight(const llvm::Twine &tensor,
                           llvm::ArrayRef<Dim> shape) {
  std::string name = tensor.str();
  llvm::SmallVector<int64_t> expected =
      llvm::map_to_vector(shape, [](const Dim &d) { return d.size; });
  auto type = RankedTensorType::get(expected, b.getF32Type());
  if (Value known = weights.lookup(name)) {
    assert(known.getType() == type && "one tensor read with two shapes");
    return known;
  }

  std::string dimNames = llvm::join(
      llvm::map_range(shape, [](const Dim &d) { return d.name; }), ", ");
  std::optional<std::string> problem;
  auto found = shapes.find(name);
  if (found == shapes.end())
    problem = llvm::formatv("missing tensor '{0}', expected shape {1} ({2})",
                            name, formatShape(expected), dimNames)
                  .str();
  else if (llvm::ArrayRef<int64_t>(found->second) != llvm::ArrayRef(expected))
    problem = llvm::formatv("tensor '{0}' has shape {1}, expected {2} ({3})",
                            name, formatShape(found->second),
                            formatShape(expected), dimNames)
                  .str();
  if (problem && !firstError)
    firstError = std::move(problem);
  else if (problem)
    ++otherErrors;

  Value arg =
      addArgument(type, b.getNamedAttr(DenseSSMDialect::getWeightAttrName(),
                                       b.getStringAttr(name)));
  weights[name] = arg;
  return arg;
}

void ModelEmitter::finish(Value logits, llvm::ArrayRef<Value> finalStates) {
  assert(finalStates.size() == stateNames.size() &&
         "one final state per state argument");
  llvm::SmallVector<Value> results{logits};
  llvm::append_range(results, finalStates);
  func::ReturnOp::create(b, location, results);

  function.setFunctionType(b.getFunctionType(body->getArgumentTypes(),
                                             ValueRange(results).getTypes()));
  for (auto [i, attr] : llvm::enumerate(argAttrs))
    function.setArgAttrs(i, b.getDictionaryAttr(attr));
  function.setResultAttrs(
      0, b.getDictionaryAttr(b.getNamedAttr(
             DenseSSMDialect::getOutputAttrName(), b.getStringAttr("logits"))));
  for (auto [i, name] : llvm::enumerate(stateNames))
    function.setResultAttrs(
        1 + i, b.getDictionaryAttr(
                   b.getNamedAttr(DenseSSMDialect::getStateAttrName(), name)));
  function->setAttr(
      DenseSSMDialect::getScheduleAttrName(),
      ScheduleAttr::get(b.getContext(),
                        isStep() ? Schedule::recurrent : Schedule::parallel));
}

llvm::Error ModelEmitter::takeError() {
  if (!firstError)
    return llvm::Error::success();
  std::string message = source + ": " + *firstError;
  if (otherErrors)
    message += llvm::formatv(" (and {0} more tensor{1} missing or of another "
                             "shape)",
                             otherErrors, otherErrors == 1 ? "" : "s")
                   .str();
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

void ModelEmitter::setScope(const llvm::Twine &name) {
  location = NameLoc::get(b.getStringAttr(name));
}

//===----------------------------------------------------------------------===//
// Types and sizes
//===----------------------------------------------------------------------===//

RankedTensorType
ModelEmitter::activationType(llvm::ArrayRef<int64_t> trailing) const {
  llvm::SmallVector<int64_t> shape{ShapedType::kDynamic,
                                   isStep() ? 1 : ShapedType::kDynamic};
  llvm::append_range(shape, trailing);
  return RankedTensorType::get(shape, Float32Type::get(b.getContext()));
}

RankedTensorType
ModelEmitter::batchedType(llvm::ArrayRef<int64_t> trailing) const {
  llvm::SmallVector<int64_t> shape{ShapedType::kDynamic};
  llvm::append_range(shape, trailing);
  return RankedTensorType::get(shape, Float32Type::get(b.getContext()));
}

llvm::SmallVector<OpFoldResult>
ModelEmitter::activationSizes(RankedTensorType type) {
  llvm::SmallVector<OpFoldResult> sizes;
  for (auto [i, size] : llvm::enumerate(type.getShape())) {
    if (!ShapedType::isDynamic(size)) {
      sizes.push_back(b.getIndexAttr(size));
      continue;
    }
    assert((i == 0 || (i == 1 && length)) &&
           "only the batch and the length are dynamic");
    sizes.push_back(i == 0 ? batch : length);
  }
  return sizes;
}

Value ModelEmitter::empty(RankedTensorType type) {
  return tensor::EmptyOp::create(b, location, activationSizes(type),
                                 type.getElementType());
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

Value ModelEmitter::embedding(Value table) {
  int64_t hidden = cast<RankedTensorType>(table.getType()).getDimSize(1);
  return EmbeddingOp::create(b, location, activationType({hidden}), table,
                             tokensArg);
}

Value ModelEmitter::rmsNorm(Value x, Value weight) {
  return RMSNormOp::create(b, location, x, weight,
                           b.getF32FloatAttr(modelConfig.eps));
}

Value ModelEmitter::linear(Value x, Value w) {
  auto wType = cast<RankedTensorType>(w.getType());
  assert(cast<RankedTensorType>(x.getType()).getRank() == 3 &&
         wType.getRank() == 2 &&
         cast<RankedTensorType>(x.getType()).getDimSize(2) ==
             wType.getDimSize(1) &&
         "x [B, L, in], w [out, in]");
  RankedTensorType outType = activationType({wType.getDimSize(0)});
  if (!zero)
    zero = arith::ConstantOp::create(b, location, b.getF32FloatAttr(0.0f));
  Value init = linalg::FillOp::create(b, location, ValueRange{zero},
                                      ValueRange{empty(outType)})
                   .getResult(0);
  // (b, l, o, i): y[b, l, o] += x[b, l, i] * w[o, i].
  AffineExpr batchDim, lengthDim, outDim, inDim;
  bindDims(b.getContext(), batchDim, lengthDim, outDim, inDim);
  auto map = [&](llvm::ArrayRef<AffineExpr> exprs) {
    return AffineMap::get(4, 0, exprs, b.getContext());
  };
  ArrayAttr maps = b.getAffineMapArrayAttr(
      {map({batchDim, lengthDim, inDim}), map({outDim, inDim}),
       map({batchDim, lengthDim, outDim})});
  return linalg::ContractOp::create(b, location, TypeRange{outType},
                                    ValueRange{x, w}, ValueRange{init}, maps)
      .getResult(0);
}

Value ModelEmitter::silu(Value x) {
  Value negExp =
      math::ExpOp::create(b, location, arith::NegFOp::create(b, location, x));
  return arith::DivFOp::create(b, location, x, add(negExp, splat(1.0, x)));
}

Value ModelEmitter::add(Value lhs, Value rhs) {
  return arith::AddFOp::create(b, location, lhs, rhs);
}

Value ModelEmitter::mul(Value lhs, Value rhs) {
  return arith::MulFOp::create(b, location, lhs, rhs);
}

Value ModelEmitter::splat(double value, Value like) {
  // A dense constant cannot have dynamic sizes, so a splat is a fill; one
  // per (value, type), as the same sizes always come from the same values.
  auto type = cast<RankedTensorType>(like.getType());
  float single = static_cast<float>(value);
  std::pair<Type, uint64_t> key{type, llvm::bit_cast<uint32_t>(single)};
  if (Value known = splats.lookup(key))
    return known;
  Value scalar =
      arith::ConstantOp::create(b, location, b.getF32FloatAttr(single));
  Value filled = linalg::FillOp::create(b, location, ValueRange{scalar},
                                        ValueRange{empty(type)})
                     .getResult(0);
  splats[key] = filled;
  return filled;
}

Value ModelEmitter::sliceLast(Value x, int64_t offset, int64_t size) {
  auto type = cast<RankedTensorType>(x.getType());
  llvm::SmallVector<int64_t> shape(type.getShape());
  shape.back() = size;
  auto sliceType = RankedTensorType::get(shape, type.getElementType());
  llvm::SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  offsets.back() = b.getIndexAttr(offset);
  llvm::SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, location, sliceType, x, offsets,
                                        activationSizes(sliceType), strides);
}

Value ModelEmitter::splitHeads(Value x, int64_t heads) {
  int64_t channels = cast<RankedTensorType>(x.getType()).getDimSize(2);
  assert(channels % heads == 0 && "heads divide the channels");
  RankedTensorType type = activationType({heads, channels / heads});
  return tensor::ExpandShapeOp::create(b, location, type, x, {{0}, {1}, {2, 3}},
                                       activationSizes(type));
}

Value ModelEmitter::mergeHeads(Value x) {
  return tensor::CollapseShapeOp::create(b, location, x, {{0}, {1}, {2, 3}});
}

Value ModelEmitter::denseConnect(Value current, llvm::ArrayRef<Value> kept,
                                 std::optional<std::array<Value, 3>> gate,
                                 Value normWeight) {
  Value input, fc1, fc2;
  if (gate) {
    input = (*gate)[0];
    fc1 = (*gate)[1];
    fc2 = (*gate)[2];
  }
  return DenseConnectOp::create(
      b, location, current, kept, input, fc1, fc2, /*proj_weights=*/{},
      /*fuse_weight=*/Value(), normWeight, Projection::identity, Fusion::add,
      Norm::rms, llvm::APFloat(static_cast<float>(modelConfig.eps)));
}

Value ModelEmitter::head(Value h, llvm::StringRef normTensor,
                         llvm::StringRef embedTensor) {
  setScope("head");
  const ModelConfig &c = modelConfig;
  Dim vocab{c.vocabSize, "vocab_size"}, hidden{c.hiddenSize, "hidden_size"};
  Value normed = rmsNorm(h, weight(normTensor, {hidden}));
  // Tied, the head is the embedding table itself (one argument, read
  // twice); Hugging Face discards a stored lm_head.weight then too.
  Value table = weight(c.tieWordEmbeddings ? embedTensor : "lm_head.weight",
                       {vocab, hidden});
  return linear(normed, table);
}
