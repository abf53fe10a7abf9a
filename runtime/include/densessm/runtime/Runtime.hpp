//===- Runtime.hpp - C++ wrapper over the densessm runtime ------*- C++ -*-===//
//
// RAII handles over the C API; failures throw densessm::runtime::Error with
// the runtime's message.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_RUNTIME_HPP
#define DENSESSM_RUNTIME_RUNTIME_HPP

#include "densessm/runtime/densessm_runtime.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace densessm::runtime {

class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Throws the status's message (and frees it) when it is an error.
inline void check(dssm_status status) {
  if (!status)
    return;
  std::string message = dssm_status_message(status);
  dssm_status_free(status);
  throw Error(message);
}

class Module {
public:
  static Module load(const std::string &path) {
    dssm_module *handle = nullptr;
    check(dssm_module_load_file(path.c_str(), &handle));
    return Module(handle);
  }
  dssm_module *get() const { return handle.get(); }
  int64_t vocabSize() const { return dssm_module_vocab_size(get()); }
  std::string family() const { return dssm_module_family(get()); }
  uint64_t weightBytes() const { return dssm_module_weight_bytes(get()); }

private:
  explicit Module(dssm_module *module) : handle(module, dssm_module_release) {}
  std::shared_ptr<dssm_module> handle;
};

class Session {
public:
  Session(const Module &module, dssm_device device, int32_t batch) {
    dssm_session *raw = nullptr;
    check(dssm_session_create(module.get(), device, batch, &raw));
    handle.reset(raw);
    vocab = module.vocabSize();
  }
  dssm_session *get() const { return handle.get(); }
  int32_t batch() const { return dssm_session_batch(get()); }
  dssm_device device() const { return dssm_session_device(get()); }
  std::string deviceNote() const { return dssm_session_device_note(get()); }

  /// One prompt per slot (an empty prompt leaves the slot as it is).
  void prefill(const std::vector<std::vector<int64_t>> &prompts,
               dssm_prefill_mode mode = DSSM_PREFILL_PARALLEL) {
    std::vector<const int64_t *> tokens;
    std::vector<int64_t> lengths;
    for (const std::vector<int64_t> &prompt : prompts) {
      tokens.push_back(prompt.data());
      lengths.push_back(int64_t(prompt.size()));
    }
    if (int32_t(prompts.size()) != batch())
      throw Error("prefill: " + std::to_string(prompts.size()) +
                  " prompts for a session of " + std::to_string(batch()) +
                  " slots");
    check(dssm_session_prefill(get(), tokens.data(), lengths.data(), mode));
  }
  /// One token per slot; `active` (empty: all) says which slots advance.
  void step(const std::vector<int64_t> &tokens,
            const std::vector<uint8_t> &active = {}) {
    if (int32_t(tokens.size()) != batch() ||
        (!active.empty() && int32_t(active.size()) != batch()))
      throw Error("step: needs one token (and activity flag) per slot");
    check(dssm_session_step(get(), tokens.data(),
                            active.empty() ? nullptr : active.data()));
  }
  /// The slot's logits rows of the last call, row-major [rows, vocab].
  std::vector<float> logits(int32_t slot) const {
    const float *data = nullptr;
    int64_t rows = 0;
    check(dssm_session_logits(get(), slot, &data, &rows));
    return std::vector<float>(data, data + rows * vocab);
  }
  int64_t position(int32_t slot) const {
    int64_t position = 0;
    check(dssm_session_position(get(), slot, &position));
    return position;
  }
  void reset(int32_t slot) { check(dssm_session_reset(get(), slot)); }
  std::vector<uint8_t> saveState(int32_t slot) const {
    std::vector<uint8_t> buffer(dssm_session_state_size(get()));
    check(dssm_session_save_state(get(), slot, buffer.data(), buffer.size()));
    return buffer;
  }
  void restoreState(int32_t slot, const std::vector<uint8_t> &state) {
    check(dssm_session_restore_state(get(), slot, state.data(), state.size()));
  }

private:
  int64_t vocab = 0;
  struct Release {
    void operator()(dssm_session *session) const {
      dssm_session_release(session);
    }
  };
  std::unique_ptr<dssm_session, Release> handle;
};

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_RUNTIME_HPP
