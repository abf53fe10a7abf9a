//===- GraphFileFuzzer.cpp - fuzz the exported graph (.dsg) reader --------===//
//
// The input is a .dsg file: preamble, FlatBuffer header, tensor table,
// config_json, payloads. GraphFile::fromBuffer must accept it or return an
// error, never crash or read outside the input; an accepted graph's tensors
// must lie inside it.
//
//===----------------------------------------------------------------------===//

#include "densessm/Frontend/GraphFile.h"

#include "llvm/Support/Alignment.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace llvm;
using namespace mlir::densessm::frontend;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Aligned as a mapped file is, and exactly `size` bytes long, so that ASan
  // sees any read past the end.
  std::unique_ptr<WritableMemoryBuffer> buffer =
      WritableMemoryBuffer::getNewUninitMemBuffer(
          size, "fuzz.dsg", Align(kGraphPayloadAlignment));
  if (!buffer)
    return 0;
  if (size)
    std::memcpy(buffer->getBufferStart(), data, size);
  const char *start = buffer->getBufferStart(), *end = buffer->getBufferEnd();
  Expected<std::unique_ptr<GraphFile>> graph =
      GraphFile::fromBuffer(std::move(buffer), "fuzz.dsg");
  if (!graph) {
    consumeError(graph.takeError());
    return 0;
  }
  for (const GraphTensor &tensor : (*graph)->tensors()) {
    Expected<StringRef> bytes = (*graph)->bytesOf(tensor.name);
    if (!bytes)
      std::abort(); // a tensor of the table must be readable
    if (bytes->size() && (bytes->begin() < start || bytes->end() > end))
      std::abort(); // and lie inside the file
    std::vector<float> values;
    if (Error error = (*graph)->readF32(tensor.name, values))
      consumeError(std::move(error));
  }
  return 0;
}
