//===- CPUTarget.cpp - a model to a CPU shared object ---------------------===//

#include "densessm/Target/CPU/CPUTarget.h"

#include "densessm/Support/Error.h"
#include "densessm/Pipelines/Pipelines.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::densessm;


std::string mlir::densessm::cpuDispatchSymbol(llvm::StringRef entry) {
  return ("densessm_dispatch_" + entry).str();
}

static std::string wrapperName(llvm::StringRef entry) {
  return ("densessm_entry_" + entry).str();
}

//===----------------------------------------------------------------------===//
// Phase 1: entry wrappers and the CPU pipeline
//===----------------------------------------------------------------------===//

/// Adds `densessm_entry_<name>(arguments..., result buffers...)`, which calls
/// the entry point and writes each result into the caller's buffer. The
/// results go out through `bufferization.materialize_in_destination`, so
/// one-shot bufferization writes them in place where it can.
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
  wrapper->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
  Block *body = wrapper.addEntryBlock();
  builder.setInsertionPointToStart(body);
  unsigned numArgs = entry.getNumArguments();
  auto call = func::CallOp::create(builder, loc, entry,
                                   body->getArguments().take_front(numArgs));
  for (auto [i, result] : llvm::enumerate(call.getResults())) {
    auto store = bufferization::MaterializeInDestinationOp::create(
        builder, loc, result, body->getArgument(numArgs + i));
    store.setRestrict(true);
    store.setWritable(true);
  }
  func::ReturnOp::create(builder, loc);
  entry.setPrivate();
  // The caller owns every input: weights are mapped read-only from the
  // module file, tokens and states are the runtime's. Bufferization must
  // not write into them (A = -exp(A_log) would otherwise reuse A_log).
  auto readOnly = builder.getBoolAttr(false);
  for (func::FuncOp function : {entry, wrapper})
    for (unsigned i = 0; i < numArgs; ++i)
      function.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName,
                          readOnly);
}

llvm::Error mlir::densessm::lowerToLLVMDialect(ModuleOp module,
                                               const ModuleSignature &signature,
                                               const CPUTargetOptions &options) {
  for (const EntrySignature &entry : signature.entries)
    addEntryWrapper(module.lookupSymbol<func::FuncOp>(entry.name));
  PassManager pm(module->getContext());
  CPUPipelineOptions pipeline;
  pipeline.fuseDenseConnections = options.fuseDenseConnections;
  pipeline.timeChunk = options.timeChunk;
  buildCPUPipeline(pm, pipeline);
  if (failed(pm.run(module)))
    return makeError("the CPU pipeline failed (see the diagnostics above)");
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Phase 2: LLVM IR
//===----------------------------------------------------------------------===//

static llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const CPUTargetOptions &options) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getProcessTriple());
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return makeError("no LLVM target for {0}: {1}", triple.str(), error);
  std::string cpu = options.cpu;
  std::string features;
  if (cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features += (feature.getValue() ? "+" : "-") + feature.getKey().str() + ",";
  } else if (!std::unique_ptr<llvm::MCSubtargetInfo>(
                  target->createMCSubtargetInfo(triple, cpu, ""))
                  ->isCPUStringValid(cpu)) {
    return makeError("--cpu={0}: not a CPU LLVM knows for {1}", cpu,
                   triple.str());
  }
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpu, features, targetOptions, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return makeError("cannot create an LLVM target machine for {0} ({1})",
                   triple.str(), cpu);
  return machine;
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
                              cpuDispatchSymbol(entry.name), module);
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

llvm::Expected<std::unique_ptr<llvm::Module>>
mlir::densessm::translateToLLVMIR(ModuleOp module, llvm::LLVMContext &context,
                                  const ModuleSignature &signature,
                                  const CPUTargetOptions &options) {
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "densessm");
  if (!llvmModule)
    return makeError("translation to LLVM IR failed (see the diagnostics "
                   "above)");
  for (const EntrySignature &entry : signature.entries)
    if (llvm::Error error = addDispatchFunction(*llvmModule, entry))
      return std::move(error);
  // Only the dispatch functions are the shared object's interface. Everything
  // else becomes internal: the optimiser may inline and drop it, and no
  // other library's symbol can interpose on it (libc has a `step`).
  llvm::StringSet<> exported;
  for (const EntrySignature &entry : signature.entries)
    exported.insert(cpuDispatchSymbol(entry.name));
  for (llvm::Function &function : *llvmModule)
    if (!function.isDeclaration() && !exported.contains(function.getName()))
      function.setLinkage(llvm::GlobalValue::InternalLinkage);
  for (llvm::GlobalVariable &global : llvmModule->globals())
    if (!global.isDeclaration())
      global.setLinkage(llvm::GlobalValue::InternalLinkage);
  auto machine = createTargetMachine(options);
  if (!machine)
    return machine.takeError();
  llvmModule->setTargetTriple((*machine)->getTargetTriple());
  llvmModule->setDataLayout((*machine)->createDataLayout());
  auto optimize = makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                            machine->get());
  if (llvm::Error error = optimize(llvmModule.get()))
    return std::move(error);
  return llvmModule;
}

//===----------------------------------------------------------------------===//
// Phase 3: object file and shared object
//===----------------------------------------------------------------------===//

/// ld.lld from the LLVM installation densessm was built with, else PATH.
static llvm::Expected<std::string> findLinker() {
  if (llvm::sys::fs::can_execute(DENSESSM_LLD_PATH))
    return std::string(DENSESSM_LLD_PATH);
  for (const char *name : {"ld.lld-22", "ld.lld"})
    if (auto found = llvm::sys::findProgramByName(name))
      return *found;
  return makeError("densessm-compile links CPU code with ld.lld, which is not "
                 "installed (Debian package lld-22; scripts/setup.sh "
                 "installs it)");
}

namespace {
/// A temporary file removed when it goes out of scope.
struct TemporaryFile {
  llvm::SmallString<128> path;
  ~TemporaryFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};
} // namespace

llvm::Expected<std::string>
mlir::densessm::emitSharedObject(llvm::Module &module,
                                 const CPUTargetOptions &options,
                                 std::string &architecture) {
  auto machine = createTargetMachine(options);
  if (!machine)
    return machine.takeError();
  architecture = (*machine)->getTargetTriple().getArchName().str() + ":" +
                 (*machine)->getTargetCPU().str();

  TemporaryFile object, shared;
  int fd;
  if (auto error = llvm::sys::fs::createTemporaryFile("densessm", "o", fd,
                                                       object.path))
    return makeError("cannot create a temporary object file: {0}",
                   error.message());
  {
    llvm::raw_fd_ostream stream(fd, /*shouldClose=*/true);
    llvm::legacy::PassManager codegen;
    if ((*machine)->addPassesToEmitFile(codegen, stream, nullptr,
                                        llvm::CodeGenFileType::ObjectFile))
      return makeError("LLVM cannot emit object files for this target");
    codegen.run(module);
  }
  if (auto error = llvm::sys::fs::createTemporaryFile("densessm", "so", fd,
                                                       shared.path))
    return makeError("cannot create a temporary file: {0}", error.message());
  llvm::sys::Process::SafelyCloseFileDescriptor(fd);

  auto linker = findLinker();
  if (!linker)
    return linker.takeError();
  // The OpenMP runtime is a DT_NEEDED dependency; the runtime's GEMM entry
  // point stays undefined and resolves against libdensessm_runtime.so.
  llvm::SmallVector<llvm::StringRef> args = {
      *linker, "-shared", "-O2", "--gc-sections", "-z", "noexecstack",
      "-o", shared.path, object.path, DENSESSM_OPENMP_LIBRARY};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*linker, args, std::nullopt, {}, 0, 0,
                                         &message);
  if (status != 0)
    return makeError("linking the CPU code with {0} failed (status {1}){2}{3}",
                   *linker, status, message.empty() ? "" : ": ", message);
  auto image = llvm::MemoryBuffer::getFile(shared.path, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!image)
    return makeError("cannot read the linked CPU code: {0}",
                   image.getError().message());
  return (*image)->getBuffer().str();
}
