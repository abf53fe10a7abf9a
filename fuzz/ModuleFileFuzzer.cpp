//===- ModuleFileFuzzer.cpp - fuzz the runtime's module (.dssm) loader ----===//
//
// The input is a .dssm image, loaded through the C API as an application
// would (dssm_module_load_memory: preamble, FlatBuffer verification, every
// payload offset, the entry points and their bindings). It must load or
// return a status with a message; an accepted module's accessors must work.
// Creating a session would run the module's code, which a hostile file may
// make do anything: the loader's checks are what is fuzzed here.
//
//===----------------------------------------------------------------------===//

#include "densessm/runtime/densessm_runtime.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dssm_module *module = nullptr;
  dssm_status status = dssm_module_load_memory(data, size, "fuzz.dssm", &module);
  if (status) {
    if (module || std::strlen(dssm_status_message(status)) == 0)
      std::abort(); // a failed load returns no module and says why
    dssm_status_free(status);
    return 0;
  }
  if (dssm_module_vocab_size(module) <= 0)
    std::abort(); // the loader refuses a vocabulary of no tokens
  (void)dssm_module_weight_bytes(module);
  (void)std::strlen(dssm_module_family(module));
  dssm_module_release(module);
  return 0;
}
