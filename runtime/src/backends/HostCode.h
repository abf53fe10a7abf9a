//===- HostCode.h - load and call an executable's host code -----*- C++ -*-===//
//
// What the CPU and CUDA backends share: both executables are ELF shared
// objects (the CPU one is the model, the CUDA one its host code, which
// launches the kernels), loaded from the module file's bytes, exporting one
// dispatch symbol per entry point with the packed signature
// `void densessm_dispatch_<entry>(void **bindings)`: one pointer per binding
// to an MLIR memref descriptor {allocated, aligned, offset, sizes[rank],
// strides[rank]} (64-bit fields), arguments then results.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_HOSTCODE_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_HOSTCODE_H

#include "Backend.h"
#include "ModuleFile.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace densessm::runtime {

using PackedFunction = void (*)(void **);

/// The module's last executable for `target` in `format`; null (and
/// `index` unchanged) when there is none.
const module::Executable *findExecutable(const ModuleFile &file,
                                         module::Target target,
                                         const char *format, uint32_t &index);

/// A shared object loaded from a module file's executable: the image is
/// written to an anonymous memory file (memfd) and dlopen'ed through
/// /proc/self/fd, so nothing touches the disk. Its constructors run in
/// `open`, its destructors in `close` (or the destructor).
class SharedObject {
public:
  SharedObject() = default;
  SharedObject(const SharedObject &) = delete;
  SharedObject &operator=(const SharedObject &) = delete;
  ~SharedObject() { close(); }

  /// `what` names the executable in errors ("the CPU executable").
  Status open(const ModuleFile &file, const module::Executable &executable,
              const std::string &what);
  /// Resolves the dispatch symbol of every entry point that has one in
  /// executable `index`, keyed by entry point name.
  Status resolveDispatches(const ModuleFile &file, uint32_t index,
                           std::unordered_map<std::string, PackedFunction> &out);
  void close();

private:
  void *handle = nullptr;
  std::string what;
};

/// The byte offset of every weight in one buffer holding them all, each at
/// a 64-byte aligned offset; returns the buffer's size.
size_t layOutWeights(const ModuleFile &file, std::vector<size_t> &offsets);

/// Whether argument `i` of `entry` is a weight (whose data the backend binds
/// from its own copy); `weight` receives its index.
bool isWeightBinding(const module::EntryPoint &entry, size_t i,
                     uint32_t &weight);

/// The bytes of one element of a binding's type.
size_t elementBytes(module::ElementType type);

/// The binding (argument or result) at position `i` of the dispatch order.
const module::Binding &bindingAt(const module::EntryPoint &entry, size_t i);

/// Calls `function` with a dense row-major memref descriptor per binding:
/// `data[i]` with `bindings[i].shape`.
void callDispatch(PackedFunction function,
                  const std::vector<HostTensor> &bindings,
                  const std::vector<void *> &data);

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_HOSTCODE_H
