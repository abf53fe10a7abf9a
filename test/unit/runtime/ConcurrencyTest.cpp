//===- ConcurrencyTest.cpp - many sessions over one module, many threads --===//
//
// Eight threads each create their own session over one loaded module (so
// the module's backend is created while they race for it), prefill their
// own prompt and decode 100 greedy steps. Every thread's logits must equal,
// bit for bit, those of the same work done on one thread beforehand: the
// same code on the same inputs, so any difference is shared state leaking
// between sessions. scripts/sanitize.sh runs this under ThreadSanitizer.
//
//===----------------------------------------------------------------------===//

#include "RobustnessTestModule.h"

#include "densessm/runtime/Runtime.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using densessm::runtime::Error;
using densessm::runtime::Module;
using densessm::runtime::Session;

namespace {

constexpr int kThreads = 8;
constexpr int kSteps = 100;

/// What one thread computes: its prompt's logits, then each decode step's.
struct Decoded {
  std::vector<int64_t> tokens;
  std::vector<float> logits;
};

/// Prefills a prompt that depends on `seed`, then decodes kSteps tokens
/// greedily (each step feeds back the argmax of the last logits row).
Decoded decode(const Module &module, int seed) {
  int64_t vocab = module.vocabSize();
  std::vector<int64_t> prompt;
  for (int i = 0; i < 3 + seed % 4; ++i)
    prompt.push_back((seed * 17 + i * 5 + 1) % vocab);
  Session session(module, DSSM_DEVICE_CPU, 1);
  session.prefill({prompt});
  Decoded out;
  out.logits = session.logits(0);
  for (int step = 0; step < kSteps; ++step) {
    const float *last = out.logits.data() + out.logits.size() - vocab;
    int64_t next = std::max_element(last, last + vocab) - last;
    out.tokens.push_back(next);
    session.step({next});
    std::vector<float> row = session.logits(0);
    out.logits.insert(out.logits.end(), row.begin(), row.end());
  }
  return out;
}

/// Lets the threads start their work at the same moment.
class StartLine {
public:
  void wait() {
    std::unique_lock<std::mutex> lock(mutex);
    if (++arrived == kThreads)
      ready.notify_all();
    else
      ready.wait(lock, [&] { return arrived == kThreads; });
  }

private:
  std::mutex mutex;
  std::condition_variable ready;
  int arrived = 0;
};

TEST(Concurrency, EightThreadsDecodeOneModuleLikeOneThread) {
  // The reference: every thread's work, one after another, on a module of
  // its own.
  std::vector<Decoded> expected;
  {
    Module alone = Module::load(robustnessModulePath);
    for (int t = 0; t < kThreads; ++t)
      expected.push_back(decode(alone, t));
  }

  Module shared = Module::load(robustnessModulePath);
  std::vector<Decoded> results(kThreads);
  std::vector<std::string> failures(kThreads);
  StartLine start;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      start.wait();
      try {
        results[t] = decode(shared, t);
      } catch (const Error &error) {
        failures[t] = error.what();
      }
    });
  for (std::thread &thread : threads)
    thread.join();

  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    EXPECT_EQ(failures[t], "");
    EXPECT_EQ(results[t].tokens, expected[t].tokens);
    ASSERT_EQ(results[t].logits.size(), expected[t].logits.size());
    size_t differing = 0;
    for (size_t i = 0; i < results[t].logits.size(); ++i)
      differing += results[t].logits[i] != expected[t].logits[i];
    EXPECT_EQ(differing, 0u) << "logits differ from the single-threaded run";
  }
}

TEST(Concurrency, ModuleReleasedWhileThreadsStillDecode) {
  // Each thread's session keeps the module alive: the application's handle
  // goes first, the last session frees it.
  dssm_module *module = nullptr;
  ASSERT_EQ(dssm_module_load_file(robustnessModulePath.c_str(), &module), nullptr);
  int64_t vocab = dssm_module_vocab_size(module);
  std::vector<dssm_session *> sessions(4, nullptr);
  for (dssm_session *&session : sessions)
    ASSERT_EQ(dssm_session_create(module, DSSM_DEVICE_CPU, 1, &session), nullptr);
  dssm_module_release(module);
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < sessions.size(); ++t)
    threads.emplace_back([&, t] {
      for (int step = 0; step < 20; ++step) {
        int64_t token = int64_t(t * 7 + step) % vocab;
        if (dssm_status status = dssm_session_step(sessions[t], &token, nullptr)) {
          dssm_status_free(status);
          ++failed;
        }
      }
      dssm_session_release(sessions[t]);
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(failed.load(), 0);
}

} // namespace
