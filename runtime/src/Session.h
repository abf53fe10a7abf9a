//===- Session.h - sequences served over one module -------------*- C++ -*-===//
#ifndef DENSESSM_RUNTIME_SRC_SESSION_H
#define DENSESSM_RUNTIME_SRC_SESSION_H

#include "Module.h"
#include "SessionBuffer.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

/// The C API's session handle: `batch` slots, each with its own recurrent
/// state, position and last logits.
struct dssm_session_s {
  dssm_module_s *module = nullptr; // a reference the session holds
  const densessm::runtime::Backend *backend = nullptr;
  dssm_device device = DSSM_DEVICE_CPU;
  std::string deviceNote; // why DSSM_DEVICE_AUTO did not pick CUDA
  int32_t batch = 0;
  int64_t vocab = 0;
  std::vector<int64_t> positions; // per slot
  /// Per state tensor: [batch, ...], in the backend's session memory.
  std::vector<densessm::runtime::SessionBuffer> states;
  std::vector<std::vector<float>> logits;  // per slot: [rows, vocab]
  std::vector<int64_t> logitRows;          // per slot

  densessm::runtime::Status prefill(const int64_t *const *tokens,
                                    const int64_t *lengths,
                                    dssm_prefill_mode mode);
  densessm::runtime::Status step(const int64_t *tokens, const uint8_t *active);
  densessm::runtime::Status reset(int32_t slot);
  size_t stateBytes() const;
  densessm::runtime::Status save(int32_t slot, uint8_t *buffer) const;
  densessm::runtime::Status restore(int32_t slot, const uint8_t *buffer);

private:
  /// Runs `entry` over the given slots, each with `length` tokens (row-major
  /// [slots, length]), appending each slot's logits rows.
  densessm::runtime::Status run(const densessm::module::EntryPoint &entry,
                                const std::vector<int32_t> &slots,
                                int64_t length,
                                const std::vector<int64_t> &tokens);
  densessm::runtime::Status checkTokens(int32_t slot, const int64_t *tokens,
                                        int64_t count) const;

  /// Where a slot's part of state tensor `k` is, and its bytes.
  std::pair<float *, size_t> slotState(size_t k, int32_t slot) const;

  // Buffers run() reuses from call to call, in session memory, so that a
  // decode step allocates (and the kernel zeroes) nothing: the logits the
  // entry point writes, and per state tensor the buffer it writes the next
  // state into (swapped with `states` afterwards) and the gathered input of
  // a partial batch.
  std::unique_ptr<densessm::runtime::SessionBuffer> logitsScratch;
  std::vector<float> logitsHost; // logitsScratch copied to the host
  std::vector<densessm::runtime::SessionBuffer> statesScratch, gatheredScratch;
};

#endif // DENSESSM_RUNTIME_SRC_SESSION_H
