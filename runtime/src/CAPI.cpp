//===- CAPI.cpp - the C API over modules and sessions ---------------------===//
//
// Validates every argument (null handles, slots out of range, wrong sizes)
// and turns the runtime's Status values into dssm_status handles.
//
//===----------------------------------------------------------------------===//

#include "Module.h"
#include "Session.h"
#include "densessm/runtime/densessm_runtime.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <unistd.h>

using namespace densessm;
using namespace densessm::runtime;

struct dssm_status_s {
  std::string message;
};

static dssm_status toC(const Status &status) {
  if (status.isOk())
    return nullptr;
  return new (std::nothrow) dssm_status_s{status.message()};
}

#define DSSM_CHECK_ARG(cond, ...)                                              \
  do {                                                                         \
    if (!(cond))                                                               \
      return toC(errorOf(__VA_ARGS__));                                        \
  } while (false)

extern "C" {

const char *dssm_status_message(dssm_status status) {
  if (!status)
    return "ok";
  return status->message.c_str();
}

void dssm_status_free(dssm_status status) { delete status; }

static dssm_status finishLoad(std::unique_ptr<ModuleFile> file,
                              dssm_module **out) {
  auto *module = new (std::nothrow) dssm_module_s();
  if (!module)
    return toC(errorOf("out of memory creating a module"));
  module->file = std::move(file);
  Status status = prepareModule(*module);
  if (!status.isOk()) {
    delete module;
    return toC(status);
  }
  *out = module;
  return nullptr;
}

dssm_status dssm_module_load_file(const char *path, dssm_module **out) {
  DSSM_CHECK_ARG(path && out, "dssm_module_load_file: null argument");
  *out = nullptr;
  std::unique_ptr<ModuleFile> file;
  Status status = ModuleFile::open(path, file);
  if (!status.isOk())
    return toC(status);
  return finishLoad(std::move(file), out);
}

dssm_status dssm_module_load_memory(const void *data, size_t size,
                                    const char *name, dssm_module **out) {
  DSSM_CHECK_ARG(out, "dssm_module_load_memory: null output handle");
  *out = nullptr;
  std::unique_ptr<ModuleFile> file;
  Status status =
      ModuleFile::fromMemory(data, size, name ? name : "<memory>", file);
  if (!status.isOk())
    return toC(status);
  return finishLoad(std::move(file), out);
}

void dssm_module_release(dssm_module *module) {
  if (module && module->references.fetch_sub(1) == 1)
    delete module;
}

int64_t dssm_module_vocab_size(const dssm_module *module) {
  return module ? module->file->def().model()->vocab_size() : 0;
}

uint64_t dssm_module_weight_bytes(const dssm_module *module) {
  if (!module)
    return 0;
  uint64_t total = 0;
  for (const module::Weight *weight : *module->file->def().weights())
    total += weight->data()->size();
  return total;
}

const char *dssm_module_family(const dssm_module *module) {
  return module ? module->file->def().model()->family()->c_str() : "";
}

constexpr double kGiB = double(1ull << 30);

/// The machine's physical memory in bytes (0 when unknown).
static uint64_t physicalMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  return pages > 0 && pageSize > 0 ? uint64_t(pages) * uint64_t(pageSize) : 0;
}

dssm_status dssm_session_create(dssm_module *module, dssm_device device,
                                int32_t batch, dssm_session **out) {
  DSSM_CHECK_ARG(module && out, "dssm_session_create: null argument");
  *out = nullptr;
  DSSM_CHECK_ARG(batch >= 1, "dssm_session_create: batch must be at least 1, found ",
                 batch);
  DSSM_CHECK_ARG(device == DSSM_DEVICE_CPU || device == DSSM_DEVICE_CUDA ||
                     device == DSSM_DEVICE_AUTO,
                 "dssm_session_create: unknown device ", int(device));
  // AUTO: CUDA when it can run there, else the CPU, saying why.
  dssm_device chosen = device == DSSM_DEVICE_AUTO ? DSSM_DEVICE_CUDA : device;
  const Backend *backend = nullptr;
  Status status = module->backend(chosen, backend);
  std::string note;
  if (!status.isOk() && device == DSSM_DEVICE_AUTO) {
    note = "no CUDA: " + status.message();
    chosen = DSSM_DEVICE_CPU;
    status = module->backend(chosen, backend);
  }
  if (!status.isOk())
    return toC(status);
  // A state larger than the machine's memory is refused before it is
  // allocated: with overcommit the allocation could succeed and zeroing it
  // would bring in the OOM killer instead of an error.
  uint64_t perSequence =
      module->stateLayout.totalFloats * sizeof(float) + sizeof(int64_t);
  uint64_t memory = physicalMemory();
  DSSM_CHECK_ARG(memory == 0 || uint64_t(batch) <= memory / perSequence,
                 "dssm_session_create: out of memory: the state of ", batch,
                 " sequences needs ", double(batch) * double(perSequence) / kGiB,
                 " GiB, more than the machine's ", double(memory) / kGiB,
                 " GiB");
  auto *session = new (std::nothrow) dssm_session_s();
  if (!session)
    return toC(errorOf("out of memory creating a session"));
  try {
    session->batch = batch;
    session->vocab = dssm_module_vocab_size(module);
    // The state (the large allocation) first, so that it fails before the
    // others touch memory.
    for (size_t size : module->stateLayout.sizes) {
      session->states.emplace_back(*backend);
      status = session->states.back().resize(size * size_t(batch));
      if (!status.isOk()) {
        delete session;
        return toC(errorOf("allocating the state of ", batch, " sequences: ",
                           status.message()));
      }
    }
    session->positions.assign(size_t(batch), 0);
    session->logits.resize(size_t(batch));
    session->logitRows.assign(size_t(batch), 0);
  } catch (const std::bad_alloc &) {
    delete session;
    return toC(errorOf("out of memory allocating the state of ", batch,
                       " sequences"));
  }
  module->references.fetch_add(1);
  session->module = module;
  session->backend = backend;
  session->device = chosen;
  session->deviceNote = note;
  *out = session;
  return nullptr;
}

void dssm_session_release(dssm_session *session) {
  if (!session)
    return;
  // The session's buffers go back to its module's backend: free them first.
  dssm_module *module = session->module;
  delete session;
  dssm_module_release(module);
}

int32_t dssm_session_batch(const dssm_session *session) {
  return session ? session->batch : 0;
}

dssm_device dssm_session_device(const dssm_session *session) {
  return session ? session->device : DSSM_DEVICE_CPU;
}

const char *dssm_session_device_note(const dssm_session *session) {
  return session ? session->deviceNote.c_str() : "";
}

#define DSSM_CHECK_SLOT(session, slot)                                         \
  DSSM_CHECK_ARG(session, "null session");                                     \
  DSSM_CHECK_ARG(slot >= 0 && slot < session->batch, "slot ", slot,            \
                 " is out of range: the session has ", session->batch,         \
                 " slots")

dssm_status dssm_session_prefill(dssm_session *session,
                                 const int64_t *const *tokens,
                                 const int64_t *lengths,
                                 dssm_prefill_mode mode) {
  DSSM_CHECK_ARG(session, "dssm_session_prefill: null session");
  DSSM_CHECK_ARG(mode == DSSM_PREFILL_PARALLEL || mode == DSSM_PREFILL_RECURRENT,
                 "dssm_session_prefill: unknown mode ", int(mode));
  // The logits of a prefill (a row of vocab floats per prompt token) are
  // refused before any allocation or token is read when they cannot fit,
  // as a session's state is (see dssm_session_create).
  if (tokens && lengths) {
    double rows = 0;
    for (int32_t slot = 0; slot < session->batch; ++slot)
      rows += double(std::max<int64_t>(lengths[slot], 0));
    double bytes = rows * double(session->vocab) * sizeof(float);
    uint64_t memory = physicalMemory();
    DSSM_CHECK_ARG(memory == 0 || bytes <= double(memory),
                   "dssm_session_prefill: out of memory: the logits of ",
                   uint64_t(rows), " prompt tokens need ", bytes / kGiB,
                   " GiB, more than the machine's ", double(memory) / kGiB,
                   " GiB");
  }
  try {
    return toC(session->prefill(tokens, lengths, mode));
  } catch (const std::bad_alloc &) {
    return toC(errorOf("prefill: out of memory"));
  } catch (const std::length_error &) { // a vector larger than max_size()
    return toC(errorOf("prefill: out of memory"));
  }
}

dssm_status dssm_session_step(dssm_session *session, const int64_t *tokens,
                              const uint8_t *active) {
  DSSM_CHECK_ARG(session, "dssm_session_step: null session");
  try {
    return toC(session->step(tokens, active));
  } catch (const std::bad_alloc &) {
    return toC(errorOf("step: out of memory"));
  }
}

dssm_status dssm_session_logits(const dssm_session *session, int32_t slot,
                                const float **logits, int64_t *rows) {
  DSSM_CHECK_SLOT(session, slot);
  DSSM_CHECK_ARG(logits && rows, "dssm_session_logits: null output");
  *logits = session->logits[slot].data();
  *rows = session->logitRows[slot];
  return nullptr;
}

dssm_status dssm_session_position(const dssm_session *session, int32_t slot,
                                  int64_t *position) {
  DSSM_CHECK_SLOT(session, slot);
  DSSM_CHECK_ARG(position, "dssm_session_position: null output");
  *position = session->positions[slot];
  return nullptr;
}

size_t dssm_session_state_size(const dssm_session *session) {
  return session ? session->stateBytes() : 0;
}

dssm_status dssm_session_reset(dssm_session *session, int32_t slot) {
  DSSM_CHECK_SLOT(session, slot);
  try {
    return toC(session->reset(slot));
  } catch (const std::bad_alloc &) {
    return toC(errorOf("reset: out of memory"));
  }
}

dssm_status dssm_session_save_state(const dssm_session *session, int32_t slot,
                                    void *buffer, size_t size) {
  DSSM_CHECK_SLOT(session, slot);
  DSSM_CHECK_ARG(buffer, "dssm_session_save_state: null buffer");
  DSSM_CHECK_ARG(size == session->stateBytes(),
                 "dssm_session_save_state: the buffer has ", size,
                 " bytes, a state takes ", session->stateBytes());
  try {
    return toC(session->save(slot, static_cast<uint8_t *>(buffer)));
  } catch (const std::bad_alloc &) {
    return toC(errorOf("save_state: out of memory"));
  }
}

dssm_status dssm_session_restore_state(dssm_session *session, int32_t slot,
                                       const void *buffer, size_t size) {
  DSSM_CHECK_SLOT(session, slot);
  DSSM_CHECK_ARG(buffer, "dssm_session_restore_state: null buffer");
  DSSM_CHECK_ARG(size == session->stateBytes(),
                 "dssm_session_restore_state: the buffer has ", size,
                 " bytes, a state of this module takes ", session->stateBytes());
  int64_t position;
  std::memcpy(&position, buffer, sizeof(position)); // a saved state starts with it
  DSSM_CHECK_ARG(position >= 0, "dssm_session_restore_state: the saved position is ",
                 position, " (not a state saved by dssm_session_save_state)");
  try {
    return toC(session->restore(slot, static_cast<const uint8_t *>(buffer)));
  } catch (const std::bad_alloc &) {
    return toC(errorOf("restore_state: out of memory"));
  }
}

} // extern "C"
