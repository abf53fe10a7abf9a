//===- SessionTiming.h - prefill and decode timing of one session -*- C++ -*-===//
//
// What densessm-bench-decode and densessm-bench-model both measure: a
// session prefills synthetic prompts, warms one step, then times decode
// steps one by one. Also their `--name=value` flag parsing.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_BENCH_SESSIONTIMING_H
#define DENSESSM_BENCH_SESSIONTIMING_H

#include "densessm/runtime/Runtime.hpp"

#include <chrono>
#include <cstdint>

namespace densessm::bench {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start);

/// The value of `--name=N` among argv[2..], else `fallback`.
int64_t intFlag(int argc, char **argv, const char *name, int64_t fallback);

struct SessionTiming {
  double prefillSeconds;
  double medianStepSeconds;
};

/// Prefills `session`'s `batch` sequences with prompts of `promptLength`
/// deterministic tokens (parallel form), runs one untimed step (the step's
/// first touch of its code and of every weight page), then times `steps`
/// decode steps. Returns the prefill time and the median step.
SessionTiming timePrefillAndDecode(const runtime::Module &module,
                                   runtime::Session &session, int32_t batch,
                                   int64_t promptLength, int64_t steps);

} // namespace densessm::bench

#endif // DENSESSM_BENCH_SESSIONTIMING_H
