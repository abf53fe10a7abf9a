//===- WeightSource.cpp - tensors by name, converted to f32 ---------------===//

#include "densessm/Frontend/WeightSource.h"

using namespace llvm;
using namespace mlir::densessm::frontend;

WeightSource::~WeightSource() = default;

Error WeightSource::readF32(StringRef name, std::vector<float> &out) const {
  Expected<StringRef> bytes = bytesOf(name);
  if (!bytes)
    return bytes.takeError();
  convertToF32(*dtypeOf(name), *bytes, out);
  return Error::success();
}
