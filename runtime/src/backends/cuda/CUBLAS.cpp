//===- CUBLAS.cpp - open cuBLAS and resolve the symbol table --------------===//

#include "CUBLAS.h"

#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

namespace densessm::runtime {

namespace {

/// The cublasStatus_t names (cublasGetStatusString only describes them).
const char *statusName(cublasStatus_t status) {
  switch (status) {
  case 0:
    return "CUBLAS_STATUS_SUCCESS";
  case 1:
    return "CUBLAS_STATUS_NOT_INITIALIZED";
  case 3:
    return "CUBLAS_STATUS_ALLOC_FAILED";
  case 7:
    return "CUBLAS_STATUS_INVALID_VALUE";
  case 8:
    return "CUBLAS_STATUS_ARCH_MISMATCH";
  case 11:
    return "CUBLAS_STATUS_MAPPING_ERROR";
  case 13:
    return "CUBLAS_STATUS_EXECUTION_FAILED";
  case 14:
    return "CUBLAS_STATUS_INTERNAL_ERROR";
  case 15:
    return "CUBLAS_STATUS_NOT_SUPPORTED";
  case 16:
    return "CUBLAS_STATUS_LICENSE_ERROR";
  default:
    return "unknown status";
  }
}

/// Resolves `symbol` into `slot`, or adds `name` to the missing ones. The
/// _v2 entry points are the ones cublas_v2.h maps the API's names to.
template <typename Function>
void resolve(void *library, const char *name, const char *symbol,
             Function &slot, std::string &missing) {
  void *address = dlsym(library, symbol);
  if (!address) {
    missing += missing.empty() ? name : std::string(", ") + name;
    return;
  }
  slot = reinterpret_cast<Function>(address);
}

} // namespace

std::string CUBLAS::describe(cublasStatus_t status,
                             const std::string &what) const {
  std::string text = statusName(status);
  if (const char *description =
          cublasGetStatusString ? cublasGetStatusString(status) : nullptr)
    text += std::string(": ") + description;
  return what + ": cuBLAS error " + std::to_string(status) + " (" + text + ")";
}

std::vector<std::string> cublasLibraryCandidates() {
  if (const char *chosen = std::getenv(kCublasLibraryVariable);
      chosen && *chosen)
    return {chosen};
  std::vector<std::string> candidates = {"libcublas.so.13", "libcublas.so.12",
                                         "libcublas.so.11", "libcublas.so"};
  std::vector<std::string> roots;
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH"})
    if (const char *root = std::getenv(variable); root && *root)
      roots.push_back(root);
  roots.push_back("/usr/local/cuda");
  for (const std::string &root : roots)
    for (const char *name : {"libcublas.so.13", "libcublas.so.12"}) {
      std::string path = root + "/lib64/" + name;
      if (std::find(candidates.begin(), candidates.end(), path) ==
          candidates.end())
        candidates.push_back(path);
    }
  return candidates;
}

Status openCUBLAS(const std::vector<std::string> &candidates, CUBLAS &out) {
  void *library = nullptr;
  std::string tried;
  for (const std::string &candidate : candidates) {
    library = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library) {
      out.library = candidate;
      break;
    }
    const char *why = dlerror();
    tried += (tried.empty() ? "" : "; ") + candidate + ": " +
             (why ? why : "not found");
  }
  if (!library)
    return errorOf("cannot load cuBLAS, which CUDA modules use for their "
                   "projections (tried ",
                   tried, "); install cuBLAS (CUDA toolkit 11 or later), set ",
                   kCublasLibraryVariable,
                   " to the library's path, or use the CPU");
  std::string missing;
#define DSSM_RESOLVE(name, symbol) resolve(library, #name, symbol, out.name, missing)
  DSSM_RESOLVE(cublasCreate, "cublasCreate_v2");
  DSSM_RESOLVE(cublasDestroy, "cublasDestroy_v2");
  DSSM_RESOLVE(cublasSetStream, "cublasSetStream_v2");
  DSSM_RESOLVE(cublasSetMathMode, "cublasSetMathMode");
  DSSM_RESOLVE(cublasSgemm, "cublasSgemm_v2");
  DSSM_RESOLVE(cublasSgemv, "cublasSgemv_v2");
#undef DSSM_RESOLVE
  if (!missing.empty()) {
    dlclose(library);
    return errorOf("the cuBLAS library ", out.library, " lacks ", missing,
                   "; it is older than this runtime needs (cuBLAS 11 or "
                   "later)");
  }
  // Optional: the messages name the status themselves without it.
  out.cublasGetStatusString = reinterpret_cast<const char *(*)(cublasStatus_t)>(
      dlsym(library, "cublasGetStatusString"));
  return Status::ok();
}

Status loadCUBLAS(const CUBLAS *&out) {
  static CUBLAS table;
  static Status status = Status::ok();
  static std::once_flag once;
  std::call_once(once,
                 [] { status = openCUBLAS(cublasLibraryCandidates(), table); });
  if (!status.isOk())
    return status;
  out = &table;
  return Status::ok();
}

} // namespace densessm::runtime
