//===- densessm-dump-module.cpp - print what a module file holds ----------===//
//
//   densessm-dump-module MODULE.dssm [--weights]
//
// Verifies the file exactly as the runtime does (ModuleFile), then prints
// its model, entry points with their bindings, per-sequence state, weights
// (a summary; every weight with --weights) and executables.
//
//===----------------------------------------------------------------------===//

#include "ModuleFile.h"

#include <cstdio>
#include <cstring>
#include <map>
#include <string>

using namespace densessm;
using namespace densessm::runtime;

namespace {

std::string shapeText(const flatbuffers::Vector<int64_t> *shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape->size(); ++i) {
    int64_t dim = shape->Get(i);
    text += (i ? ", " : "") + (dim < 0 ? std::string("?") : std::to_string(dim));
  }
  return text + "]";
}

std::string bindingText(const module::ModuleDef &def,
                        const module::Binding &binding) {
  std::string text = module::EnumNameRole(binding.role());
  if (binding.role() == module::Role::State)
    text += " '" + def.states()->Get(binding.index())->name()->str() + "'";
  if (binding.role() == module::Role::Weight)
    text += " '" + def.weights()->Get(binding.index())->name()->str() + "'";
  return text + " " + module::EnumNameElementType(binding.element_type()) +
         shapeText(binding.shape());
}

void dump(const ModuleFile &file, bool allWeights) {
  const module::ModuleDef &def = file.def();
  std::printf("module %s\n", file.name().c_str());
  std::printf("  abi version  %u, written by %s\n", def.abi_version(),
              def.producer() ? def.producer()->c_str() : "?");
  std::printf("  model        %s, vocabulary %lld, compiled from %s\n",
              def.model()->family()->c_str(),
              (long long)def.model()->vocab_size(),
              def.model()->source() ? def.model()->source()->c_str() : "?");
  std::printf("  config       %s\n", def.model()->config_json()->c_str());
  for (const module::EntryPoint *entry : *def.entry_points()) {
    std::printf("  entry point  @%s (%s schedule)\n", entry->name()->c_str(),
                module::EnumNameSchedule(entry->schedule()));
    size_t weights = 0;
    for (const module::Binding *binding : *entry->arguments())
      if (binding->role() == module::Role::Weight)
        ++weights;
      else
        std::printf("    in   %s\n", bindingText(def, *binding).c_str());
    std::printf("    in   %zu weights\n", weights);
    for (const module::Binding *binding : *entry->results())
      std::printf("    out  %s\n", bindingText(def, *binding).c_str());
    for (const module::Dispatch *dispatch : *entry->dispatches())
      std::printf("    runs %s of executable %u\n", dispatch->symbol()->c_str(),
                  dispatch->executable());
  }
  uint64_t stateBytes = 0;
  for (const module::StateTensor *state : *def.states()) {
    uint64_t count = 1;
    for (int64_t dim : *state->shape())
      count *= uint64_t(dim);
    stateBytes += count * 4;
  }
  std::printf("  state        %u tensors, %.1f KiB per sequence\n",
              def.states()->size(), stateBytes / 1024.0);
  uint64_t weightBytes = 0;
  for (const module::Weight *weight : *def.weights()) {
    weightBytes += weight->data()->size();
    if (allWeights)
      std::printf("    weight %-60s %s%s at %llu\n", weight->name()->c_str(),
                  module::EnumNameElementType(weight->element_type()),
                  shapeText(weight->shape()).c_str(),
                  (unsigned long long)weight->data()->offset());
  }
  std::printf("  weights      %u tensors, %.2f MiB%s\n", def.weights()->size(),
              weightBytes / (1024.0 * 1024.0),
              allWeights ? "" : " (--weights lists them)");
  // CUDA kernel objects (a kernel_key) are many: one line per format and
  // architecture.
  std::map<std::string, std::pair<unsigned, uint64_t>> kernelObjects;
  for (const module::Executable *executable : *def.executables()) {
    const char *architecture =
        executable->architecture() ? executable->architecture()->c_str() : "?";
    if (executable->kernel_key() != 0) {
      auto &[count, bytes] =
          kernelObjects[executable->format()->str() + " for " + architecture +
                        (executable->programmatic_launch()
                             ? " (programmatic launch)"
                             : "")];
      ++count;
      bytes += executable->image()->size();
      continue;
    }
    std::printf("  executable   %s %s for %s, %.1f KiB at offset %llu%s\n",
                module::EnumNameTarget(executable->target()),
                executable->format()->c_str(), architecture,
                executable->image()->size() / 1024.0,
                (unsigned long long)executable->image()->offset(),
                executable->target() == module::Target::CUDA
                    ? " (host code, kernels embedded)"
                    : "");
  }
  for (const auto &[what, counts] : kernelObjects)
    std::printf("  executable   CUDA %s: %u kernel objects, %.1f KiB\n",
                what.c_str(), counts.first, counts.second / 1024.0);
}

} // namespace

int main(int argc, char **argv) {
  std::string path;
  bool allWeights = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--weights") == 0) {
      allWeights = true;
    } else if (argv[i][0] == '-') {
      std::fprintf(stderr,
                   "densessm-dump-module: error: unknown option '%s'\n"
                   "usage: densessm-dump-module MODULE.dssm [--weights]\n",
                   argv[i]);
      return 1;
    } else {
      path = argv[i];
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: densessm-dump-module MODULE.dssm [--weights]\n");
    return 1;
  }
  std::unique_ptr<ModuleFile> file;
  Status status = ModuleFile::open(path, file);
  if (!status.isOk()) {
    std::fprintf(stderr, "densessm-dump-module: error: %s\n",
                 status.message().c_str());
    return 1;
  }
  dump(*file, allWeights);
  return 0;
}
