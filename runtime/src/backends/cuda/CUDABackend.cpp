//===- CUDABackend.cpp - run the CUDA host code of a module ---------------===//
//
// A module compiled with --target=cuda carries the CUDA host code, an ELF
// shared object like the CPU executable (backends/HostCode.h), whose
// dispatch functions launch the kernels through the mgpu* functions
// (MGPURuntime.cpp). Its constructors load every kernel module when it is
// loaded: from the module file's kernel objects for this GPU (a cubin for
// its architecture, else the newest PTX it can JIT), else by JIT-compiling
// the PTX embedded in the host code.
//
// The host code expects every buffer in memory both the GPU and the host
// can reach (it may copy strided views on the host): the weights are
// uploaded once into CUDA managed memory. A session's states and logits are
// in its session memory (SessionMemory.h), on the GPU from one run to the
// next; each run copies in only the tokens and positions, through one
// buffer from the pool, and the logits out. Around a queued entry point
// those copies go on the queue's stream (mgpuSetQueueTransfers), so that a
// decode step waits once, for its graph and the logits behind it.
//
// Entry points whose GPU work is queued are replayed as CUDA graphs from
// their second run on (QueueGraphs.h), unless DENSESSM_CUDA_GRAPHS=0.
//
//===----------------------------------------------------------------------===//

#include "CUDABackend.h"

#include "DeviceMemoryPool.h"
#include "MGPURuntime.h"
#include "QueueGraphs.h"
#include "SessionMemory.h"
#include "backends/HostCode.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace densessm::runtime {
namespace {

/// "sm_90" -> 90; -1 when it is not of that form.
int smNumber(const flatbuffers::String *architecture) {
  if (!architecture || architecture->size() < 4 ||
      std::strncmp(architecture->c_str(), "sm_", 3) != 0)
    return -1;
  char *end = nullptr;
  long number = std::strtol(architecture->c_str() + 3, &end, 10);
  return *end == '\0' ? int(number) : -1;
}

/// Managed memory freed with the object.
class ManagedBuffer {
public:
  explicit ManagedBuffer(const CUDADriver &driver) : driver(driver) {}
  ~ManagedBuffer() { reset(); }
  void reset() {
    if (pointer)
      driver.cuMemFree(pointer);
    pointer = 0;
  }
  Status allocate(size_t bytes, const char *what) {
    if (CUresult result = driver.cuMemAllocManaged(
            &pointer, bytes ? bytes : 1, kMemAttachGlobal))
      return errorOf(driver.describe(result, "cuMemAllocManaged"), " (",
                     bytes, " bytes for ", what, ")");
    return Status::ok();
  }
  uint8_t *data() const {
    return reinterpret_cast<uint8_t *>(uintptr_t(pointer));
  }

private:
  const CUDADriver &driver;
  CUdeviceptr pointer = 0;
};

class CUDABackend final : public Backend {
public:
  CUDABackend(const CUDADriver &driver, const CUDALaunchOptions &options)
      : driver(driver), weights(driver), graphs(driver, options.graphs),
        programmaticLaunch(options.programmaticLaunch) {}

  ~CUDABackend() override {
    KernelScope scope(driver, &objects); // the context current
    // The graphs launch kernels of the modules the host code's destructors
    // unload.
    graphs.clear();
    library.close();
    weights.reset();
    // Buffers the host code freed are kept for reuse (DeviceMemoryPool.h);
    // give them back (those other modules still use stay theirs).
    DeviceMemoryPool::instance().trim(driver);
  }

  /// The module file's kernel objects this GPU can load, the best per key:
  /// a cubin for its architecture (same major version, minor not newer),
  /// else the PTX of the newest architecture not newer than it.
  void selectKernelObjects(const ModuleFile &file) {
    int device = driver.computeCapability;
    std::unordered_map<uint64_t, int> scores;
    for (const module::Executable *executable : *file.def().executables()) {
      if (executable->target() != module::Target::CUDA ||
          executable->kernel_key() == 0)
        continue;
      bool cubin = executable->format()->str() == "cubin";
      if (!cubin && executable->format()->str() != "ptx")
        continue;
      int sm = smNumber(executable->architecture());
      if (sm < 0 || sm > device || (cubin && sm / 10 != device / 10))
        continue;
      int score = cubin ? 1000 + sm : sm;
      auto [best, inserted] = scores.try_emplace(executable->kernel_key(), score);
      if (!inserted && best->second >= score)
        continue;
      best->second = score;
      objects[executable->kernel_key()] = {
          file.payload(*executable->image()),
          size_t(executable->image()->size()), cubin,
          executable->architecture()->str(),
          programmaticLaunch && executable->programmatic_launch()};
    }
  }

  Status load(const ModuleFile &file) {
    uint32_t index = 0;
    const module::Executable *executable = findExecutable(
        file, module::Target::CUDA, "elf-shared-object", index);
    if (!executable)
      return errorOf(file.name(), ": the module has no CUDA code (it was "
                                  "compiled with --target=cpu); recompile it "
                                  "with --target=cuda");
    KernelScope scope(driver, &objects);
    DSSM_RETURN_IF_ERROR(scope.status());
    std::vector<size_t> offsets;
    size_t total = layOutWeights(file, offsets);
    DSSM_RETURN_IF_ERROR(weights.allocate(total, "the weights"));
    const auto &all = *file.def().weights();
    for (size_t i = 0; i < all.size(); ++i) {
      std::memcpy(weights.data() + offsets[i],
                  file.payload(*all.Get(i)->data()), all.Get(i)->data()->size());
      weightData.push_back(weights.data() + offsets[i]);
    }
    DSSM_RETURN_IF_ERROR(moveToGPU(weights.data(), total, "the weights"));
    selectKernelObjects(file);
    DSSM_RETURN_IF_ERROR(
        library.open(file, *executable, "the CUDA host code"));
    Status loaded = scope.status();
    if (!loaded.isOk())
      return errorOf(file.name(), ": loading the CUDA kernels on ",
                     driver.deviceName, " (sm_", driver.computeCapability,
                     ") failed: ", loaded.message());
    return library.resolveDispatches(file, index, functions);
  }

  Status run(const module::EntryPoint &entry,
             const std::vector<HostTensor> &bindings,
             const RunTransfers &transfers) const override {
    auto found = functions.find(entry.name()->str());
    if (found == functions.end())
      return errorOf("the CUDA host code has no code for entry point '",
                     entry.name()->str(), "'");
    KernelScope scope(driver, &objects, &graphs);
    DSSM_RETURN_IF_ERROR(scope.status());

    // The bindings in host memory (the tokens and positions; the states and
    // logits are in session memory, bound as they are) go through one
    // buffer from the pool, each at a 256-byte aligned offset.
    size_t arguments = entry.arguments()->size();
    std::vector<size_t> offsets(bindings.size()), bytes(bindings.size());
    size_t total = 0;
    for (size_t i = 0; i < bindings.size(); ++i) {
      uint32_t weight;
      if (isWeightBinding(entry, i, weight) || bindings[i].inSessionMemory)
        continue;
      size_t count = 1;
      for (int64_t dim : bindings[i].shape)
        count *= size_t(dim);
      bytes[i] = count * elementBytes(bindingAt(entry, i).element_type());
      offsets[i] = total;
      total += (bytes[i] + 255) / 256 * 256;
    }
    auto *staging = static_cast<uint8_t *>(
        total ? mgpuMemAlloc(total, nullptr, /*hostShared=*/true) : nullptr);
    if (total && !staging)
      return errorOf("running entry point '", entry.name()->str(), "' on ",
                     driver.deviceName, ": ", scope.status().message());
    std::vector<void *> data(bindings.size());
    std::vector<Transfer> in = transfers.before, out = transfers.after;
    for (size_t i = 0; i < bindings.size(); ++i) {
      uint32_t weight;
      if (isWeightBinding(entry, i, weight)) {
        data[i] = weightData[weight];
      } else if (bindings[i].inSessionMemory) {
        data[i] = bindings[i].data;
      } else {
        data[i] = staging + offsets[i];
        if (i < arguments)
          in.push_back({data[i], bindings[i].data, bytes[i]});
        else
          out.push_back({bindings[i].data, data[i], bytes[i]});
      }
    }
    // The copies in and out go on the queue's stream around its work,
    // under its one wait, when the host code queues it; otherwise the
    // copies in are waited for before its first GPU work, and the copies
    // out after it returns.
    mgpuSetQueueTransfers(std::move(in), std::move(out));

    // Every launch, copy and projection of the host code has been waited
    // for when it returns (one by one, or at its queue's end). No wait for
    // the whole context: it would invalidate the graph another thread is
    // capturing.
    if (scope.status().isOk())
      callDispatch(found->second, bindings, data);
    mgpuFinishQueueTransfers();
    mgpuMemFree(staging, nullptr); // back to the pool
    Status status = scope.status();
    if (!status.isOk())
      return errorOf("running entry point '", entry.name()->str(), "' on ",
                     driver.deviceName, ": ", status.message());
    return Status::ok();
  }

  Status allocateSessionMemory(size_t bytes, void *&out) const override {
    KernelScope scope(driver, &objects);
    out = allocateGPUSessionMemory(bytes);
    return scopeStatus(scope, "allocating session memory");
  }

  void freeSessionMemory(void *pointer) const override {
    KernelScope scope(driver, &objects);
    freeGPUSessionMemory(pointer);
  }

  Status transfer(const std::vector<Transfer> &copies) const override {
    KernelScope scope(driver, &objects);
    mgpuTransferAndWait(copies);
    return scopeStatus(scope, "copying session memory");
  }

private:
  /// Moves managed memory the host wrote onto the GPU in bulk, so that the
  /// first kernels that read it do not fault it over page by page. Where
  /// the driver has no cuMemPrefetchAsync_v2, or the prefetch is refused,
  /// the faults do it.
  Status moveToGPU(const void *memory, size_t bytes, const char *what) const {
    if (!driver.cuMemPrefetchAsync || bytes == 0)
      return Status::ok();
    CUmemLocation gpu{kMemLocationTypeDevice, /*id: the device's ordinal*/ 0};
    if (driver.cuMemPrefetchAsync(
            CUdeviceptr(reinterpret_cast<uintptr_t>(memory)), bytes, gpu, 0,
            nullptr) != 0)
      return Status::ok();
    if (CUresult result = driver.cuStreamSynchronize(nullptr))
      return errorOf(driver.describe(result, "cuStreamSynchronize"),
                     " (moving ", bytes, " bytes of ", what, " to ",
                     driver.deviceName, ")");
    return Status::ok();
  }

  /// The scope's failure, if any, saying what failed and on which GPU.
  Status scopeStatus(const KernelScope &scope, const char *what) const {
    Status status = scope.status();
    if (status.isOk())
      return status;
    return errorOf(what, " on ", driver.deviceName, ": ", status.message());
  }

  const CUDADriver &driver;
  ManagedBuffer weights;
  std::vector<uint8_t *> weightData; // per weight, into `weights`
  KernelObjects objects;
  mutable QueueGraphs graphs; // run() is const; QueueGraphs locks its state
  /// Whether objects whose kernels wait for the kernels before them keep
  /// that flag (their kernels then launched with programmatic stream
  /// serialization).
  bool programmaticLaunch;
  SharedObject library; // after `objects`: closed first
  std::unordered_map<std::string, PackedFunction> functions;
};

} // namespace

namespace {
/// An environment variable that is 1 (or unset: `wanted` true) or 0; what
/// 1 and 0 do, for the error about any other value.
Status switchFromEnvironment(const char *name, const char *on,
                             const char *off, bool &wanted) {
  const char *value = std::getenv(name);
  wanted = !value || std::strcmp(value, "1") == 0;
  if (value && !wanted && std::strcmp(value, "0") != 0)
    return errorOf(name, "='", value, "': expected 1 (", on,
                   ", the default) or 0 (", off, ")");
  return Status::ok();
}
} // namespace

Status cudaLaunchOptionsFromEnvironment(CUDALaunchOptions &options) {
  DSSM_RETURN_IF_ERROR(switchFromEnvironment(
      "DENSESSM_CUDA_GRAPHS", "replay queued entry points as CUDA graphs",
      "launch their kernels one by one", options.graphs));
  return switchFromEnvironment(
      "DENSESSM_CUDA_PDL",
      "launch kernels that wait for the kernels before them with "
      "programmatic stream serialization",
      "launch every kernel after the one before it ends",
      options.programmaticLaunch);
}

Status createCUDABackend(const ModuleFile &file, const CUDADriver &driver,
                         const CUDALaunchOptions &options,
                         std::unique_ptr<Backend> &out) {
  auto backend = std::make_unique<CUDABackend>(driver, options);
  DSSM_RETURN_IF_ERROR(backend->load(file));
  out = std::move(backend);
  return Status::ok();
}

} // namespace densessm::runtime
