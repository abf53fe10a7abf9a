//===- MachineBounds.h - the machine's bandwidth and FMA peak ---*- C++ -*-===//
//
// The hardware figures the benchmarks are measured against, measured in the
// same run as the benchmarks: memory bandwidth (a decode step streams every
// weight) and the vector FMA peak (prefill's GEMMs and the scans' arithmetic).
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_BENCH_MACHINEBOUNDS_H
#define DENSESSM_BENCH_MACHINEBOUNDS_H

namespace densessm::bench {

/// Best-of-`repeats` memcpy of two 512 MiB huge-page buffers split over
/// every core, in bytes read + written per second (STREAM's convention).
double copyBandwidth(int repeats = 5);

/// Best-of-`repeats` read bandwidth: every core sums its share of a 512 MiB
/// huge-page buffer (what a decode step does to the weights), bytes/s.
double readBandwidth(int repeats = 5);

/// Peak single-precision FMA throughput on every core, in floating-point
/// operations per second (an FMA counts 2): independent chains of 16-lane
/// vector FMAs on registers, no memory traffic.
double fmaPeak();

/// Cores the measurements (and the OpenMP kernels) run on.
unsigned coreCount();

} // namespace densessm::bench

#endif // DENSESSM_BENCH_MACHINEBOUNDS_H
