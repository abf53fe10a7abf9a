//===- Checkpoint.h - a checkpoint directory on disk ------------*- C++ -*-===//
//
// Reads a checkpoint as people have them: config.json plus model.safetensors,
// or sharded model-0000X-of-0000N.safetensors with
// model.safetensors.index.json. Every safetensors header is checked (size,
// JSON, dtypes, shapes, offsets inside the file and not overlapping) before a
// byte of tensor data is read; tensor data is mapped, not copied, and
// converted to f32 on request (f32, f16 and bf16 are supported; DTypes.h).
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_FRONTEND_CHECKPOINT_H
#define DENSESSM_FRONTEND_CHECKPOINT_H

#include "densessm/Frontend/DTypes.h"
#include "densessm/Frontend/ModelBuilder.h"
#include "densessm/Frontend/ModelConfig.h"
#include "densessm/Frontend/WeightSource.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir::densessm::frontend {

/// One tensor of a safetensors file.
struct TensorEntry {
  TensorDType dtype = TensorDType::F32;
  std::vector<int64_t> shape;
  unsigned file = 0;            // index into the checkpoint's files
  uint64_t begin = 0, end = 0;  // byte range inside that file
};

/// The tensors of one or more safetensors files (a checkpoint's shards).
class TensorFiles : public WeightSource {
public:
  /// Maps `path` and reads its header; errors name the file.
  llvm::Error addFile(llvm::StringRef path);
  /// The same for bytes already in memory; `path` names them in errors.
  llvm::Error addBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer,
                        llvm::StringRef path);

  const llvm::StringMap<TensorEntry> &tensors() const { return entries; }
  TensorShapes shapes() const override;
  std::optional<TensorDType> dtypeOf(llvm::StringRef name) const override;
  llvm::Expected<llvm::StringRef> bytesOf(llvm::StringRef name) const override;
  /// The safetensors file that holds the tensor.
  std::string fileOf(llvm::StringRef name) const override;

private:
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> buffers;
  std::vector<std::string> paths;
  llvm::StringMap<TensorEntry> entries;
};

/// A checkpoint directory: its configuration and its tensors.
struct Checkpoint {
  std::string directory;
  ModelConfig config;
  llvm::json::Value configJSON = nullptr;
  TensorFiles tensors;

  static llvm::Expected<std::unique_ptr<Checkpoint>>
  open(llvm::StringRef directory);
};

} // namespace mlir::densessm::frontend

#endif // DENSESSM_FRONTEND_CHECKPOINT_H
