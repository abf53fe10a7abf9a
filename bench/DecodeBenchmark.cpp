//===- DecodeBenchmark.cpp - decode speed against the bandwidth bound -----===//
//
//   densessm-bench-decode MODULE.dssm [--batch=1] [--steps=64] [--prompt=16]
//
// Decoding one token reads every weight once, so its speed is bounded by
// memory bandwidth: bound (tokens/s per sequence step) = copy bandwidth /
// weight bytes. This measures, in the same run, (1) the machine's copy
// bandwidth (memcpy of buffers far larger than the caches; read + write
// bytes per second, as STREAM counts them) and (2) the module's decode steps
// per second after a prompt, and prints the fraction of the bound reached.
//
//===----------------------------------------------------------------------===//

#include "densessm/runtime/Runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <sys/mman.h>
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
      throw densessm::runtime::Error("cannot allocate the bandwidth buffers");
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

/// Best-of-`repeats` memcpy bandwidth over two 512 MiB buffers, split
/// over every core (as the decode step's GEMVs are), in bytes moved (read +
/// written) per second.
double copyBandwidth(int repeats = 5) {
  size_t bytes = size_t(512) << 20;
  HugeBuffer fromBuffer(bytes), toBuffer(bytes);
  char *from = fromBuffer.data, *to = toBuffer.data;
  std::memset(from, 1, bytes);
  std::memset(to, 0, bytes);
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  size_t chunk = bytes / threads;
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    // The barriers keep the compiler from eliding or moving the copy.
    asm volatile("" : : "r"(from), "r"(to) : "memory");
    auto start = Clock::now();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        std::memcpy(to + t * chunk, from + t * chunk, chunk);
      });
    for (std::thread &worker : workers)
      worker.join();
    asm volatile("" : : "r"(to) : "memory");
    best = std::min(best, seconds(start));
  }
  if (to[bytes / 2] != 1)
    std::fprintf(stderr, "copy check failed\n");
  return 2.0 * double(bytes) / best;
}

/// Best-of-`repeats` read bandwidth: every core sums its share of a 512 MiB
/// buffer (what a decode step does to the weights), in bytes per second.
double readBandwidth(int repeats = 5) {
  size_t count = (size_t(512) << 20) / sizeof(float);
  HugeBuffer buffer(count * sizeof(float));
  float *data = reinterpret_cast<float *>(buffer.data);
  std::fill_n(data, count, 1.0f);
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  size_t chunk = count / threads;
  std::vector<float> sums(threads);
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    auto start = Clock::now();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        // Eight partial sums: independent chains, so the loop is bound by
        // loads, not by the latency of one addition chain.
        float partial[8] = {};
        const float *p = data + t * chunk;
        for (size_t i = 0; i + 8 <= chunk; i += 8)
          for (int k = 0; k < 8; ++k)
            partial[k] += p[i + k];
        float sum = 0;
        for (float value : partial)
          sum += value;
        sums[t] = sum;
      });
    for (std::thread &worker : workers)
      worker.join();
    best = std::min(best, seconds(start));
  }
  float total = 0;
  for (float sum : sums)
    total += sum;
  if (total != float(chunk) * float(threads))
    std::fprintf(stderr, "read check: %g\n", double(total));
  return double(chunk * threads * sizeof(float)) / best;
}

int64_t flag(int argc, char **argv, const char *name, int64_t fallback) {
  std::string prefix = std::string("--") + name + "=";
  for (int i = 2; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0)
      return std::stoll(argv[i] + prefix.size());
  return fallback;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: densessm-bench-decode MODULE.dssm "
                         "[--batch=1] [--steps=64] [--prompt=16]\n");
    return 1;
  }
  int32_t batch = int32_t(flag(argc, argv, "batch", 1));
  int64_t steps = flag(argc, argv, "steps", 64);
  int64_t promptLength = flag(argc, argv, "prompt", 16);
  try {
    double bandwidth = copyBandwidth();
    double readOnly = readBandwidth();
    auto module = densessm::runtime::Module::load(argv[1]);
    densessm::runtime::Session session(module, DSSM_DEVICE_CPU, batch);
    int64_t vocab = module.vocabSize();
    std::vector<std::vector<int64_t>> prompts(static_cast<size_t>(batch));
    for (int32_t s = 0; s < batch; ++s)
      for (int64_t t = 0; t < promptLength; ++t)
        prompts[s].push_back((7 * t + 3 * s + 1) % vocab);
    auto start = Clock::now();
    session.prefill(prompts);
    double prefillSeconds = seconds(start);

    std::vector<int64_t> tokens(static_cast<size_t>(batch), 1);
    session.step(tokens); // warm: first touch of every weight page
    std::vector<double> times;
    for (int64_t i = 0; i < steps; ++i) {
      for (int32_t s = 0; s < batch; ++s)
        tokens[s] = (tokens[s] * 31 + 7) % vocab;
      auto stepStart = Clock::now();
      session.step(tokens);
      times.push_back(seconds(stepStart));
    }
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    double weightBytes = double(module.weightBytes());
    std::printf("module            %s (%s)\n", argv[1], module.family().c_str());
    std::printf("weights           %.1f MiB read per decode step\n",
                weightBytes / (1 << 20));
    std::printf("copy bandwidth    %.2f GB/s (memcpy on %u threads, read + "
                "write)\n",
                bandwidth / 1e9, std::max(1u, std::thread::hardware_concurrency()));
    std::printf("prefill           %lld x %d tokens in %.2f ms (%.1f tokens/s)\n",
                (long long)promptLength, batch, prefillSeconds * 1e3,
                promptLength * batch / prefillSeconds);
    std::printf("decode            batch %d: %.2f ms per step (median of %lld), "
                "%.1f tokens/s\n",
                batch, median * 1e3, (long long)steps, batch / median);
    std::printf("read bandwidth    %.2f GB/s (sum on %u threads)\n",
                readOnly / 1e9, std::max(1u, std::thread::hardware_concurrency()));
    // The bound, three ways, all from this run: decode reads the weights
    // (it writes almost nothing), so the read bandwidth is the bound that
    // applies; memcpy's bandwidth is quoted both as bytes copied per second
    // and, as STREAM does, as bytes read + written per second.
    double stepsPerSecond = 1.0 / median;
    struct Bound {
      const char *name;
      double bytesPerSecond;
    } bounds[] = {{"read bandwidth", readOnly},
                  {"copy, bytes copied/s", bandwidth / 2},
                  {"copy, read + write/s (STREAM)", bandwidth}};
    std::printf("bound             weight bytes / bandwidth:\n");
    for (const Bound &bound : bounds)
      std::printf("  %-30s %6.2f GB/s -> %6.2f ms per step, decode at %5.1f%%\n",
                  bound.name, bound.bytesPerSecond / 1e9,
                  1e3 * weightBytes / bound.bytesPerSecond,
                  100.0 * stepsPerSecond * weightBytes / bound.bytesPerSecond);
  } catch (const densessm::runtime::Error &error) {
    std::fprintf(stderr, "densessm-bench-decode: error: %s\n", error.what());
    return 1;
  }
  return 0;
}
