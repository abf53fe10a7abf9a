//===- Session.cpp - run entry points over a session's slots --------------===//
//
// Every entry point takes batched tensors [n, ...] for the n slots it
// advances. When those are all the session's slots, in order, their state
// buffers are passed as they are; otherwise the slots' states are gathered
// into a sub-batch and scattered back afterwards, which is how sequences of
// different lengths share one session.
//
//===----------------------------------------------------------------------===//

#include "Session.h"

#include <algorithm>
#include <cstring>
#include <map>

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
  // resize() keeps a buffer of the same size as it is: a decode step after
  // the first reuses the previous step's buffers without touching them.
  // A prefill's logits buffer is not kept for the steps that follow.
  std::vector<float> &logitsOut = logitsScratch;
  size_t logitCount = size_t(n * length * vocab);
  if (logitsOut.capacity() > 4 * logitCount)
    std::vector<float>().swap(logitsOut);
  logitsOut.resize(logitCount);
  // Gathered inputs (when not the whole batch) and every output state.
  std::vector<std::vector<float>> &statesIn = gatheredScratch,
                                  &statesOut = statesScratch;
  statesIn.resize(states.size());
  statesOut.resize(states.size());
  std::vector<bool> written(states.size(), false);

  auto stateShape = [&](uint32_t index) {
    std::vector<int64_t> shape{n};
    for (int64_t dim : *file.def().states()->Get(index)->shape())
      shape.push_back(dim);
    return shape;
  };
  std::vector<HostTensor> bindings;
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
      float *data = states[k].data();
      if (!wholeBatch) {
        size_t per = layout.sizes[k];
        statesIn[k].resize(size_t(n) * per);
        for (int64_t i = 0; i < n; ++i)
          std::memcpy(&statesIn[k][i * per], &states[k][slots[i] * per],
                      per * sizeof(float));
        data = statesIn[k].data();
      }
      bindings.push_back({data, stateShape(k)});
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
      bindings.push_back({logitsOut.data(), {n, length, vocab}});
      continue;
    }
    uint32_t k = binding->index();
    written[k] = true;
    statesOut[k].resize(size_t(n) * layout.sizes[k]);
    bindings.push_back({statesOut[k].data(), stateShape(k)});
  }

  DSSM_RETURN_IF_ERROR(backend->run(entry, bindings));

  for (size_t k = 0; k < states.size(); ++k) {
    if (!written[k])
      continue;
    if (wholeBatch) {
      // The previous state becomes the buffer the next call writes into.
      states[k].swap(statesOut[k]);
      continue;
    }
    size_t per = layout.sizes[k];
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(&states[k][slots[i] * per], &statesOut[k][i * per],
                  per * sizeof(float));
  }
  for (int64_t i = 0; i < n; ++i) {
    int32_t slot = slots[i];
    const float *rows = &logitsOut[size_t(i * length * vocab)];
    logits[slot].insert(logits[slot].end(), rows, rows + length * vocab);
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

void dssm_session_s::reset(int32_t slot) {
  const StateLayout &layout = module->stateLayout;
  for (size_t k = 0; k < states.size(); ++k)
    std::fill_n(&states[k][slot * layout.sizes[k]], layout.sizes[k], 0.0f);
  positions[slot] = 0;
  logits[slot].clear();
  logitRows[slot] = 0;
}

// A saved state: the position (an int64) followed by each state tensor of
// the slot, f32.
size_t dssm_session_s::stateBytes() const {
  return sizeof(int64_t) + module->stateLayout.totalFloats * sizeof(float);
}

void dssm_session_s::save(int32_t slot, uint8_t *buffer) const {
  const StateLayout &layout = module->stateLayout;
  std::memcpy(buffer, &positions[slot], sizeof(int64_t));
  uint8_t *out = buffer + sizeof(int64_t);
  for (size_t k = 0; k < states.size(); ++k)
    std::memcpy(out + layout.offsets[k] * sizeof(float),
                &states[k][slot * layout.sizes[k]],
                layout.sizes[k] * sizeof(float));
}

void dssm_session_s::restore(int32_t slot, const uint8_t *buffer) {
  const StateLayout &layout = module->stateLayout;
  std::memcpy(&positions[slot], buffer, sizeof(int64_t));
  const uint8_t *in = buffer + sizeof(int64_t);
  for (size_t k = 0; k < states.size(); ++k)
    std::memcpy(&states[k][slot * layout.sizes[k]],
                in + layout.offsets[k] * sizeof(float),
                layout.sizes[k] * sizeof(float));
  logits[slot].clear();
  logitRows[slot] = 0;
}
