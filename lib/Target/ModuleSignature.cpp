//===- ModuleSignature.cpp - read the entry points' calling convention ----===//

#include "densessm/Target/ModuleSignature.h"

#include "densessm/Support/Error.h"
#include "densessm/Dialect/DenseSSM/IR/DenseSSMAttrs.h"
#include "densessm/Dialect/DenseSSM/IR/DenseSSMDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>

using namespace mlir;
using namespace mlir::densessm;


namespace {

/// How the module file records a tensor of element type `element` (the
/// caller checks that it is one the binding may have).
BindingElement bindingElementOf(Type element) {
  if (element.isInteger(64))
    return BindingElement::I64;
  if (element.isBF16())
    return BindingElement::BF16;
  return element.isF16() ? BindingElement::F16 : BindingElement::F32;
}

/// Collects states and weights by name across the entry points, so that
/// both entry points bind the same state and weight tables.
struct SignatureReader {
  ModuleSignature signature;
  std::map<std::string, unsigned> stateIndex, weightIndex;

  llvm::Expected<unsigned> state(StringRef name, RankedTensorType type,
                                 StringRef where) {
    std::vector<int64_t> shape(type.getShape().begin() + 1,
                               type.getShape().end());
    for (int64_t dim : shape)
      if (ShapedType::isDynamic(dim))
        return makeError("{0}: state '{1}' must have a static shape after "
                       "the batch dimension",
                       where, name);
    auto [it, inserted] =
        stateIndex.try_emplace(name.str(), signature.states.size());
    if (inserted)
      signature.states.push_back({name.str(), shape});
    else if (signature.states[it->second].shape != shape)
      return makeError("{0}: state '{1}' has different shapes in the entry "
                     "points",
                     where, name);
    return it->second;
  }

  llvm::Expected<unsigned> weight(StringRef name, RankedTensorType type,
                                  StringRef where) {
    Type element = type.getElementType();
    if (!type.hasStaticShape() ||
        !(element.isF32() || element.isBF16() || element.isF16()))
      return makeError("{0}: weight '{1}' must be a static f32, bf16 or f16 "
                       "tensor",
                       where, name);
    std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
    BindingElement stored = bindingElementOf(element);
    auto [it, inserted] =
        weightIndex.try_emplace(name.str(), signature.weights.size());
    if (inserted)
      signature.weights.push_back({name.str(), shape, stored});
    else if (signature.weights[it->second].element != stored)
      return makeError("{0}: weight '{1}' has different element types in "
                       "the entry points",
                       where, name);
    return it->second;
  }

  llvm::Expected<BindingSignature> binding(DictionaryAttr attrs, Type type,
                                           std::string where, bool result) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor)
      return makeError("{0} is not a ranked tensor", where);
    BindingSignature binding;
    binding.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
    binding.element = bindingElementOf(tensor.getElementType());
    auto text = [&](StringRef key) -> std::optional<StringRef> {
      if (!attrs)
        return std::nullopt;
      if (auto value = attrs.getAs<StringAttr>(key))
        return value.getValue();
      return std::nullopt;
    };
    if (auto name = text("densessm.state")) {
      binding.role = BindingRole::State;
      auto index = state(*name, tensor, where);
      if (!index)
        return index.takeError();
      binding.index = *index;
    } else if (auto name = text("densessm.weight"); name && !result) {
      binding.role = BindingRole::Weight;
      auto index = weight(*name, tensor, where);
      if (!index)
        return index.takeError();
      binding.index = *index;
    } else if (auto input = text("densessm.input"); input && !result) {
      if (*input == "tokens")
        binding.role = BindingRole::Tokens;
      else if (*input == "position")
        binding.role = BindingRole::Position;
      else
        return makeError("{0}: unknown densessm.input '{1}'", where, *input);
      if (binding.element != BindingElement::I64)
        return makeError("{0}: {1} must be i64", where, *input);
    } else if (auto output = text("densessm.output");
               output && result && *output == "logits") {
      binding.role = BindingRole::Logits;
      if (tensor.getRank() != 3 || tensor.isDynamicDim(2))
        return makeError("{0}: logits must be [B, L, vocab] with a static "
                       "vocabulary",
                       where);
      signature.vocabSize = tensor.getDimSize(2);
    } else {
      return makeError("{0} has no densessm.input, .state, .weight or .output "
                     "attribute, so the runtime cannot bind it",
                     where);
    }
    return binding;
  }

  llvm::Error entry(func::FuncOp function) {
    EntrySignature entry;
    entry.name = function.getSymName().str();
    auto schedule = function->getAttrOfType<ScheduleAttr>(
        DenseSSMDialect::getScheduleAttrName());
    entry.recurrent = schedule && schedule.getValue() == Schedule::recurrent;
    for (unsigned i = 0, e = function.getNumArguments(); i < e; ++i) {
      auto binding =
          this->binding(function.getArgAttrDict(i),
                        function.getArgumentTypes()[i],
                        llvm::formatv("@{0} argument {1}", entry.name, i).str(),
                        /*result=*/false);
      if (!binding)
        return binding.takeError();
      entry.arguments.push_back(*binding);
    }
    for (unsigned i = 0, e = function.getNumResults(); i < e; ++i) {
      auto binding =
          this->binding(function.getResultAttrDict(i),
                        function.getResultTypes()[i],
                        llvm::formatv("@{0} result {1}", entry.name, i).str(),
                        /*result=*/true);
      if (!binding)
        return binding.takeError();
      entry.results.push_back(*binding);
    }
    signature.entries.push_back(std::move(entry));
    return llvm::Error::success();
  }
};

} // namespace

llvm::Expected<ModuleSignature>
mlir::densessm::readModuleSignature(ModuleOp module) {
  SignatureReader reader;
  for (StringRef name : {"prefill", "step"}) {
    auto function = module.lookupSymbol<func::FuncOp>(name);
    if (!function)
      return makeError("the model has no @{0} function (a module needs "
                     "@prefill and @step)",
                     name);
    if (llvm::Error error = reader.entry(function))
      return std::move(error);
  }
  if (reader.signature.vocabSize <= 0)
    return makeError("the model's entry points return no logits");
  return std::move(reader.signature);
}
