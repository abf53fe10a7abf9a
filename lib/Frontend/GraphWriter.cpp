//===- GraphWriter.cpp - write an exported graph (.dsg) -------------------===//

#include "densessm/Frontend/GraphFile.h"

#include "densessm/Support/Error.h"
#include "graph_def_generated.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>

using namespace llvm;
using namespace mlir::densessm;
using namespace mlir::densessm::frontend;
namespace fb = densessm::graph;

static uint64_t alignUp(uint64_t value) {
  return (value + kGraphPayloadAlignment - 1) / kGraphPayloadAlignment *
         kGraphPayloadAlignment;
}

static uint64_t payloadBytes(const GraphTensor &tensor) {
  uint64_t count = 1;
  for (int64_t dim : tensor.shape)
    count *= uint64_t(dim);
  return count * dtypeSize(tensor.dtype);
}

static fb::DType toDType(TensorDType dtype) {
  switch (dtype) {
  case TensorDType::F32:
    return fb::DType::F32;
  case TensorDType::F16:
    return fb::DType::F16;
  case TensorDType::BF16:
    return fb::DType::BF16;
  }
  return fb::DType::F32;
}

/// The GraphDef, with the tensors placed from `payloadStart` on, in order,
/// each 64-byte aligned. Its size does not depend on `payloadStart` (payload
/// offsets are fixed-width structs), which is how the writer learns where
/// the payloads begin.
static flatbuffers::DetachedBuffer buildGraphDef(const GraphContents &contents,
                                                 uint64_t payloadStart,
                                                 std::vector<uint64_t> &offsets) {
  flatbuffers::FlatBufferBuilder builder(1 << 16);
  offsets.clear();
  uint64_t cursor = payloadStart;
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  for (const GraphTensor &tensor : contents.tensors) {
    uint64_t size = payloadBytes(tensor);
    offsets.push_back(cursor);
    fb::Payload data(cursor, size);
    cursor = alignUp(cursor + size);
    tensors.push_back(fb::CreateTensor(builder, builder.CreateString(tensor.name),
                                       toDType(tensor.dtype),
                                       builder.CreateVector(tensor.shape),
                                       &data));
  }
  const ModelConfig &config = contents.config;
  auto model = fb::CreateModelInfo(
      builder, builder.CreateString(stringifyModelFamily(config.family).str()),
      builder.CreateString(config.modelType),
      builder.CreateString(contents.configJSON), config.vocabSize,
      config.hiddenSize, config.numLayers, config.denseBlockLayers);
  auto root = fb::CreateGraphDef(builder, kGraphFormatVersion,
                                 builder.CreateString(contents.producer), model,
                                 builder.CreateVector(tensors));
  fb::FinishGraphDefBuffer(builder, root);
  return builder.Release();
}

namespace {
/// Writes at increasing offsets, padding with zeros.
class PaddedWriter {
public:
  explicit PaddedWriter(raw_fd_ostream &stream) : stream(stream) {}
  void padTo(uint64_t offset) {
    static const char zeros[kGraphPayloadAlignment] = {};
    while (written < offset) {
      uint64_t chunk = std::min<uint64_t>(kGraphPayloadAlignment,
                                          offset - written);
      write(zeros, chunk);
    }
  }
  void write(const void *data, uint64_t size) {
    stream.write(static_cast<const char *>(data), size);
    written += size;
  }

private:
  raw_fd_ostream &stream;
  uint64_t written = 0;
};
} // namespace

static Error writeContents(raw_fd_ostream &stream,
                           const GraphContents &contents) {
  std::vector<uint64_t> offsets;
  uint64_t fbSize = buildGraphDef(contents, 0, offsets).size();
  uint64_t payloadStart = alignUp(kGraphPreambleSize + fbSize);
  flatbuffers::DetachedBuffer def =
      buildGraphDef(contents, payloadStart, offsets);
  if (def.size() != fbSize)
    return makeError("internal error: the graph header changed size");

  PaddedWriter writer(stream);
  char preamble[kGraphPreambleSize] = {};
  uint32_t version = kGraphFormatVersion;
  uint64_t fbOffset = kGraphPreambleSize;
  std::memcpy(preamble, kGraphMagic, sizeof(kGraphMagic));
  std::memcpy(preamble + 8, &version, 4); // bytes 12..15: reserved, zero
  std::memcpy(preamble + 16, &fbOffset, 8);
  std::memcpy(preamble + 24, &fbSize, 8);
  writer.write(preamble, kGraphPreambleSize);
  writer.write(def.data(), def.size());

  std::vector<char> bytes;
  for (auto [i, tensor] : llvm::enumerate(contents.tensors)) {
    if (Error error = contents.data(i, bytes))
      return error;
    if (bytes.size() != payloadBytes(tensor))
      return makeError("tensor '{0}': {1} bytes of data, its shape and {2} "
                       "need {3}",
                       tensor.name, bytes.size(), stringifyDType(tensor.dtype),
                       payloadBytes(tensor));
    writer.padTo(offsets[i]);
    writer.write(bytes.data(), bytes.size());
  }
  return Error::success();
}

/// Writes the whole file to `fd` (closing it).
static Error writeFile(int fd, StringRef path, const GraphContents &contents) {
  raw_fd_ostream stream(fd, /*shouldClose=*/true);
  if (Error error = writeContents(stream, contents))
    return error;
  stream.close();
  if (stream.has_error()) {
    std::string message = stream.error().message();
    stream.clear_error();
    return makeError("{0}: write failed: {1}", path, message);
  }
  return Error::success();
}

Error mlir::densessm::frontend::writeGraphFile(StringRef path,
                                               const GraphContents &contents) {
  SmallString<256> temporary;
  int fd;
  if (auto error =
          sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, temporary))
    return makeError("{0}: cannot create the output file: {1}", path,
                     error.message());
  sys::RemoveFileOnSignal(temporary); // an interrupted export leaves nothing
  auto discard = [&] {
    sys::fs::remove(temporary);
    sys::DontRemoveFileOnSignal(temporary);
  };
  if (Error error = writeFile(fd, path, contents)) {
    discard();
    return error;
  }
  if (auto error = sys::fs::rename(temporary, path)) {
    discard();
    return makeError("{0}: cannot move the finished graph into place: {1}",
                     path, error.message());
  }
  sys::DontRemoveFileOnSignal(temporary);
  return Error::success();
}
