//===- CUDATarget.cpp - a model to CUDA host code and kernels -------------===//

#include "densessm/Target/CUDA/CUDATarget.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"
#include "densessm/Pipelines/Pipelines.h"
#include "densessm/Support/Error.h"
#include "densessm/Target/HostCode.h"
#include "densessm/runtime/KernelKey.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"

#include <cstdlib>
#include <optional>

using namespace mlir;
using namespace mlir::densessm;

std::string mlir::densessm::chipList(const CUDATargetOptions &options) {
  return llvm::join(options.chips, ",");
}

/// The op a diagnostic names ('dialect.op' in quotes), if any.
static std::string quotedOpName(llvm::StringRef message) {
  llvm::SmallVector<llvm::StringRef> groups;
  if (llvm::Regex("'([a-z_][a-z0-9_]*\\.[a-z0-9_.]+)'").match(message, &groups))
    return groups[1].str();
  return "";
}

llvm::Error mlir::densessm::lowerToCUDA(ModuleOp module,
                                        const ModuleSignature &signature,
                                        const CUDATargetOptions &options) {
  addEntryWrappers(module, signature);
  PassManager pm(module->getContext());
  if (failed(applyCommandLinePassOptions(pm)))
    return makeError("invalid pass-manager options on the command line");
  CUDAPipelineOptions pipeline;
  std::string unparsed;
  llvm::raw_string_ostream errors(unparsed);
  if (failed(pipeline.parseFromString(options.pipelineOptions, errors)))
    return makeError("invalid --densessm-cuda-pipeline options '{0}': {1}",
                     options.pipelineOptions,
                     llvm::StringRef(unparsed).trim());
  pipeline.fuseDenseConnections = options.fuseDenseConnections;
  pipeline.chips = options.chips;
  // The module runs in the densessm runtime, which queues the work of
  // functions that leave their buffers to the GPU on one stream.
  pipeline.queueGPUWork = true;
  buildCUDAPipeline(pm, pipeline);

  // The pipeline's errors, collected to say in one line which op the GPU
  // path cannot compile (the CPU path may well compile it).
  std::string firstError, firstLocation, opName;
  ScopedDiagnosticHandler handler(module->getContext(), [&](Diagnostic &diag) {
    if (diag.getSeverity() != DiagnosticSeverity::Error)
      return success();
    std::string message = diag.str();
    if (opName.empty())
      opName = quotedOpName(message);
    if (firstError.empty()) {
      firstError = message;
      llvm::raw_string_ostream stream(firstLocation);
      stream << diag.getLocation();
    }
    return success();
  });
  if (succeeded(pm.run(module)))
    return llvm::Error::success();
  if (firstError.empty())
    firstError = "a pass failed without a diagnostic";
  return makeError("the CUDA pipeline cannot compile this model{0}{1}: {2} "
                   "(at {3}); --target=cpu compiles it for the CPU",
                   opName.empty() ? "" : ": op '",
                   opName.empty() ? "" : opName + "' is not supported on "
                                                  "the GPU yet",
                   firstError, firstLocation);
}

std::vector<KernelObject>
mlir::densessm::collectKernelObjects(ModuleOp module) {
  std::vector<KernelObject> objects;
  module.walk([&](gpu::BinaryOp binary) {
    for (auto [i, attribute] : llvm::enumerate(binary.getObjects())) {
      auto object = cast<gpu::ObjectAttr>(attribute);
      KernelObject out;
      out.kernelModule = binary.getSymName().str();
      if (auto nvvm = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget())) {
        out.chip = nvvm.getChip().str();
        out.programmaticLaunch = nvvm.hasFlag(kProgrammaticLaunchFlag);
      }
      switch (object.getFormat()) {
      case gpu::CompilationTarget::Assembly:
        out.format = "ptx";
        break;
      case gpu::CompilationTarget::Binary:
        out.format = "cubin";
        break;
      case gpu::CompilationTarget::Fatbin:
        out.format = "fatbin";
        break;
      case gpu::CompilationTarget::Offload:
        out.format = "llvm";
        break;
      }
      out.bytes = object.getObject().getValue().str();
      // The default offloading handler (#gpu.select_object) embeds the
      // first object.
      out.embedded = i == 0;
      objects.push_back(std::move(out));
    }
  });
  return objects;
}

std::vector<ExecutableImage>
mlir::densessm::kernelExecutables(const std::vector<KernelObject> &objects) {
  std::vector<ExecutableImage> executables;
  uint64_t key = 0;
  for (const KernelObject &object : objects) {
    if (object.embedded) {
      // What the host code hands mgpuModuleLoadJIT (PTX, up to its NUL) or
      // mgpuModuleLoad (the whole object).
      llvm::StringRef bytes = object.bytes;
      if (object.format == "ptx")
        bytes = bytes.rtrim('\0');
      key = ::densessm::runtime::kernelObjectKey(bytes.data(), bytes.size());
      continue;
    }
    if (object.format != "ptx" && object.format != "cubin")
      continue;
    ExecutableImage image;
    image.cuda = true;
    image.format = object.format;
    image.architecture = object.chip;
    image.image = object.bytes;
    image.kernelKey = key;
    image.programmaticLaunch = object.programmaticLaunch;
    executables.push_back(std::move(image));
  }
  return executables;
}

/// ptxas from the CUDA Toolkit the pipeline uses, else PATH.
static std::optional<std::string> findPtxas() {
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH"})
    if (const char *root = std::getenv(variable); root && *root) {
      std::string path = std::string(root) + "/bin/ptxas";
      if (llvm::sys::fs::can_execute(path))
        return path;
    }
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return std::string("/usr/local/cuda/bin/ptxas");
  if (auto found = llvm::sys::findProgramByName("ptxas"))
    return *found;
  return std::nullopt;
}

/// The cubin ptxas assembles from `object`'s PTX (through temporary files
/// of its own: calls may run at once).
static llvm::Expected<std::string> runPtxas(llvm::StringRef ptxas,
                                            const KernelObject &object) {
  llvm::SmallString<128> ptxPath, cubinPath;
  int fd;
  if (auto error = llvm::sys::fs::createTemporaryFile("densessm", "ptx", fd,
                                                       ptxPath))
    return makeError("cannot create a temporary PTX file: {0}", error.message());
  llvm::sys::Process::SafelyCloseFileDescriptor(fd);
  if (auto error = llvm::sys::fs::createTemporaryFile("densessm", "cubin", fd,
                                                       cubinPath))
    return makeError("cannot create a temporary file: {0}", error.message());
  llvm::sys::Process::SafelyCloseFileDescriptor(fd);
  llvm::scope_exit cleanup([&] {
    llvm::sys::fs::remove(ptxPath);
    llvm::sys::fs::remove(cubinPath);
  });
  {
    std::error_code error;
    llvm::raw_fd_ostream ptx(ptxPath, error);
    if (error)
      return makeError("cannot write {0}: {1}", ptxPath, error.message());
    ptx << llvm::StringRef(object.bytes).rtrim('\0');
  }
  std::string arch = "-arch=" + object.chip;
  llvm::SmallVector<llvm::StringRef> args = {ptxas, arch, "-O3", "-o",
                                             cubinPath, ptxPath};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, {}, 0, 0,
                                         &message);
  if (status != 0)
    return makeError("ptxas {0} failed on kernel module @{1} (status {2}){3}",
                     arch, object.kernelModule, status,
                     message.empty() ? "" : ": " + message);
  auto cubin = llvm::MemoryBuffer::getFile(cubinPath, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!cubin)
    return makeError("cannot read the cubin ptxas wrote: {0}",
                     cubin.getError().message());
  return (*cubin)->getBuffer().str();
}

llvm::Expected<std::vector<ExecutableImage>>
mlir::densessm::assembleCubins(const std::vector<KernelObject> &objects,
                               std::string &note) {
  std::vector<ExecutableImage> cubins;
  std::optional<std::string> ptxas = findPtxas();
  if (!ptxas) {
    note = "no ptxas (CUDA Toolkit) here: PTX only, which the driver JITs";
    return cubins;
  }
  // The key of each kernel module: its embedded object's.
  llvm::StringMap<uint64_t> keys;
  for (const KernelObject &object : objects)
    if (object.embedded) {
      llvm::StringRef bytes = object.bytes;
      if (object.format == "ptx")
        bytes = bytes.rtrim('\0');
      keys[object.kernelModule] =
          ::densessm::runtime::kernelObjectKey(bytes.data(), bytes.size());
    }
  // One ptxas per kernel module and chip, side by side (each is a process
  // of its own; a 24-layer model has thousands), the cubins in the
  // objects' order.
  std::vector<const KernelObject *> ptx;
  for (const KernelObject &object : objects)
    if (object.format == "ptx")
      ptx.push_back(&object);
  struct Assembled {
    std::string cubin, error;
  };
  std::vector<Assembled> assembled(ptx.size());
  {
    llvm::DefaultThreadPool pool(llvm::hardware_concurrency());
    for (size_t i = 0; i < ptx.size(); ++i)
      pool.async([&, i] {
        if (llvm::Expected<std::string> cubin = runPtxas(*ptxas, *ptx[i]))
          assembled[i].cubin = std::move(*cubin);
        else
          assembled[i].error = llvm::toString(cubin.takeError());
      });
    pool.wait();
  }
  for (size_t i = 0; i < ptx.size(); ++i) {
    if (!assembled[i].error.empty())
      return makeError("{0}", assembled[i].error);
    ExecutableImage image;
    image.cuda = true;
    image.format = "cubin";
    image.architecture = ptx[i]->chip;
    image.image = std::move(assembled[i].cubin);
    image.kernelKey = keys.lookup(ptx[i]->kernelModule);
    image.programmaticLaunch = ptx[i]->programmaticLaunch;
    cubins.push_back(std::move(image));
  }
  return cubins;
}
