//===- MachineBounds.cpp - the machine's bandwidth and FMA peak -----------===//

#include "MachineBounds.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sys/mman.h>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

/// A buffer on 2 MiB pages where the kernel grants them, as the runtime
/// keeps the weights: the bandwidth measured is the machine's best.
class HugeBuffer {
public:
  explicit HugeBuffer(size_t bytes) : bytes(bytes) {
    void *memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
      throw std::runtime_error("cannot allocate the bandwidth buffers");
    madvise(memory, bytes, MADV_HUGEPAGE);
    data = static_cast<char *>(memory);
  }
  ~HugeBuffer() { munmap(data, bytes); }
  char *data;

private:
  size_t bytes;
};

double seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Runs body(thread) on every core at once and returns the wall time.
template <typename Body> double onEveryCore(Body body) {
  unsigned threads = densessm::bench::coreCount();
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t)
    workers.emplace_back([&, t] { body(t); });
  for (std::thread &worker : workers)
    worker.join();
  return seconds(start);
}

} // namespace

unsigned densessm::bench::coreCount() {
  return std::max(1u, std::thread::hardware_concurrency());
}

double densessm::bench::copyBandwidth(int repeats) {
  size_t bytes = size_t(512) << 20;
  HugeBuffer fromBuffer(bytes), toBuffer(bytes);
  char *from = fromBuffer.data, *to = toBuffer.data;
  std::memset(from, 1, bytes);
  std::memset(to, 0, bytes);
  size_t chunk = bytes / coreCount();
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    // The barriers keep the compiler from eliding or moving the copy.
    asm volatile("" : : "r"(from), "r"(to) : "memory");
    best = std::min(best, onEveryCore([&](unsigned t) {
                      std::memcpy(to + t * chunk, from + t * chunk, chunk);
                    }));
    asm volatile("" : : "r"(to) : "memory");
  }
  if (to[bytes / 2] != 1)
    std::fprintf(stderr, "copy check failed\n");
  return 2.0 * double(chunk * coreCount()) / best;
}

double densessm::bench::readBandwidth(int repeats) {
  size_t count = (size_t(512) << 20) / sizeof(float);
  HugeBuffer buffer(count * sizeof(float));
  float *data = reinterpret_cast<float *>(buffer.data);
  std::fill_n(data, count, 1.0f);
  unsigned threads = coreCount();
  size_t chunk = count / threads;
  std::vector<float> sums(threads);
  double best = 1e30;
  for (int r = 0; r < repeats; ++r)
    best = std::min(best, onEveryCore([&](unsigned t) {
                      // Eight partial sums: independent chains, so the loop
                      // is bound by loads, not by one addition chain.
                      float partial[8] = {};
                      const float *p = data + t * chunk;
                      for (size_t i = 0; i + 8 <= chunk; i += 8)
                        for (int k = 0; k < 8; ++k)
                          partial[k] += p[i + k];
                      float sum = 0;
                      for (float value : partial)
                        sum += value;
                      sums[t] = sum;
                    }));
  float total = 0;
  for (float sum : sums)
    total += sum;
  if (total != float(chunk) * float(threads))
    std::fprintf(stderr, "read check: %g\n", double(total));
  return double(chunk * threads * sizeof(float)) / best;
}

namespace {
// The widest vector the target has: -march=native picks the machine's. The
// asm barrier below needs each accumulator in one vector register ("+v"),
// so a vector wider than the registers would not compile.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif
typedef float Vector __attribute__((vector_size(kLanes * sizeof(float))));

/// 12 independent FMA chains (enough to cover FMA latency × issue width):
/// `iterations` × 12 vector FMAs of kLanes lanes.
__attribute__((noinline)) float fmaChains(long iterations) {
  Vector acc[12], mul, add;
  for (int i = 0; i < kLanes; ++i) {
    mul[i] = 0.999f;
    add[i] = 0.001f;
  }
  for (int c = 0; c < 12; ++c)
    acc[c] = mul * float(c);
  for (long i = 0; i < iterations; ++i) {
    for (int c = 0; c < 12; ++c)
      acc[c] = acc[c] * mul + add;
    // Keeps the compiler from folding the chains across iterations.
    asm volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]),
                 "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]),
                 "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]));
  }
  float sum = 0;
  for (int c = 0; c < 12; ++c)
    for (int i = 0; i < kLanes; ++i)
      sum += acc[c][i];
  return sum;
}
} // namespace

double densessm::bench::fmaPeak() {
  const long iterations = 20'000'000;
  std::vector<float> sinks(coreCount());
  double best = 1e30;
  for (int r = 0; r < 3; ++r)
    best = std::min(best, onEveryCore([&](unsigned t) {
                      sinks[t] = fmaChains(iterations);
                    }));
  if (sinks[0] == 12345.0f)
    std::fprintf(stderr, "(sink)\n");
  return double(coreCount()) * iterations * 12 * kLanes * 2 / best;
}
