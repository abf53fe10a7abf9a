//===- GraphWriter.cpp - write an exported graph (.dsg) -------------------===//

#include "densessm/Frontend/GraphFile.h"

#include "densessm/Support/Error.h"
#include "densessm/Support/PayloadFile.h"
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
    cursor = alignToPayload(cursor + size);
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

static Error writeContents(raw_ostream &stream,
                           const GraphContents &contents) {
  std::vector<uint64_t> offsets;
  uint64_t fbSize = buildGraphDef(contents, 0, offsets).size();
  uint64_t payloadStart = alignToPayload(kPayloadPreambleSize + fbSize);
  flatbuffers::DetachedBuffer def =
      buildGraphDef(contents, payloadStart, offsets);
  if (def.size() != fbSize)
    return makeError("internal error: the graph header changed size");

  PayloadFileWriter writer(stream);
  writer.writeHeader(kGraphMagic, kGraphFormatVersion, {def.data(), def.size()});

  std::vector<char> bytes;
  for (auto [i, tensor] : llvm::enumerate(contents.tensors)) {
    if (Error error = contents.data(i, bytes))
      return error;
    if (bytes.size() != payloadBytes(tensor))
      return makeError("tensor '{0}': {1} bytes of data, its shape and {2} "
                       "need {3}",
                       tensor.name, bytes.size(), stringifyDType(tensor.dtype),
                       payloadBytes(tensor));
    writer.writePayload(offsets[i], bytes.data(), bytes.size());
  }
  return Error::success();
}

Error mlir::densessm::frontend::writeGraphFile(StringRef path,
                                               const GraphContents &contents) {
  return writeFileAtomically(path, "graph", [&](raw_ostream &stream) {
    return writeContents(stream, contents);
  });
}
