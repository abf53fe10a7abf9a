//===- GraphFile.cpp - map and verify an exported graph (.dsg) ------------===//

#include "densessm/Frontend/GraphFile.h"

#include "densessm/Support/Error.h"
#include "densessm/runtime/AlignedVectors.h"
#include "graph_def_generated.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Alignment.h"
#include "llvm/Support/JSON.h"

#include <algorithm>
#include <cstring>

using namespace llvm;
using namespace mlir::densessm;
using namespace mlir::densessm::frontend;
namespace fb = densessm::graph;

// The FlatBuffer holds names, shapes and the configuration only; anything
// near the format's 2 GiB limit is a corrupt size field.
static constexpr uint64_t kMaxHeaderBytes = 1ull << 31;
static constexpr size_t kMaxRank = 8;

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, dim] : llvm::enumerate(shape))
    text += (i ? ", " : "") + std::to_string(dim);
  return text + "]";
}

Expected<std::unique_ptr<GraphFile>> GraphFile::open(StringRef path) {
  auto buffer = MemoryBuffer::getFile(path, /*IsText=*/false,
                                      /*RequiresNullTerminator=*/false,
                                      /*IsVolatile=*/false,
                                      Align(kGraphPayloadAlignment));
  if (!buffer)
    return makeError("{0}: cannot read: {1}", path, buffer.getError().message());
  return fromBuffer(std::move(*buffer), path);
}

Expected<std::unique_ptr<GraphFile>>
GraphFile::fromBuffer(std::unique_ptr<MemoryBuffer> buffer, StringRef path) {
  if (reinterpret_cast<uintptr_t>(buffer->getBufferStart()) %
          kGraphPayloadAlignment !=
      0)
    return makeError("{0}: graph bytes are not {1}-byte aligned in memory",
                     path, kGraphPayloadAlignment);
  std::unique_ptr<GraphFile> graph(new GraphFile());
  graph->filePath = path.str();
  graph->buffer = std::move(buffer);
  if (Error error = graph->verify())
    return std::move(error);
  return graph;
}

Error GraphFile::verify() {
  StringRef path = filePath;
  StringRef bytes = buffer->getBuffer();
  uint64_t size = bytes.size();
  if (size < kGraphPreambleSize)
    return makeError("{0}: truncated graph file: {1} bytes, smaller than the "
                     "{2}-byte preamble",
                     path, size, kGraphPreambleSize);
  if (std::memcmp(bytes.data(), kGraphMagic, sizeof(kGraphMagic)) != 0)
    return makeError("{0}: not a densessm graph file (it does not start with "
                     "\"DENSEGRF\")",
                     path);
  uint32_t version = 0;
  uint64_t fbOffset = 0, fbSize = 0;
  std::memcpy(&version, bytes.data() + 8, 4); // little endian, like the host
  std::memcpy(&fbOffset, bytes.data() + 16, 8);
  std::memcpy(&fbSize, bytes.data() + 24, 8);
  if (version != kGraphFormatVersion)
    return makeError("{0}: graph format version {1}, this densessm reads "
                     "version {2}",
                     path, version, kGraphFormatVersion);
  if (fbOffset != kGraphPreambleSize || fbSize < 8 || fbSize > kMaxHeaderBytes)
    return makeError("{0}: corrupt graph file: the preamble gives a graph "
                     "header of {1} bytes at offset {2} (expected offset {3} "
                     "and at most 2 GiB)",
                     path, fbSize, fbOffset, kGraphPreambleSize);
  if (fbSize > size - fbOffset)
    return makeError("{0}: truncated graph file: the graph header ({1} bytes "
                     "at offset {2}) runs past the end of the file ({3} "
                     "bytes)",
                     path, fbSize, fbOffset, size);
  const uint8_t *fbData =
      reinterpret_cast<const uint8_t *>(bytes.data()) + fbOffset;
  if (!fb::GraphDefBufferHasIdentifier(fbData))
    return makeError("{0}: corrupt graph file: the graph header lacks the "
                     "\"DSGF\" identifier",
                     path);
  flatbuffers::Verifier verifier(fbData, fbSize);
  if (!fb::VerifyGraphDefBuffer(verifier))
    return makeError("{0}: corrupt graph file: the graph header fails "
                     "FlatBuffers verification",
                     path);
  const fb::GraphDef &def = *fb::GetGraphDef(fbData);
  for (const fb::Tensor *tensor : *def.tensors())
    if (!::densessm::elementsAligned(tensor->shape()))
      return makeError("{0}: corrupt graph file: tensor '{1}' has a shape "
                       "that is not 8-byte aligned in the graph header",
                       path, tensor->name()->str());
  if (def.format_version() != version)
    return makeError("{0}: corrupt graph file: the graph header says format "
                     "version {1}, the preamble {2}",
                     path, def.format_version(), version);
  if (def.producer())
    producerName = def.producer()->str();

  // The tensor table: every payload aligned, after the header, inside the
  // file, of the size its shape needs, and not sharing bytes with another.
  uint64_t fbEnd = fbOffset + fbSize;
  for (const fb::Tensor *tensor : *def.tensors()) {
    GraphTensor entry;
    entry.name = tensor->name()->str();
    if (entry.name.empty())
      return makeError("{0}: corrupt graph file: tensor {1} of the tensor "
                       "table has an empty name",
                       path, tensorList.size());
    std::string what = "tensor '" + entry.name + "'";
    // The verifier does not check enum values.
    if (tensor->dtype() < fb::DType::MIN || tensor->dtype() > fb::DType::MAX)
      return makeError("{0}: corrupt graph file: {1} has dtype {2} (known: "
                       "0 F32, 1 F16, 2 BF16)",
                       path, what, int(tensor->dtype()));
    switch (tensor->dtype()) {
    case fb::DType::F32:
      entry.dtype = TensorDType::F32;
      break;
    case fb::DType::F16:
      entry.dtype = TensorDType::F16;
      break;
    case fb::DType::BF16:
      entry.dtype = TensorDType::BF16;
      break;
    }
    if (tensor->shape()->size() > kMaxRank)
      return makeError("{0}: corrupt graph file: {1} has rank {2} (at most "
                       "{3})",
                       path, what, tensor->shape()->size(), kMaxRank);
    uint64_t count = 1;
    for (int64_t dim : *tensor->shape()) {
      entry.shape.push_back(dim);
      if (dim < 0 || dim > (int64_t(1) << 40) ||
          (dim && count > (uint64_t(1) << 50) / uint64_t(dim)))
        return makeError("{0}: corrupt graph file: {1} has an invalid shape "
                         "{2}",
                         path, what, shapeString(entry.shape));
      count *= uint64_t(dim);
    }
    entry.offset = tensor->data()->offset();
    entry.size = tensor->data()->size();
    if (entry.offset % kGraphPayloadAlignment != 0)
      return makeError("{0}: corrupt graph file: {1} starts at offset {2}, "
                       "which is not {3}-byte aligned",
                       path, what, entry.offset, kGraphPayloadAlignment);
    if (entry.offset < fbEnd)
      return makeError("{0}: corrupt graph file: {1} at offset {2} overlaps "
                       "the graph header (which ends at {3})",
                       path, what, entry.offset, fbEnd);
    if (entry.offset > size || entry.size > size - entry.offset)
      return makeError("{0}: truncated graph file: {1} (bytes {2} .. {3}) "
                       "runs past the end of the file ({4} bytes)",
                       path, what, entry.offset, entry.offset + entry.size,
                       size);
    uint64_t expected = count * dtypeSize(entry.dtype);
    if (entry.size != expected)
      return makeError("{0}: corrupt graph file: {1} holds {2} bytes, shape "
                       "{3} of {4} needs {5}",
                       path, what, entry.size, shapeString(entry.shape),
                       stringifyDType(entry.dtype), expected);
    if (!tensorIndex.try_emplace(entry.name, tensorList.size()).second)
      return makeError("{0}: corrupt graph file: {1} appears twice in the "
                       "tensor table",
                       path, what);
    tensorList.push_back(std::move(entry));
  }
  std::vector<const GraphTensor *> byOffset;
  for (const GraphTensor &tensor : tensorList)
    if (tensor.size)
      byOffset.push_back(&tensor);
  llvm::sort(byOffset, [](const GraphTensor *a, const GraphTensor *b) {
    return a->offset < b->offset;
  });
  for (size_t i = 1; i < byOffset.size(); ++i)
    if (byOffset[i - 1]->offset + byOffset[i - 1]->size > byOffset[i]->offset)
      return makeError("{0}: corrupt graph file: tensors '{1}' and '{2}' "
                       "overlap",
                       path, byOffset[i - 1]->name, byOffset[i]->name);

  // The configuration: config.json's text, read as a checkpoint's is; the
  // family and typed fields must agree with it.
  const fb::ModelInfo &model = *def.model();
  configText = model.config_json()->str();
  std::string source = (path + " (config_json)").str();
  Expected<json::Value> json = json::parse(configText);
  if (!json)
    return makeError("{0}: not valid JSON: {1}", source,
                     toString(json.takeError()));
  Expected<ModelConfig> config = parseModelConfig(*json, source);
  if (!config)
    return config.takeError();
  modelConfig = *config;
  StringRef family = stringifyModelFamily(modelConfig.family);
  if (model.family()->str() != family)
    return makeError("{0}: corrupt graph file: the model family is '{1}', "
                     "but its config_json describes {2}",
                     path, model.family()->str(), family);
  if (model.model_type() && model.model_type()->size() &&
      model.model_type()->str() != modelConfig.modelType)
    return makeError("{0}: corrupt graph file: model_type is '{1}', but its "
                     "config_json says '{2}'",
                     path, model.model_type()->str(), modelConfig.modelType);
  auto agree = [&](StringRef field, int64_t stored,
                   int64_t fromJSON) -> Error {
    if (stored == 0 || stored == fromJSON)
      return Error::success();
    return makeError("{0}: corrupt graph file: {1} is {2}, but its "
                     "config_json says {3}",
                     path, field, stored, fromJSON);
  };
  if (Error error = agree("vocab_size", model.vocab_size(),
                          modelConfig.vocabSize))
    return error;
  if (Error error = agree("hidden_size", model.hidden_size(),
                          modelConfig.hiddenSize))
    return error;
  if (Error error = agree("num_hidden_layers", model.num_hidden_layers(),
                          modelConfig.numLayers))
    return error;
  if (Error error = agree("dense_block_layers", model.dense_block_layers(),
                          modelConfig.denseBlockLayers))
    return error;
  return Error::success();
}

const GraphTensor *GraphFile::find(StringRef name) const {
  auto found = tensorIndex.find(name);
  return found == tensorIndex.end() ? nullptr
                                    : &tensorList[found->getValue()];
}

TensorShapes GraphFile::shapes() const {
  TensorShapes shapes;
  for (const GraphTensor &tensor : tensorList)
    shapes[tensor.name] = tensor.shape;
  return shapes;
}

std::optional<TensorDType> GraphFile::dtypeOf(StringRef name) const {
  if (const GraphTensor *tensor = find(name))
    return tensor->dtype;
  return std::nullopt;
}

Expected<StringRef> GraphFile::bytesOf(StringRef name) const {
  const GraphTensor *tensor = find(name);
  if (!tensor)
    return makeError("{0}: no tensor '{1}' in the graph", filePath, name);
  return buffer->getBuffer().substr(tensor->offset, tensor->size);
}

std::string GraphFile::fileOf(StringRef) const { return filePath; }
