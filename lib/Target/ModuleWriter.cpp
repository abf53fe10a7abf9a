//===- ModuleWriter.cpp - write a .dssm module file -----------------------===//

#include "densessm/Target/ModuleWriter.h"

#include "densessm/Support/Error.h"
#include "densessm/Support/PayloadFile.h"
#include "densessm/Target/HostCode.h"
#include "densessm/runtime/densessm_runtime.h"
#include "module_def_generated.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir::densessm;
namespace fb = densessm::module;


static uint64_t elementCount(const WeightSignature &weight) {
  uint64_t count = 1;
  for (int64_t dim : weight.shape)
    count *= uint64_t(dim);
  return count;
}

static uint64_t weightBytes(const WeightSignature &weight) {
  return elementCount(weight) * (weight.element == BindingElement::F32
                                     ? sizeof(float)
                                     : sizeof(uint16_t));
}

static fb::ElementType toElementType(BindingElement element) {
  switch (element) {
  case BindingElement::F32:
    return fb::ElementType::F32;
  case BindingElement::BF16:
    return fb::ElementType::BF16;
  case BindingElement::F16:
    return fb::ElementType::F16;
  case BindingElement::I64:
    return fb::ElementType::I64;
  }
  return fb::ElementType::F32;
}

static fb::Role toRole(BindingRole role) {
  switch (role) {
  case BindingRole::Tokens:
    return fb::Role::Tokens;
  case BindingRole::Position:
    return fb::Role::Position;
  case BindingRole::State:
    return fb::Role::State;
  case BindingRole::Weight:
    return fb::Role::Weight;
  case BindingRole::Logits:
    return fb::Role::Logits;
  }
  return fb::Role::Tokens;
}

/// The ModuleDef, with payloads placed from `payloadStart` on (executables
/// first, then weights, each 64-byte aligned). Its size does not depend on
/// `payloadStart` (payload offsets are fixed-width structs), which is how
/// the writer learns where the payloads begin.
static flatbuffers::DetachedBuffer buildModuleDef(const ModuleContents &contents,
                                                  uint64_t payloadStart,
                                                  std::vector<uint64_t> &offsets) {
  flatbuffers::FlatBufferBuilder builder(1 << 16);
  const ModuleSignature &signature = contents.signature;
  offsets.clear();
  uint64_t cursor = payloadStart;
  auto place = [&](uint64_t size) {
    offsets.push_back(cursor);
    fb::Payload payload(cursor, size);
    cursor = alignToPayload(cursor + size);
    return payload;
  };

  std::vector<flatbuffers::Offset<fb::Executable>> executables;
  for (const ExecutableImage &executable : contents.executables) {
    fb::Payload image = place(executable.image.size());
    executables.push_back(fb::CreateExecutable(
        builder, executable.cuda ? fb::Target::CUDA : fb::Target::CPU,
        builder.CreateString(executable.format),
        builder.CreateString(executable.architecture), &image,
        executable.kernelKey, executable.programmaticLaunch));
  }
  std::vector<flatbuffers::Offset<fb::Weight>> weights;
  for (const WeightSignature &weight : signature.weights) {
    fb::Payload data = place(weightBytes(weight));
    weights.push_back(fb::CreateWeight(builder, builder.CreateString(weight.name),
                                       toElementType(weight.element),
                                       builder.CreateVector(weight.shape), &data));
  }
  std::vector<flatbuffers::Offset<fb::StateTensor>> states;
  for (const StateSignature &state : signature.states)
    states.push_back(fb::CreateStateTensor(builder,
                                           builder.CreateString(state.name),
                                           fb::ElementType::F32,
                                           builder.CreateVector(state.shape)));
  auto bindings = [&](const std::vector<BindingSignature> &list) {
    std::vector<flatbuffers::Offset<fb::Binding>> out;
    for (const BindingSignature &binding : list)
      out.push_back(fb::CreateBinding(
          builder, toRole(binding.role), toElementType(binding.element),
          builder.CreateVector(binding.shape), binding.index));
    return builder.CreateVector(out);
  };
  std::vector<flatbuffers::Offset<fb::EntryPoint>> entries;
  for (const EntrySignature &entry : signature.entries) {
    std::vector<flatbuffers::Offset<fb::Dispatch>> dispatches;
    for (auto [i, executable] : llvm::enumerate(contents.executables))
      if (executable.format == "elf-shared-object") // CPU code, CUDA host code
        dispatches.push_back(fb::CreateDispatch(
            builder, uint32_t(i),
            builder.CreateString(dispatchSymbol(entry.name))));
    auto arguments = bindings(entry.arguments);
    auto results = bindings(entry.results);
    entries.push_back(fb::CreateEntryPoint(
        builder, builder.CreateString(entry.name),
        entry.recurrent ? fb::Schedule::Recurrent : fb::Schedule::Parallel,
        arguments, results, builder.CreateVector(dispatches)));
  }
  auto model = fb::CreateModelInfo(
      builder, builder.CreateString(contents.family),
      builder.CreateString(contents.configJSON), signature.vocabSize,
      builder.CreateString(contents.source));
  auto root = fb::CreateModuleDef(
      builder, DSSM_ABI_VERSION, builder.CreateString("densessm-compile"),
      model, builder.CreateVector(entries), builder.CreateVector(states),
      builder.CreateVector(weights), builder.CreateVector(executables));
  fb::FinishModuleDefBuffer(builder, root);
  return builder.Release();
}

static llvm::Error writeContents(llvm::raw_ostream &stream,
                                 const ModuleContents &contents) {
  std::vector<uint64_t> offsets;
  uint64_t fbSize = buildModuleDef(contents, 0, offsets).size();
  uint64_t payloadStart = alignToPayload(kPayloadPreambleSize + fbSize);
  flatbuffers::DetachedBuffer def =
      buildModuleDef(contents, payloadStart, offsets);
  if (def.size() != fbSize)
    return makeError("internal error: the module header changed size");

  PayloadFileWriter writer(stream);
  writer.writeHeader({'D', 'E', 'N', 'S', 'E', 'S', 'S', 'M'}, DSSM_ABI_VERSION,
                     {def.data(), def.size()});
  size_t next = 0;
  for (const ExecutableImage &executable : contents.executables)
    writer.writePayload(offsets[next++], executable.image.data(),
                        executable.image.size());
  std::vector<char> data;
  for (auto [i, weight] : llvm::enumerate(contents.signature.weights)) {
    if (llvm::Error error = contents.weightData(i, data))
      return error;
    if (data.size() != weightBytes(weight))
      return makeError("weight '{0}' has {1} bytes, its shape needs {2}",
                       weight.name, data.size(), weightBytes(weight));
    writer.writePayload(offsets[next++], data.data(), data.size());
  }
  return llvm::Error::success();
}

llvm::Error mlir::densessm::writeModuleFile(llvm::StringRef path,
                                            const ModuleContents &contents) {
  return writeFileAtomically(path, "module", [&](llvm::raw_ostream &stream) {
    return writeContents(stream, contents);
  });
}
