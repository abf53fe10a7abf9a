//===- Checkpoint.cpp - read config.json and safetensors files ------------===//

#include "densessm/Frontend/Checkpoint.h"

#include "densessm/Support/Error.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstring>
#include <set>

using namespace llvm;
using namespace mlir::densessm;
using namespace mlir::densessm::frontend;


// safetensors headers are a few KB to a few MB; anything beyond this is a
// corrupt length field, not a header.
static constexpr uint64_t kMaxHeaderBytes = 100u << 20;

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, dim] : llvm::enumerate(shape))
    text += (i ? ", " : "") + std::to_string(dim);
  return text + "]";
}

Error TensorFiles::addFile(StringRef path) {
  auto buffer = MemoryBuffer::getFile(path, /*IsText=*/false,
                                      /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError("{0}: cannot read: {1}", path, buffer.getError().message());
  return addBuffer(std::move(*buffer), path);
}

Error TensorFiles::addBuffer(std::unique_ptr<MemoryBuffer> buffer,
                             StringRef path) {
  StringRef bytes = buffer->getBuffer();
  if (bytes.size() < 8)
    return makeError("{0}: truncated safetensors file: {1} bytes, smaller than "
                   "the 8-byte header length",
                   path, bytes.size());
  uint64_t headerSize = 0;
  std::memcpy(&headerSize, bytes.data(), 8); // little endian, like the host
  if (headerSize > kMaxHeaderBytes)
    return makeError("{0}: corrupt safetensors file: header length {1} bytes "
                   "(at most {2})",
                   path, headerSize, kMaxHeaderBytes);
  if (headerSize > bytes.size() - 8)
    return makeError("{0}: truncated safetensors file: the header needs {1} "
                   "bytes, the file has {2} after the length field",
                   path, headerSize, bytes.size() - 8);
  uint64_t dataStart = 8 + headerSize;
  uint64_t dataSize = bytes.size() - dataStart;
  Expected<json::Value> header = json::parse(bytes.substr(8, headerSize));
  if (!header)
    return makeError("{0}: corrupt safetensors header: {1}", path,
                   toString(header.takeError()));
  const json::Object *object = header->getAsObject();
  if (!object)
    return makeError("{0}: corrupt safetensors header: not a JSON object", path);

  unsigned fileIndex = paths.size();
  std::vector<std::pair<uint64_t, std::string>> ranges;
  for (const auto &[key, value] : *object) {
    std::string name = key.str();
    if (name == "__metadata__")
      continue;
    const json::Object *info = value.getAsObject();
    if (!info)
      return makeError("{0}: tensor '{1}': header entry is not an object", path,
                     name);
    TensorEntry entry;
    entry.file = fileIndex;
    std::optional<StringRef> dtype = info->getString("dtype");
    if (!dtype)
      return makeError("{0}: tensor '{1}': header entry has no dtype", path,
                     name);
    if (std::optional<TensorDType> known = parseDType(*dtype))
      entry.dtype = *known;
    else
      return makeError("{0}: tensor '{1}' has dtype {2}; densessm reads F32, "
                     "F16 and BF16",
                     path, name, *dtype);
    const json::Array *shape = info->getArray("shape");
    if (!shape)
      return makeError("{0}: tensor '{1}': header entry has no shape", path,
                     name);
    uint64_t count = 1;
    for (const json::Value &dim : *shape) {
      std::optional<int64_t> size = dim.getAsInteger();
      if (!size || *size < 0 || *size > (int64_t(1) << 40))
        return makeError("{0}: tensor '{1}': shape entries must be "
                       "non-negative integers",
                       path, name);
      entry.shape.push_back(*size);
      count = *size == 0 ? 0 : count;
      if (count && count > (uint64_t(1) << 50) / uint64_t(*size))
        return makeError("{0}: tensor '{1}': shape {2} is too large", path, name,
                       shapeString(entry.shape));
      count *= uint64_t(*size);
    }
    const json::Array *offsets = info->getArray("data_offsets");
    std::optional<int64_t> begin, end;
    if (offsets && offsets->size() == 2) {
      begin = (*offsets)[0].getAsInteger();
      end = (*offsets)[1].getAsInteger();
    }
    if (!begin || !end || *begin < 0 || *end < *begin)
      return makeError("{0}: tensor '{1}': data_offsets must be two integers "
                     "[begin, end] with begin <= end",
                     path, name);
    if (uint64_t(*end) > dataSize)
      return makeError("{0}: truncated safetensors file: tensor '{1}' (bytes "
                     "{2} .. {3} of the data) runs past the end of the file "
                     "({4} data bytes)",
                     path, name, *begin, *end, dataSize);
    uint64_t expected = count * dtypeSize(entry.dtype);
    if (uint64_t(*end - *begin) != expected)
      return makeError("{0}: tensor '{1}': data_offsets cover {2} bytes, shape "
                     "{3} of {4} needs {5}",
                     path, name, *end - *begin, shapeString(entry.shape),
                     *dtype, expected);
    entry.begin = dataStart + uint64_t(*begin);
    entry.end = dataStart + uint64_t(*end);
    if (entries.count(name))
      return makeError("{0}: tensor '{1}' is also in {2}", path, name,
                     paths[entries[name].file]);
    if (entry.end > entry.begin)
      ranges.push_back({entry.begin, name});
    entries[name] = std::move(entry);
  }
  // Tensors must not share bytes.
  llvm::sort(ranges);
  for (size_t i = 1; i < ranges.size(); ++i) {
    const TensorEntry &previous = entries[ranges[i - 1].second];
    if (previous.end > ranges[i].first)
      return makeError("{0}: corrupt safetensors header: tensors '{1}' and "
                     "'{2}' overlap",
                     path, ranges[i - 1].second, ranges[i].second);
  }
  paths.push_back(path.str());
  buffers.push_back(std::move(buffer));
  return Error::success();
}

TensorShapes TensorFiles::shapes() const {
  TensorShapes shapes;
  for (const auto &entry : entries)
    shapes[entry.getKey()] = entry.getValue().shape;
  return shapes;
}

std::string TensorFiles::fileOf(StringRef name) const {
  auto found = entries.find(name);
  return found == entries.end() ? std::string() : paths[found->getValue().file];
}

std::optional<TensorDType> TensorFiles::dtypeOf(StringRef name) const {
  auto found = entries.find(name);
  if (found == entries.end())
    return std::nullopt;
  return found->getValue().dtype;
}

Expected<StringRef> TensorFiles::bytesOf(StringRef name) const {
  auto found = entries.find(name);
  if (found == entries.end())
    return makeError("no tensor '{0}' in the checkpoint", name);
  const TensorEntry &entry = found->getValue();
  return buffers[entry.file]->getBuffer().slice(entry.begin, entry.end);
}

static Expected<json::Value> readJSON(StringRef path) {
  auto buffer = MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError("{0}: cannot read: {1}", path, buffer.getError().message());
  Expected<json::Value> value = json::parse((*buffer)->getBuffer());
  if (!value)
    return makeError("{0}: not valid JSON: {1}", path,
                   toString(value.takeError()));
  return value;
}

/// The shard files of an index, each once, in the index's order.
static Expected<std::vector<std::string>> shardsOf(StringRef indexPath,
                                                   StringRef directory) {
  Expected<json::Value> index = readJSON(indexPath);
  if (!index)
    return index.takeError();
  const json::Object *object = index->getAsObject();
  const json::Object *map = object ? object->getObject("weight_map") : nullptr;
  if (!map)
    return makeError("{0}: missing object 'weight_map' (tensor name -> shard "
                   "file)",
                   indexPath);
  std::vector<std::string> shards;
  std::set<std::string> seen;
  for (const auto &[tensor, file] : *map) {
    std::optional<StringRef> name = file.getAsString();
    if (!name || name->contains('/') || name->contains('\\'))
      return makeError("{0}: weight_map entry '{1}' must name a file in the "
                     "checkpoint directory",
                     indexPath, tensor.str());
    SmallString<256> path(directory);
    sys::path::append(path, *name);
    if (seen.insert(std::string(path)).second)
      shards.push_back(std::string(path));
  }
  std::sort(shards.begin(), shards.end());
  return shards;
}

Expected<std::unique_ptr<Checkpoint>> Checkpoint::open(StringRef directory) {
  if (!sys::fs::is_directory(directory))
    return makeError("{0}: not a checkpoint directory (expected config.json "
                   "and *.safetensors in it)",
                   directory);
  auto checkpoint = std::make_unique<Checkpoint>();
  checkpoint->directory = directory.str();

  SmallString<256> configPath(directory);
  sys::path::append(configPath, "config.json");
  Expected<json::Value> configJSON = readJSON(configPath);
  if (!configJSON)
    return configJSON.takeError();
  Expected<ModelConfig> config = parseModelConfig(*configJSON, configPath);
  if (!config)
    return config.takeError();
  checkpoint->config = *config;
  checkpoint->configJSON = std::move(*configJSON);

  SmallString<256> single(directory), index(directory);
  sys::path::append(single, "model.safetensors");
  sys::path::append(index, "model.safetensors.index.json");
  std::vector<std::string> files;
  if (sys::fs::exists(single)) {
    files.push_back(std::string(single));
  } else if (sys::fs::exists(index)) {
    Expected<std::vector<std::string>> shards = shardsOf(index, directory);
    if (!shards)
      return shards.takeError();
    files = std::move(*shards);
  } else {
    return makeError("{0}: no model.safetensors or model.safetensors.index.json "
                   "in the checkpoint directory",
                   directory);
  }
  for (const std::string &file : files)
    if (Error error = checkpoint->tensors.addFile(file))
      return std::move(error);
  return checkpoint;
}
