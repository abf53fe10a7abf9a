//===- HostCode.cpp - entry wrappers and dispatch functions ---------------===//

#include "densessm/Target/HostCode.h"

#include "densessm/Support/Error.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/IRBuilder.h"

using namespace mlir;
using namespace mlir::densessm;

std::string mlir::densessm::dispatchSymbol(llvm::StringRef entry) {
  return ("densessm_dispatch_" + entry).str();
}

static std::string wrapperName(llvm::StringRef entry) {
  return ("densessm_entry_" + entry).str();
}

/// Replaces the entry point by `densessm_entry_<name>(arguments..., result
/// buffers...)`: the entry's body, whose results go into the caller's
/// buffers through `bufferization.materialize_in_destination`, so one-shot
/// bufferization computes them in place. (A wrapper that called the entry
/// instead received freshly allocated results and copied them: at
/// DenseRetNet-350M's size, 24 MiB of state copied, and its pages faulted in
/// and zeroed, on every decode step.) The entry's function attributes (its
/// schedule) and argument attributes carry over.
static void addEntryWrapper(func::FuncOp entry) {
  OpBuilder builder(entry->getContext());
  builder.setInsertionPointAfter(entry);
  Location loc = entry.getLoc();
  SmallVector<Type> inputs(entry.getArgumentTypes());
  for (Type result : entry.getResultTypes()) {
    auto tensor = cast<RankedTensorType>(result);
    inputs.push_back(
        MemRefType::get(tensor.getShape(), tensor.getElementType()));
  }
  auto wrapper = func::FuncOp::create(builder, loc, wrapperName(entry.getSymName()),
                                      builder.getFunctionType(inputs, {}));
  for (NamedAttribute attribute : entry->getDiscardableAttrs())
    wrapper->setAttr(attribute.getName(), attribute.getValue());
  wrapper->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
  unsigned numArgs = entry.getNumArguments();
  for (unsigned i = 0; i < numArgs; ++i)
    if (DictionaryAttr attributes = entry.getArgAttrDict(i))
      wrapper.setArgAttrs(i, attributes);

  // The entry's body moves into the wrapper, which gains the result
  // buffers as arguments and stores the returned values into them.
  wrapper.getBody().takeBody(entry.getBody());
  Block &body = wrapper.getBody().front();
  for (Type buffer : ArrayRef<Type>(inputs).drop_front(numArgs))
    body.addArgument(buffer, loc);
  auto returned = cast<func::ReturnOp>(body.getTerminator());
  builder.setInsertionPoint(returned);
  for (auto [i, result] : llvm::enumerate(returned.getOperands())) {
    auto store = bufferization::MaterializeInDestinationOp::create(
        builder, loc, result, body.getArgument(numArgs + i));
    store.setRestrict(true);
    store.setWritable(true);
  }
  returned->setOperands({});
  entry.erase();
  // The caller owns every input: weights are mapped read-only from the
  // module file, tokens and states are the runtime's. Bufferization must
  // not write into them (A = -exp(A_log) would otherwise reuse A_log).
  auto readOnly = builder.getBoolAttr(false);
  for (unsigned i = 0; i < numArgs; ++i)
    wrapper.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName,
                       readOnly);
}

void mlir::densessm::addEntryWrappers(ModuleOp module,
                                      const ModuleSignature &signature) {
  for (const EntrySignature &entry : signature.entries)
    addEntryWrapper(module.lookupSymbol<func::FuncOp>(entry.name));
}

/// `void densessm_dispatch_<entry>(void **args)`: loads one descriptor
/// pointer per binding and calls the entry wrapper's C interface.
static llvm::Error addDispatchFunction(llvm::Module &module,
                                       const EntrySignature &entry) {
  std::string target = "_mlir_ciface_" + wrapperName(entry.name);
  llvm::Function *callee = module.getFunction(target);
  if (!callee)
    return makeError("internal error: no {0} in the LLVM module", target);
  size_t count = entry.arguments.size() + entry.results.size();
  if (callee->arg_size() != count)
    return makeError("internal error: {0} takes {1} arguments, the signature "
                   "has {2} bindings",
                   target, callee->arg_size(), count);
  llvm::LLVMContext &context = module.getContext();
  llvm::Type *ptr = llvm::PointerType::get(context, 0);
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptr},
                                       /*isVarArg=*/false);
  auto *dispatch =
      llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                              dispatchSymbol(entry.name), module);
  llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "entry", dispatch));
  llvm::SmallVector<llvm::Value *> args;
  for (size_t i = 0; i < count; ++i) {
    llvm::Value *slot = builder.CreateConstGEP1_64(ptr, dispatch->getArg(0), i);
    args.push_back(builder.CreateLoad(ptr, slot));
  }
  builder.CreateCall(callee, args);
  builder.CreateRetVoid();
  return llvm::Error::success();
}

llvm::Error
mlir::densessm::exportDispatchFunctions(llvm::Module &module,
                                        const ModuleSignature &signature) {
  for (const EntrySignature &entry : signature.entries)
    if (llvm::Error error = addDispatchFunction(module, entry))
      return error;
  // Only the dispatch functions are the shared object's interface. Everything
  // else becomes internal: the optimiser may inline and drop it, and no
  // other library's symbol can interpose on it (libc has a `step`).
  llvm::StringSet<> exported;
  for (const EntrySignature &entry : signature.entries)
    exported.insert(dispatchSymbol(entry.name));
  for (llvm::Function &function : module)
    if (!function.isDeclaration() && !exported.contains(function.getName()))
      function.setLinkage(llvm::GlobalValue::InternalLinkage);
  // Not the llvm.* globals: llvm.global_ctors/dtors, with which the CUDA
  // host code loads and unloads its kernel modules, must stay appending.
  for (llvm::GlobalVariable &global : module.globals())
    if (!global.isDeclaration() && !global.getName().starts_with("llvm."))
      global.setLinkage(llvm::GlobalValue::InternalLinkage);
  return llvm::Error::success();
}
