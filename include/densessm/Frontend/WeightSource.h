//===- WeightSource.h - where a model's tensors come from -------*- C++ -*-===//
//
// The tensors of a model, by name, wherever they are stored: a checkpoint's
// safetensors files (TensorFiles, Checkpoint.h) or an exported graph file
// (GraphFile, GraphFile.h). densessm-compile takes its weights from either,
// and densessm-export reads a checkpoint through this interface.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_FRONTEND_WEIGHTSOURCE_H
#define DENSESSM_FRONTEND_WEIGHTSOURCE_H

#include "densessm/Frontend/DTypes.h"
#include "densessm/Frontend/ModelBuilder.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::densessm::frontend {

class WeightSource {
public:
  virtual ~WeightSource();

  /// The shape of every tensor, by name.
  virtual TensorShapes shapes() const = 0;
  /// The element type the tensor is stored in; nullopt when there is no
  /// tensor of that name.
  virtual std::optional<TensorDType> dtypeOf(llvm::StringRef name) const = 0;
  /// The tensor's bytes as stored (row-major, little endian elements of
  /// dtypeOf(name)); they live as long as the source.
  virtual llvm::Expected<llvm::StringRef>
  bytesOf(llvm::StringRef name) const = 0;
  /// The file that holds the tensor (for messages).
  virtual std::string fileOf(llvm::StringRef name) const = 0;

  /// The tensor converted to f32, row-major (convertToF32 of bytesOf).
  virtual llvm::Error readF32(llvm::StringRef name,
                              std::vector<float> &out) const;

protected:
  WeightSource() = default;
  WeightSource(const WeightSource &) = default;
  WeightSource(WeightSource &&) = default;
  WeightSource &operator=(const WeightSource &) = default;
  WeightSource &operator=(WeightSource &&) = default;
};

} // namespace mlir::densessm::frontend

#endif // DENSESSM_FRONTEND_WEIGHTSOURCE_H
