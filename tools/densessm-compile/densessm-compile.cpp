//===- densessm-compile.cpp - a model to a deployable module --------------===//
//
//   densessm-compile INPUT -o OUT.dssm [--target=cpu|cuda]
//                    [--emit=mlir|llvm|ptx|module]
//
// INPUT is a checkpoint directory (config.json + safetensors), an exported
// graph (.dsg, docs/graph-format.md; densessm-export writes one), or a .mlir
// file in the densessm dialect (whose weights come from --weights=DIR or
// --weights=GRAPH.dsg).
// The phases, each of which --emit can stop after:
//   import   checkpoint or graph -> densessm IR (@prefill, @step) --emit=mlir
//   lower    --densessm-cpu-pipeline, LLVM IR, -O3               --emit=llvm
//   codegen  object code, linked into a shared object
//   package  the module file: FlatBuffers header + code + weights --emit=module
// --target=cuda adds, before the CPU phases, the CUDA ones:
//   lower    --densessm-cuda-pipeline: kernels (PTX per chip)    --emit=ptx
//            and their host code, LLVM IR, -O3                   --emit=llvm
//   codegen  the host code's shared object
// and the module carries both: the CUDA host code with its kernels, and the
// CPU code (what the runtime runs without a GPU).
// Each phase prints a progress line (--quiet silences them); --mlir-timing
// times the MLIR passes of the lower phase, --time-passes LLVM's. Errors are one
// line naming the file and the problem; no partial output file is left.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"
#include "densessm/Frontend/Checkpoint.h"
#include "densessm/Frontend/DTypes.h"
#include "densessm/Frontend/GraphFile.h"
#include "densessm/Frontend/ModelBuilder.h"
#include "densessm/Frontend/WeightSource.h"
#include "densessm/InitAll.h"
#include "densessm/Support/CommandLine.h"
#include "densessm/Support/Error.h"
#include "densessm/Support/Progress.h"
#include "densessm/Target/CPU/CPUTarget.h"
#include "densessm/Target/CUDA/CUDATarget.h"
#include "densessm/Target/ModuleWriter.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <chrono>

using namespace mlir;
using namespace mlir::densessm;
namespace cl = llvm::cl;

namespace {

enum class Emit { MLIR, LLVM, PTX, Module };
enum class TargetKind { CPU, CUDA };

cl::OptionCategory category("densessm-compile options");
cl::opt<std::string> inputPath(cl::Positional, cl::Required,
                               cl::desc("<checkpoint dir | model.dsg | "
                                        "model.mlir>"),
                               cl::cat(category));
cl::opt<std::string> outputPath("o", cl::Required,
                                cl::desc("output file (the module, or the "
                                         "--emit stage's text)"),
                                cl::value_desc("file"), cl::cat(category));
cl::opt<TargetKind> target(
    "target", cl::desc("code to generate"), cl::init(TargetKind::CPU),
    cl::values(clEnumValN(TargetKind::CPU, "cpu", "the host CPU (LLVM)"),
                        clEnumValN(TargetKind::CUDA, "cuda",
                          "NVIDIA GPUs (sm_80, sm_90; the module also "
                          "carries the CPU code)")),
    cl::cat(category));
cl::opt<Emit> emit(
    "emit", cl::desc("stop after this phase and write its output"),
    cl::init(Emit::Module),
    cl::values(clEnumValN(Emit::MLIR, "mlir", "the imported densessm IR"),
               clEnumValN(Emit::LLVM, "llvm",
                          "optimised LLVM IR (the CPU code; with "
                          "--target=cuda the CUDA host code)"),
               clEnumValN(Emit::PTX, "ptx", "PTX of every kernel (CUDA)"),
               clEnumValN(Emit::Module, "module", "the module file (.dssm)")),
    cl::cat(category));
cl::opt<std::string> weightsPath(
    "weights", cl::desc("checkpoint directory (or exported graph) whose "
                        "tensors bind the weights of a .mlir input"),
    cl::value_desc("dir|graph.dsg"), cl::cat(category));
cl::opt<std::string> cpuName("cpu",
                             cl::desc("CPU to generate code for (default: "
                                      "this machine's)"),
                             cl::init("native"), cl::cat(category));
cl::opt<bool> noFusion("no-fuse-dense-connections",
                       cl::desc("keep dense connections as separate ops "
                                "(for comparison)"),
                       cl::cat(category));
cl::opt<unsigned> timeChunk("time-chunk",
                            cl::desc("chunk the parallel scans over time "
                                     "(0: sequential time loop)"),
                            cl::init(0), cl::cat(category));
cl::opt<std::string> cudaPipelineOptions(
    "cuda-pipeline-options",
    cl::desc("more --densessm-cuda-pipeline options with --target=cuda, as "
             "densessm-opt takes them (\"gemv-wide-loads=false "
             "fuse-gemv-prologues=false\"): to compare its steps on a model"),
    cl::init(""), cl::cat(category));
cl::opt<bool> quiet("quiet", cl::desc("no progress lines"), cl::cat(category));
enum class WeightType { F32, BF16, F16 };
cl::opt<WeightType> weightType(
    "weight-type",
    cl::desc("how the module stores the linear layers' weights (the "
             "arithmetic is f32 either way)"),
    cl::init(WeightType::F32),
    cl::values(clEnumValN(WeightType::F32, "f32", "f32, as read"),
               clEnumValN(WeightType::BF16, "bf16",
                          "bf16, rounded to nearest even: half the bytes a "
                          "decode step reads, f32's range"),
               clEnumValN(WeightType::F16, "f16",
                          "f16, rounded to nearest even: half the bytes, "
                          "three more significant bits than bf16, but "
                          "values beyond 65504 overflow")),
    cl::cat(category));

int64_t parameterCount(const ModuleSignature &signature) {
  int64_t total = 0;
  for (const WeightSignature &weight : signature.weights) {
    int64_t count = 1;
    for (int64_t dim : weight.shape)
      count *= dim;
    total += count;
  }
  return total;
}

/// Writes `text` to the output path (removed again if writing fails).
llvm::Error writeText(llvm::function_ref<void(llvm::raw_ostream &)> print) {
  std::error_code error;
  llvm::ToolOutputFile file(outputPath, error, llvm::sys::fs::OF_Text);
  if (error)
    return makeError("{0}: cannot open for writing: {1}", outputPath,
                     error.message());
  print(file.os());
  file.os().flush();
  if (file.os().has_error())
    return makeError("{0}: write failed", outputPath);
  file.keep();
  return llvm::Error::success();
}

struct Imported {
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<frontend::WeightSource> weights; // where weight data comes from
  std::string weightsOrigin; // the checkpoint directory or graph file
  std::string family, configJSON;
};

llvm::Expected<std::unique_ptr<frontend::Checkpoint>>
openCheckpoint(llvm::StringRef path) {
  return frontend::Checkpoint::open(path);
}

/// The checkpoint's tensors as the weight source of `imported`.
void takeWeights(Imported &imported, frontend::Checkpoint &checkpoint) {
  imported.weights =
      std::make_unique<frontend::TensorFiles>(std::move(checkpoint.tensors));
  imported.weightsOrigin = checkpoint.directory;
}

llvm::Error importInput(MLIRContext &context, Imported &imported) {
  llvm::StringRef input = inputPath;
  if (llvm::sys::fs::is_directory(input)) {
    auto checkpoint = openCheckpoint(input);
    if (!checkpoint)
      return checkpoint.takeError();
    auto module = frontend::buildModel(context, (*checkpoint)->config,
                                       (*checkpoint)->tensors.shapes(), input);
    if (!module)
      return module.takeError();
    imported.module = std::move(*module);
    imported.family =
        frontend::stringifyModelFamily((*checkpoint)->config.family).str();
    std::string json;
    llvm::raw_string_ostream stream(json);
    stream << (*checkpoint)->configJSON;
    imported.configJSON = json;
    takeWeights(imported, **checkpoint);
    return llvm::Error::success();
  }
  if (input.ends_with(".dsg")) {
    auto graph = frontend::GraphFile::open(input);
    if (!graph)
      return graph.takeError();
    auto module = frontend::buildModel(context, (*graph)->config(),
                                       (*graph)->shapes(), input);
    if (!module)
      return module.takeError();
    imported.module = std::move(*module);
    imported.family =
        frontend::stringifyModelFamily((*graph)->config().family).str();
    // The stored config.json text, normalised as a checkpoint's is.
    auto json = llvm::json::parse((*graph)->configJSON());
    if (!json) // cannot happen: GraphFile::open parsed it
      return makeError("{0}: {1}", input, llvm::toString(json.takeError()));
    std::string text;
    llvm::raw_string_ostream stream(text);
    stream << *json;
    imported.configJSON = text;
    imported.weightsOrigin = input.str();
    imported.weights = std::move(*graph);
    return llvm::Error::success();
  }
  if (!input.ends_with(".mlir"))
    return makeError("{0}: not a checkpoint directory, a .dsg graph or a "
                     ".mlir file",
                     input);
  llvm::SourceMgr sources;
  auto buffer = llvm::MemoryBuffer::getFile(input);
  if (!buffer)
    return makeError("{0}: cannot read: {1}", input,
                     buffer.getError().message());
  sources.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  // The parser's and verifier's first error becomes the one error line,
  // "FILE:LINE:COL: what", rather than a diagnostic plus a summary.
  std::string firstError;
  {
    ScopedDiagnosticHandler collect(&context, [&](Diagnostic &diagnostic) {
      if (diagnostic.getSeverity() != DiagnosticSeverity::Error ||
          !firstError.empty())
        return success();
      llvm::raw_string_ostream stream(firstError);
      if (auto at = dyn_cast<FileLineColLoc>(diagnostic.getLocation()))
        stream << at.getLine() << ":" << at.getColumn() << ":";
      stream << " " << diagnostic;
      return success();
    });
    imported.module = parseSourceFile<ModuleOp>(sources, &context);
  }
  if (!imported.module)
    return makeError("{0}:{1}", input,
                     firstError.empty() ? " does not parse" : firstError);
  imported.family = "custom";
  imported.configJSON = "{}";
  if (llvm::StringRef(weightsPath).ends_with(".dsg")) {
    auto graph = frontend::GraphFile::open(weightsPath);
    if (!graph)
      return graph.takeError();
    imported.family =
        frontend::stringifyModelFamily((*graph)->config().family).str();
    imported.weightsOrigin = weightsPath;
    imported.weights = std::move(*graph);
  } else if (!weightsPath.empty()) {
    auto checkpoint = openCheckpoint(weightsPath);
    if (!checkpoint)
      return checkpoint.takeError();
    imported.family =
        frontend::stringifyModelFamily((*checkpoint)->config.family).str();
    takeWeights(imported, **checkpoint);
  }
  return llvm::Error::success();
}

/// The weight data source of the module file: each weight by name from
/// the checkpoint or graph, checked against the shape the IR expects.
/// How the module file stores a weight of element `element`.
frontend::TensorDType storedDType(BindingElement element) {
  switch (element) {
  case BindingElement::BF16:
    return frontend::TensorDType::BF16;
  case BindingElement::F16:
    return frontend::TensorDType::F16;
  case BindingElement::F32:
  case BindingElement::I64:
    break;
  }
  return frontend::TensorDType::F32;
}

llvm::Expected<ModuleContents> packageContents(const Imported &imported,
                                               const ModuleSignature &signature) {
  if (!imported.weights && !signature.weights.empty())
    return makeError("{0}: the model has {1} weight arguments but no weight "
                     "data; pass --weights=<checkpoint dir>",
                     inputPath, signature.weights.size());
  ModuleContents contents;
  contents.signature = signature;
  contents.family = imported.family;
  contents.configJSON = imported.configJSON;
  contents.source = llvm::sys::path::filename(inputPath).str();
  const frontend::WeightSource *weights = imported.weights.get();
  frontend::TensorShapes shapes =
      weights ? weights->shapes() : frontend::TensorShapes();
  for (const WeightSignature &weight : signature.weights) {
    auto found = shapes.find(weight.name);
    if (found == shapes.end())
      return makeError("{0}: missing tensor '{1}'", imported.weightsOrigin,
                       weight.name);
    if (found->getValue() != weight.shape)
      return makeError("{0}: tensor '{1}' has a different shape than the "
                       "model's argument",
                       weights->fileOf(weight.name), weight.name);
  }
  contents.weightData = [weights, &signature](
                            size_t index,
                            std::vector<char> &out) -> llvm::Error {
    const WeightSignature &weight = signature.weights[index];
    std::vector<float> values;
    if (llvm::Error error = weights->readF32(weight.name, values))
      return error;
    frontend::convertFromF32(storedDType(weight.element), values, out);
    return llvm::Error::success();
  };
  return contents;
}

llvm::Error compile(MLIRContext &context) {
  Progress progress("densessm-compile", quiet);
  Imported imported;
  progress.begin("import");
  if (llvm::Error error = importInput(context, imported))
    return error;
  if (failed(verify(*imported.module)))
    return makeError("{0}: the imported model does not verify", inputPath);
  // The narrow element type of --weight-type (bf16 or f16), as the pass and
  // the progress line name it.
  StringRef narrowName = weightType == WeightType::BF16 ? "bf16" : "f16";
  if (weightType != WeightType::F32) {
    DenseSSMNarrowProjectionWeightsOptions narrow;
    narrow.elementType = narrowName.str();
    PassManager passes(&context);
    passes.addPass(createDenseSSMNarrowProjectionWeights(narrow));
    if (failed(passes.run(*imported.module)))
      return makeError("{0}: --weight-type={1} failed", inputPath, narrowName);
  }
  if (emit == Emit::MLIR) {
    progress.end("densessm IR of " + inputPath);
    return writeText([&](llvm::raw_ostream &os) { imported.module->print(os); });
  }
  auto signature = readModuleSignature(*imported.module);
  if (!signature)
    return makeError("{0}: {1}", inputPath, llvm::toString(signature.takeError()));
  size_t narrowWeights = llvm::count_if(signature->weights, [](const auto &w) {
    return w.element != BindingElement::F32;
  });
  progress.end(llvm::formatv("{0} from {1}: {2} weights{5}, {3}, {4} state "
                             "tensors per sequence",
                             imported.family, inputPath,
                             signature->weights.size(),
                             parameterCountText(double(parameterCount(*signature))) + " parameters",
                             signature->states.size(),
                             narrowWeights
                                 ? llvm::formatv(" ({0} in {1})", narrowWeights,
                                                 narrowName)
                                       .str()
                                 : std::string())
                   .str());

  if (emit == Emit::PTX && target != TargetKind::CUDA)
    return makeError("--emit=ptx needs --target=cuda");
  if (!cudaPipelineOptions.empty() && target != TargetKind::CUDA)
    return makeError("--cuda-pipeline-options needs --target=cuda");

  CPUTargetOptions options;
  options.cpu = cpuName;
  options.fuseDenseConnections = !noFusion;
  options.timeChunk = timeChunk;

  std::vector<ExecutableImage> cudaExecutables;
  if (target == TargetKind::CUDA) {
    CUDATargetOptions cudaOptions;
    cudaOptions.fuseDenseConnections = !noFusion;
    cudaOptions.pipelineOptions = cudaPipelineOptions;
    // The CUDA pipeline runs on a copy: the CPU code is compiled from the
    // imported module too.
    OwningOpRef<ModuleOp> cudaModule(imported.module->clone());
    progress.begin("lower");
    if (llvm::Error error = lowerToCUDA(*cudaModule, *signature, cudaOptions))
      return makeError("{0}: {1}", inputPath, llvm::toString(std::move(error)));
    std::vector<KernelObject> objects = collectKernelObjects(*cudaModule);
    size_t kernelModules = 0;
    for (const KernelObject &object : objects)
      kernelModules += object.embedded;
    if (emit == Emit::PTX) {
      progress.end(llvm::formatv("--densessm-cuda-pipeline: {0} kernel "
                                 "modules, PTX for {1}",
                                 kernelModules, chipList(cudaOptions))
                       .str());
      return writeText([&](llvm::raw_ostream &os) {
        for (const KernelObject &object : objects)
          os << "// densessm-compile: kernel module @" << object.kernelModule
             << " for " << object.chip << "\n"
             << llvm::StringRef(object.bytes).rtrim('\0') << "\n";
      });
    }
    llvm::LLVMContext llvmContext;
    auto hostCode =
        translateToLLVMIR(*cudaModule, llvmContext, *signature, options);
    if (!hostCode)
      return hostCode.takeError();
    progress.end(llvm::formatv("--densessm-cuda-pipeline: {0} kernel modules, "
                               "PTX for {1}; host code LLVM IR, -O3 for "
                               "cpu={2}",
                               kernelModules, chipList(cudaOptions), cpuName)
                     .str());
    if (emit == Emit::LLVM)
      return writeText(
          [&](llvm::raw_ostream &os) { (*hostCode)->print(os, nullptr); });
    progress.begin("codegen");
    std::string hostArchitecture;
    auto image = emitSharedObject(**hostCode, options, hostArchitecture);
    if (!image)
      return image.takeError();
    progress.end(llvm::formatv("CUDA host code, {0} shared object, {1} KiB; "
                               "{2} kernel objects for the runtime to pick "
                               "from",
                               hostArchitecture, image->size() / 1024,
                               objects.size() - kernelModules)
                     .str());
    cudaExecutables.push_back({/*cuda=*/true, "elf-shared-object",
                               chipList(cudaOptions) + "/" + hostArchitecture,
                               std::move(*image)});
    for (ExecutableImage &kernel : kernelExecutables(objects))
      cudaExecutables.push_back(std::move(kernel));

    progress.begin("ptxas");
    std::string note;
    auto cubins = assembleCubins(objects, note);
    if (!cubins)
      return cubins.takeError();
    progress.end(note.empty()
                     ? llvm::formatv("{0} cubins, so the runtime loads the "
                                     "GPU's chip's instead of JIT-compiling",
                                     cubins->size())
                           .str()
                     : note);
    for (ExecutableImage &cubin : *cubins)
      cudaExecutables.push_back(std::move(cubin));
  }

  progress.begin("lower");
  if (llvm::Error error = lowerToLLVMDialect(*imported.module, *signature, options))
    return error;
  llvm::LLVMContext llvmContext;
  auto llvmModule =
      translateToLLVMIR(*imported.module, llvmContext, *signature, options);
  if (!llvmModule)
    return llvmModule.takeError();
  progress.end("--densessm-cpu-pipeline, LLVM IR, -O3 for cpu=" + cpuName);
  if (emit == Emit::LLVM)
    return writeText([&](llvm::raw_ostream &os) { (*llvmModule)->print(os, nullptr); });

  progress.begin("codegen");
  std::string architecture;
  auto image = emitSharedObject(**llvmModule, options, architecture);
  if (!image)
    return image.takeError();
  progress.end(llvm::formatv("{0} shared object, {1} KiB", architecture,
                             image->size() / 1024)
                   .str());

  progress.begin("package");
  auto contents = packageContents(imported, *signature);
  if (!contents)
    return contents.takeError();
  contents->executables.push_back(
      {/*cuda=*/false, "elf-shared-object", architecture, std::move(*image)});
  for (ExecutableImage &executable : cudaExecutables)
    contents->executables.push_back(std::move(executable));
  if (llvm::Error error = writeModuleFile(outputPath, *contents))
    return error;
  uint64_t size = 0;
  llvm::sys::fs::file_size(outputPath, size);
  progress.end(llvm::formatv("{0} ({1:f1} MiB){2}", outputPath,
                             size / (1024.0 * 1024.0),
                             target == TargetKind::CUDA
                                 ? ": CUDA code, and CPU code for machines "
                                   "without a GPU"
                                 : "")
                   .str());
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  cl::HideUnrelatedOptions(category);
  // Where a long compile spends its time, listed with the tool's own flags.
  for (llvm::StringRef name : {"mlir-timing", "time-passes"}) {
    cl::Option *option = cl::getRegisteredOptions().lookup(name);
    option->setHiddenFlag(cl::NotHidden);
    option->addCategory(category);
  }
  if (!parseToolCommandLine(
          argc, argv, "densessm-compile",
          "densessm-compile: a checkpoint, an exported graph or densessm IR "
          "to a module file\n"))
    return 1;
  DialectRegistry registry;
  mlir::densessm::registerAllDialects(registry);
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  if (llvm::Error error = compile(context)) {
    llvm::WithColor::error(llvm::errs(), "densessm-compile")
        << llvm::toString(std::move(error)) << "\n";
    return 1;
  }
  return 0;
}
