//===- CPUTarget.cpp - a model to a CPU shared object ---------------------===//

#include "densessm/Target/CPU/CPUTarget.h"

#include "densessm/Target/CPU/LLVMOptimizer.h"

#include "densessm/Support/Error.h"
#include "densessm/Pipelines/Pipelines.h"
#include "densessm/Target/HostCode.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
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


//===----------------------------------------------------------------------===//
// Phase 1: entry wrappers and the CPU pipeline
//===----------------------------------------------------------------------===//

llvm::Error mlir::densessm::lowerToLLVMDialect(ModuleOp module,
                                               const ModuleSignature &signature,
                                               const CPUTargetOptions &options) {
  addEntryWrappers(module, signature);
  PassManager pm(module->getContext());
  if (failed(applyCommandLinePassOptions(pm)))
    return makeError("invalid pass-manager options on the command line");
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
  // Constructors in .init_array, which the dynamic loader runs (LLVM's
  // default is .ctors, which only crtbegin.o runs, and the shared object is
  // linked without it): the CUDA host code loads its kernels in them.
  targetOptions.UseInitArray = true;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpu, features, targetOptions, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return makeError("cannot create an LLVM target machine for {0} ({1})",
                   triple.str(), cpu);
  return machine;
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
  if (llvm::Error error = exportDispatchFunctions(*llvmModule, signature))
    return std::move(error);
  auto machine = createTargetMachine(options);
  if (!machine)
    return machine.takeError();
  llvmModule->setTargetTriple((*machine)->getTargetTriple());
  llvmModule->setDataLayout((*machine)->createDataLayout());
  if (llvm::Error error = optimizeModule(*llvmModule, **machine))
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

/// Exports densessm_cpu_features, the extensions of CPUFeatures.def that the
/// code is generated for, comma separated: the runtime refuses to run the
/// code on a CPU without one of them rather than stop with SIGILL.
static void recordCPUFeatures(llvm::Module &module,
                              const llvm::TargetMachine &machine) {
  if (!machine.getTargetTriple().isX86())
    return;
  const llvm::MCSubtargetInfo *info = machine.getMCSubtargetInfo();
  std::string list;
#define DSSM_CPU_FEATURE(name)                                                 \
  if (info->checkFeatures("+" name))                                           \
    list += (list.empty() ? "" : ",") + std::string(name);
#include "densessm/runtime/CPUFeatures.def"
#undef DSSM_CPU_FEATURE
  llvm::Constant *text =
      llvm::ConstantDataArray::getString(module.getContext(), list);
  auto *global = new llvm::GlobalVariable(
      module, text->getType(), /*isConstant=*/true,
      llvm::GlobalValue::ExternalLinkage, text, "densessm_cpu_features");
  global->setVisibility(llvm::GlobalValue::DefaultVisibility);
}

llvm::Expected<std::string>
mlir::densessm::emitSharedObject(llvm::Module &module,
                                 const CPUTargetOptions &options,
                                 std::string &architecture) {
  auto machine = createTargetMachine(options);
  if (!machine)
    return machine.takeError();
  architecture = (*machine)->getTargetTriple().getArchName().str() + ":" +
                 (*machine)->getTargetCPU().str();
  if (!module.getNamedGlobal("densessm_cpu_features"))
    recordCPUFeatures(module, **machine);

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
