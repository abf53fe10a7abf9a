//===- Session.cpp - run entry points over a session's slots --------------===//
//
// Every entry point takes batched tensors [n, ...] for the n slots it
// advances. When those are all the session's slots, in order, their state
// buffers are passed as they are; otherwise the slots' states are gathered
// into a sub-batch and scattered back afterwards, which is how sequences of
// different lengths share one session.
//
// The states, and the buffers the next states and the logits are written
// into, are in the backend's session memory (SessionBuffer.h): a run binds
// them as they are, and the host sees them only through the backend's
// transfers (gathering a partial batch, the logits, save and restore).
//
//===----------------------------------------------------------------------===//

#include "Session.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

using namespace densessm;
using namespace densessm::runtime;

Status dssm_session_s::checkTokens(int32_t slot, const int64_t *tokens,
                                   int64_t count) const {
  for (int64_t i = 0; i < count; ++i)
    if (tokens[i] < 0 || tokens[i] >= vocab)
      return errorOf("token ", tokens[i], " (slot ", slot, ", token ", i,
                     ") is out of range: the vocabulary has ", vocab,
                     " entries");
  return Status::ok();
}

Status dssm_session_s::run(const module::EntryPoint &entry,
                           const std::vector<int32_t> &slots, int64_t length,
                           const std::vector<int64_t> &tokens) {
  const ModuleFile &file = *module->file;
  const StateLayout &layout = module->stateLayout;
  int64_t n = int64_t(slots.size());
  bool wholeBatch = n == batch;
  for (int64_t i = 0; wholeBatch && i < n; ++i)
    wholeBatch = slots[i] == int32_t(i);

  std::vector<int64_t> position(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i)
    position[i] = positions[slots[i]];
  if (!logitsScratch)
    logitsScratch = std::make_unique<SessionBuffer>(*backend);
  SessionBuffer &logitsOut = *logitsScratch;
  DSSM_RETURN_IF_ERROR(logitsOut.resize(size_t(n * length * vocab)));
  // Gathered inputs (when not the whole batch) and every output state.
  std::vector<SessionBuffer> &statesIn = gatheredScratch,
                             &statesOut = statesScratch;
  while (statesOut.size() < states.size()) {
    statesIn.emplace_back(*backend);
    statesOut.emplace_back(*backend);
  }
  std::vector<bool> written(states.size(), false);

  auto stateShape = [&](uint32_t index) {
    std::vector<int64_t> shape{n};
    for (int64_t dim : *file.def().states()->Get(index)->shape())
      shape.push_back(dim);
    return shape;
  };
  std::vector<HostTensor> bindings;
  std::vector<Transfer> gather;
  for (const module::Binding *binding : *entry.arguments()) {
    switch (binding->role()) {
    case module::Role::Tokens:
      bindings.push_back({const_cast<int64_t *>(tokens.data()), {n, length}});
      break;
    case module::Role::Position:
      bindings.push_back({position.data(), {n}});
      break;
    case module::Role::State: {
      uint32_t k = binding->index();
      if (wholeBatch) {
        bindings.push_back(states[k].tensor(stateShape(k)));
        break;
      }
      size_t per = layout.sizes[k];
      DSSM_RETURN_IF_ERROR(statesIn[k].resize(size_t(n) * per));
      for (int64_t i = 0; i < n; ++i)
        appendTransfer(gather, {statesIn[k].data() + i * per,
                                states[k].data() + slots[i] * per,
                                per * sizeof(float)});
      bindings.push_back(statesIn[k].tensor(stateShape(k)));
      break;
    }
    case module::Role::Weight: {
      // The backend binds its own copy of the weight (see Backend::run).
      const module::Weight *weight = file.def().weights()->Get(binding->index());
      bindings.push_back({nullptr, std::vector<int64_t>(weight->shape()->begin(),
                                                        weight->shape()->end())});
      break;
    }
    case module::Role::Logits:
      return errorOf("entry point '", entry.name()->str(),
                     "' takes logits as an argument");
    }
  }
  for (const module::Binding *binding : *entry.results()) {
    if (binding->role() == module::Role::Logits) {
      bindings.push_back(logitsOut.tensor({n, length, vocab}));
      continue;
    }
    uint32_t k = binding->index();
    written[k] = true;
    DSSM_RETURN_IF_ERROR(statesOut[k].resize(size_t(n) * layout.sizes[k]));
    bindings.push_back(statesOut[k].tensor(stateShape(k)));
  }

  // After the run: the partial batch's states back to their slots, and the
  // logits to the host; then the whole batch's new states replace the old
  // (nothing changes when the run fails).
  std::vector<Transfer> results;
  for (size_t k = 0; k < states.size(); ++k) {
    if (!written[k] || wholeBatch)
      continue;
    size_t per = layout.sizes[k];
    for (int64_t i = 0; i < n; ++i)
      appendTransfer(results, {states[k].data() + slots[i] * per,
                               statesOut[k].data() + i * per,
                               per * sizeof(float)});
  }
  if (logitsHost.capacity() > 4 * logitsOut.size())
    std::vector<float>().swap(logitsHost); // a prefill's, before the steps
  logitsHost.resize(logitsOut.size());
  results.push_back({logitsHost.data(), logitsOut.data(), logitsOut.bytes()});
  DSSM_RETURN_IF_ERROR(
      backend->run(entry, bindings, {std::move(gather), std::move(results)}));
  for (size_t k = 0; k < states.size(); ++k)
    if (written[k] && wholeBatch)
      states[k].swap(statesOut[k]); // the old state: the next call's output
  size_t rows = size_t(length * vocab);
  for (int64_t i = 0; i < n; ++i) {
    int32_t slot = slots[i];
    const float *slotLogits = logitsHost.data() + i * rows;
    logits[slot].insert(logits[slot].end(), slotLogits, slotLogits + rows);
    logitRows[slot] += length;
    positions[slot] += length;
  }
  return Status::ok();
}

Status dssm_session_s::prefill(const int64_t *const *tokens,
                               const int64_t *lengths,
                               dssm_prefill_mode mode) {
  if (!tokens || !lengths)
    return errorOf("prefill: tokens and lengths must not be null");
  for (int32_t slot = 0; slot < batch; ++slot) {
    if (lengths[slot] < 0)
      return errorOf("prefill: slot ", slot, " has negative length ",
                     lengths[slot]);
    if (lengths[slot] > 0 && !tokens[slot])
      return errorOf("prefill: slot ", slot, " has ", lengths[slot],
                     " tokens but a null token pointer");
    if (lengths[slot] > 0)
      DSSM_RETURN_IF_ERROR(checkTokens(slot, tokens[slot], lengths[slot]));
  }
  for (int32_t slot = 0; slot < batch; ++slot)
    if (lengths[slot] > 0) {
      logits[slot].clear();
      logitRows[slot] = 0;
    }

  if (mode == DSSM_PREFILL_RECURRENT) {
    int64_t longest = *std::max_element(lengths, lengths + batch);
    for (int64_t t = 0; t < longest; ++t) {
      std::vector<int32_t> slots;
      std::vector<int64_t> column;
      for (int32_t slot = 0; slot < batch; ++slot)
        if (t < lengths[slot]) {
          slots.push_back(slot);
          column.push_back(tokens[slot][t]);
        }
      DSSM_RETURN_IF_ERROR(run(*module->step, slots, 1, column));
    }
    return Status::ok();
  }
  // Parallel: one call per group of slots with the same prompt length.
  std::map<int64_t, std::vector<int32_t>> groups;
  for (int32_t slot = 0; slot < batch; ++slot)
    if (lengths[slot] > 0)
      groups[lengths[slot]].push_back(slot);
  for (const auto &[length, slots] : groups) {
    std::vector<int64_t> matrix;
    matrix.reserve(slots.size() * size_t(length));
    for (int32_t slot : slots)
      matrix.insert(matrix.end(), tokens[slot], tokens[slot] + length);
    DSSM_RETURN_IF_ERROR(run(*module->prefill, slots, length, matrix));
  }
  return Status::ok();
}

Status dssm_session_s::step(const int64_t *tokens, const uint8_t *active) {
  if (!tokens)
    return errorOf("step: tokens must not be null");
  std::vector<int32_t> slots;
  std::vector<int64_t> column;
  for (int32_t slot = 0; slot < batch; ++slot)
    if (!active || active[slot]) {
      DSSM_RETURN_IF_ERROR(checkTokens(slot, &tokens[slot], 1));
      slots.push_back(slot);
      column.push_back(tokens[slot]);
    }
  for (int32_t slot : slots) {
    logits[slot].clear();
    logitRows[slot] = 0;
  }
  if (slots.empty())
    return Status::ok();
  return run(*module->step, slots, 1, column);
}

std::pair<float *, size_t> dssm_session_s::slotState(size_t k,
                                                    int32_t slot) const {
  size_t floats = module->stateLayout.sizes[k];
  return {states[k].data() + size_t(slot) * floats, floats * sizeof(float)};
}

Status dssm_session_s::reset(int32_t slot) {
  std::vector<Transfer> copies;
  for (size_t k = 0; k < states.size(); ++k) {
    auto [state, bytes] = slotState(k, slot);
    copies.push_back({state, /*zeroes*/ nullptr, bytes});
  }
  DSSM_RETURN_IF_ERROR(backend->transfer(copies));
  positions[slot] = 0;
  logits[slot].clear();
  logitRows[slot] = 0;
  return Status::ok();
}

// A saved state: the position (an int64) followed by each state tensor of
// the slot, f32.
size_t dssm_session_s::stateBytes() const {
  return sizeof(int64_t) + module->stateLayout.totalFloats * sizeof(float);
}

Status dssm_session_s::save(int32_t slot, uint8_t *buffer) const {
  const StateLayout &layout = module->stateLayout;
  std::memcpy(buffer, &positions[slot], sizeof(int64_t));
  uint8_t *out = buffer + sizeof(int64_t);
  std::vector<Transfer> copies;
  for (size_t k = 0; k < states.size(); ++k) {
    auto [state, bytes] = slotState(k, slot);
    copies.push_back({out + layout.offsets[k] * sizeof(float), state, bytes});
  }
  return backend->transfer(copies);
}

Status dssm_session_s::restore(int32_t slot, const uint8_t *buffer) {
  const StateLayout &layout = module->stateLayout;
  const uint8_t *in = buffer + sizeof(int64_t);
  std::vector<Transfer> copies;
  for (size_t k = 0; k < states.size(); ++k) {
    auto [state, bytes] = slotState(k, slot);
    copies.push_back({state, in + layout.offsets[k] * sizeof(float), bytes});
  }
  DSSM_RETURN_IF_ERROR(backend->transfer(copies));
  std::memcpy(&positions[slot], buffer, sizeof(int64_t));
  logits[slot].clear();
  logitRows[slot] = 0;
  return Status::ok();
}
