//===- GraphFile.h - the exported graph file (.dsg) -------------*- C++ -*-===//
//
// An exported graph describes a model by its architecture — the family and
// its hyperparameters, i.e. the checkpoint's config.json — and holds its
// tensors (docs/graph-format.md; the schema is models/schema/graph_def.fbs):
//
//   offset 0    32-byte preamble: "DENSEGRF", uint32 format version (1),
//               uint32 reserved (0), uint64 FlatBuffer offset (32), uint64
//               FlatBuffer size
//   offset 32   the GraphDef FlatBuffer (producer, model info, tensor table)
//   then        the tensor payloads, each at a 64-byte aligned absolute
//               offset outside the FlatBuffer (so graphs over 2 GiB work)
//
// GraphFile reads one: it maps the file and verifies the preamble, the
// FlatBuffer and every payload (aligned, after the header, inside the file,
// not overlapping another, of the size its shape and dtype need) and parses
// the configuration, before any tensor data is read. writeGraphFile writes
// one (densessm-export).
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_FRONTEND_GRAPHFILE_H
#define DENSESSM_FRONTEND_GRAPHFILE_H

#include "densessm/Frontend/DTypes.h"
#include "densessm/Frontend/ModelConfig.h"
#include "densessm/Frontend/WeightSource.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlir::densessm::frontend {

/// The graph file format version this build reads and writes.
inline constexpr uint32_t kGraphFormatVersion = 1;
/// The preamble's first 8 bytes.
inline constexpr char kGraphMagic[8] = {'D', 'E', 'N', 'S', 'E', 'G', 'R', 'F'};
inline constexpr uint64_t kGraphPreambleSize = 32;
/// Every payload starts at a multiple of this.
inline constexpr uint64_t kGraphPayloadAlignment = 64;

/// One tensor of a graph file.
struct GraphTensor {
  std::string name; // the checkpoint tensor name (MODELS.md)
  TensorDType dtype = TensorDType::F32;
  std::vector<int64_t> shape;
  uint64_t offset = 0, size = 0; // absolute byte range in the file
};

/// A verified graph file, mapped: its configuration and its tensors.
class GraphFile : public WeightSource {
public:
  /// Maps and verifies `path`; every error names the file and the problem.
  static llvm::Expected<std::unique_ptr<GraphFile>> open(llvm::StringRef path);
  /// The same for bytes already in memory (64-byte aligned, as the
  /// payloads must be); `path` names them in errors.
  static llvm::Expected<std::unique_ptr<GraphFile>>
  fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef path);

  const std::string &path() const { return filePath; }
  const std::string &producer() const { return producerName; }
  const ModelConfig &config() const { return modelConfig; }
  /// The stored config.json text.
  const std::string &configJSON() const { return configText; }
  llvm::ArrayRef<GraphTensor> tensors() const { return tensorList; }

  TensorShapes shapes() const override;
  std::optional<TensorDType> dtypeOf(llvm::StringRef name) const override;
  llvm::Expected<llvm::StringRef> bytesOf(llvm::StringRef name) const override;
  /// The graph file itself.
  std::string fileOf(llvm::StringRef name) const override;

private:
  llvm::Error verify();
  const GraphTensor *find(llvm::StringRef name) const;

  std::unique_ptr<llvm::MemoryBuffer> buffer;
  std::string filePath, producerName, configText;
  ModelConfig modelConfig;
  std::vector<GraphTensor> tensorList;
  llvm::StringMap<size_t> tensorIndex;
};

/// What writeGraphFile writes.
struct GraphContents {
  std::string producer;           // e.g. "densessm-export"
  ModelConfig config;             // the family and the typed fields
  std::string configJSON;         // the config.json text, stored as is
  std::vector<GraphTensor> tensors; // name, dtype, shape (the writer places them)
  /// Tensor `index`'s bytes in its dtype, little endian, row-major.
  std::function<llvm::Error(size_t index, std::vector<char> &bytes)> data;
};

/// Writes the graph file to `path` through a temporary file in the same
/// directory, renamed into place once complete: an error leaves no file.
llvm::Error writeGraphFile(llvm::StringRef path, const GraphContents &contents);

} // namespace mlir::densessm::frontend

#endif // DENSESSM_FRONTEND_GRAPHFILE_H
