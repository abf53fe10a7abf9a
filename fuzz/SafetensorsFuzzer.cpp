//===- SafetensorsFuzzer.cpp - fuzz the checkpoint readers ----------------===//
//
// The input is read twice: as the bytes of a safetensors file (header
// length, JSON header, dtypes, shapes, offsets) and as the text of a
// config.json (JSON, model_type, every field the model builders rely on).
// Both must either accept it or return an error; neither may crash, hang or
// read outside the input. An accepted safetensors file must hand out tensor
// bytes that lie inside the input, which is checked too.
//
//===----------------------------------------------------------------------===//

#include "densessm/Frontend/Checkpoint.h"
#include "densessm/Frontend/ModelConfig.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <cstdlib>

using namespace llvm;
using namespace mlir::densessm::frontend;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  StringRef bytes(reinterpret_cast<const char *>(data), size);

  TensorFiles files;
  std::unique_ptr<MemoryBuffer> copy =
      MemoryBuffer::getMemBufferCopy(bytes, "fuzz.safetensors");
  const char *start = copy->getBufferStart(), *end = copy->getBufferEnd();
  if (Error error = files.addBuffer(std::move(copy), "fuzz.safetensors")) {
    consumeError(std::move(error));
  } else {
    for (const auto &entry : files.tensors()) {
      Expected<StringRef> tensor = files.bytesOf(entry.getKey());
      if (!tensor)
        std::abort(); // a tensor the header listed must be readable
      if (tensor->size() && (tensor->begin() < start || tensor->end() > end))
        std::abort(); // and lie inside the file
      std::vector<float> values;
      if (Error error = files.readF32(entry.getKey(), values))
        consumeError(std::move(error));
    }
  }

  Expected<json::Value> config = json::parse(bytes);
  if (!config) {
    consumeError(config.takeError());
    return 0;
  }
  Expected<ModelConfig> parsed = parseModelConfig(*config, "fuzz/config.json");
  if (!parsed)
    consumeError(parsed.takeError());
  return 0;
}
