//===- densessm-export.cpp - a checkpoint to an exported graph (.dsg) -----===//
//
//   densessm-export CHECKPOINT_DIR -o model.dsg [--dtype=keep|f32|f16|bf16]
//
// Writes the exported graph format (docs/graph-format.md) from a checkpoint
// directory (config.json + safetensors): the model's family and
// configuration, and the tensors the model reads, in the checkpoint's dtypes
// (--dtype=keep) or converted (f16 and bf16 round to nearest even). The
// phases:
//   import   config.json and the safetensors headers, every one checked;
//            then the model's densessm IR is built from the configuration
//            and the tensor shapes (what densessm-compile does with the
//            graph), so a graph that is written also compiles
//   write    the graph, through a temporary file renamed into place
// Each phase prints a progress line (--quiet silences them). Errors are one
// line naming the file and the problem; no partial output file is left.
//
//===----------------------------------------------------------------------===//

#include "densessm/Frontend/Checkpoint.h"
#include "densessm/Frontend/DTypes.h"
#include "densessm/Frontend/GraphFile.h"
#include "densessm/Frontend/ModelBuilder.h"
#include "densessm/Support/CommandLine.h"
#include "densessm/Support/Error.h"
#include "densessm/Support/Progress.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"

#include <chrono>
#include <optional>

using namespace mlir;
using namespace mlir::densessm;
namespace cl = llvm::cl;

namespace {

enum class DTypeChoice { Keep, F32, F16, BF16 };

cl::OptionCategory category("densessm-export options");
cl::opt<std::string> inputPath(cl::Positional, cl::Required,
                               cl::desc("<checkpoint dir>"), cl::cat(category));
cl::opt<std::string> outputPath("o", cl::Required,
                                cl::desc("the graph file to write (.dsg)"),
                                cl::value_desc("file"), cl::cat(category));
cl::opt<DTypeChoice> dtype(
    "dtype", cl::desc("element type of the stored tensors"),
    cl::init(DTypeChoice::Keep),
    cl::values(clEnumValN(DTypeChoice::Keep, "keep",
                          "each tensor's checkpoint dtype (default)"),
               clEnumValN(DTypeChoice::F32, "f32", "float32"),
               clEnumValN(DTypeChoice::F16, "f16",
                          "IEEE half (rounded to nearest even)"),
               clEnumValN(DTypeChoice::BF16, "bf16",
                          "bfloat16 (rounded to nearest even)")),
    cl::cat(category));
cl::opt<bool> quiet("quiet", cl::desc("no progress lines"), cl::cat(category));


std::optional<frontend::TensorDType> chosenDType() {
  switch (dtype) {
  case DTypeChoice::Keep:
    return std::nullopt;
  case DTypeChoice::F32:
    return frontend::TensorDType::F32;
  case DTypeChoice::F16:
    return frontend::TensorDType::F16;
  case DTypeChoice::BF16:
    return frontend::TensorDType::BF16;
  }
  return std::nullopt;
}

/// The tensors the model reads: the densessm.weight names of its entry
/// points' arguments, each once, in the order @prefill takes them.
std::vector<std::string> weightNames(ModuleOp module) {
  std::vector<std::string> names;
  llvm::StringSet<> seen;
  for (auto function : module.getOps<func::FuncOp>())
    for (unsigned i = 0, e = function.getNumArguments(); i < e; ++i)
      if (auto name =
              function.getArgAttrOfType<StringAttr>(i, "densessm.weight"))
        if (seen.insert(name.getValue()).second)
          names.push_back(name.getValue().str());
  return names;
}

llvm::Error exportGraph(MLIRContext &context) {
  // Before reading what may be gigabytes: can the output go where asked?
  llvm::StringRef outputDirectory = llvm::sys::path::parent_path(outputPath);
  if (!outputDirectory.empty() && !llvm::sys::fs::is_directory(outputDirectory))
    return makeError("{0}: cannot create the output file: no directory {1}",
                     outputPath, outputDirectory);
  if (llvm::sys::fs::is_directory(outputPath))
    return makeError("{0}: cannot create the output file: it is a directory",
                     outputPath);

  Progress progress("densessm-export", quiet);
  progress.begin("import");
  auto checkpoint = frontend::Checkpoint::open(inputPath);
  if (!checkpoint)
    return checkpoint.takeError();
  const frontend::ModelConfig &config = (*checkpoint)->config;
  const frontend::TensorFiles &tensors = (*checkpoint)->tensors;
  frontend::TensorShapes shapes = tensors.shapes();
  auto module = frontend::buildModel(context, config, shapes, inputPath);
  if (!module)
    return module.takeError();
  std::vector<std::string> names = weightNames(**module);
  llvm::StringSet<> files;
  for (const auto &entry : shapes)
    files.insert(tensors.fileOf(entry.getKey()));
  progress.end(llvm::formatv("{0} from {1} ({2} safetensors file(s)): the "
                             "model builds and reads {3} of its {4} tensors",
                             frontend::stringifyModelFamily(config.family),
                             inputPath, files.size(), names.size(),
                             shapes.size())
                   .str());

  progress.begin("write");
  std::optional<frontend::TensorDType> target = chosenDType();
  frontend::GraphContents contents;
  contents.producer = "densessm-export";
  contents.config = config;
  contents.configJSON =
      llvm::formatv("{0:2}", (*checkpoint)->configJSON).str() + "\n";
  uint64_t parameters = 0;
  llvm::StringSet<> storedAs;
  for (const std::string &name : names) {
    frontend::GraphTensor tensor;
    tensor.name = name;
    tensor.dtype = target ? *target : *tensors.dtypeOf(name);
    tensor.shape = shapes.lookup(name);
    uint64_t count = 1;
    for (int64_t dim : tensor.shape)
      count *= uint64_t(dim);
    parameters += count;
    storedAs.insert(frontend::stringifyDType(tensor.dtype));
    contents.tensors.push_back(std::move(tensor));
  }
  std::vector<float> values;
  contents.data = [&](size_t index, std::vector<char> &bytes) -> llvm::Error {
    const frontend::GraphTensor &tensor = contents.tensors[index];
    // The same dtype: the bytes as stored, exactly.
    if (*tensors.dtypeOf(tensor.name) == tensor.dtype) {
      auto stored = tensors.bytesOf(tensor.name);
      if (!stored)
        return stored.takeError();
      bytes.assign(stored->begin(), stored->end());
      return llvm::Error::success();
    }
    if (llvm::Error error = tensors.readF32(tensor.name, values))
      return error;
    frontend::convertFromF32(tensor.dtype, values, bytes);
    return llvm::Error::success();
  };
  if (llvm::Error error = frontend::writeGraphFile(outputPath, contents))
    return error;
  std::string dtypes;
  for (llvm::StringRef name : {"F32", "F16", "BF16"})
    if (storedAs.contains(name))
      dtypes += (dtypes.empty() ? "" : "+") + name.str();
  uint64_t size = 0;
  llvm::sys::fs::file_size(outputPath, size);
  progress.end(llvm::formatv("{0}: {1} tensors ({2}), {3} parameters, "
                             "{4:f1} MiB",
                             outputPath, names.size(),
                             dtypes.empty() ? "none" : dtypes,
                             parameterCountText(double(parameters)),
                             size / (1024.0 * 1024.0))
                   .str());
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  if (!parseToolCommandLine(
          argc, argv, "densessm-export",
          "densessm-export: a checkpoint directory to an exported graph "
          "(.dsg)\n"))
    return 1;
  MLIRContext context;
  if (llvm::Error error = exportGraph(context)) {
    llvm::WithColor::error(llvm::errs(), "densessm-export")
        << llvm::toString(std::move(error)) << "\n";
    return 1;
  }
  return 0;
}
