//===- RuntimeAPITest.cpp - the runtime's C API on a compiled model -------===//
//
// Run by test/Integration/Runtime/*.test on a module compiled from a random
// checkpoint: densessm-runtime-tests --module=M.dssm. Checks the state
// contract of MODELS.md §5 through the API (prefill then step equals step
// only, save/restore, prefix reuse, batches of different lengths, threads)
// and that every misuse is reported, not crashed on.
//
//===----------------------------------------------------------------------===//

#include "densessm/runtime/Runtime.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

using densessm::runtime::Error;
using densessm::runtime::Module;
using densessm::runtime::Session;

namespace {

std::string modulePath;

using Tokens = std::vector<int64_t>;

Tokens prompt(size_t length, int64_t seed, int64_t vocab) {
  Tokens tokens;
  for (size_t i = 0; i < length; ++i)
    tokens.push_back((seed * 13 + int64_t(i) * 7 + 1) % vocab);
  return tokens;
}

/// max |a - b| relative to (1 + max |b|).
double relativeError(const std::vector<float> &a, const std::vector<float> &b) {
  EXPECT_EQ(a.size(), b.size());
  double error = 0, scale = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    error = std::max(error, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return error / (1 + scale);
}

/// Logits rows of every token, decoding the whole sequence step by step
/// from a fresh state (the reference form of MODELS.md §5).
std::vector<float> stepOnly(const Module &module, const Tokens &tokens) {
  Session session(module, DSSM_DEVICE_CPU, 1);
  std::vector<float> rows;
  for (int64_t token : tokens) {
    session.step({token});
    std::vector<float> row = session.logits(0);
    rows.insert(rows.end(), row.begin(), row.end());
  }
  return rows;
}

class RuntimeAPI : public ::testing::Test {
protected:
  void SetUp() override { module = std::make_unique<Module>(Module::load(modulePath)); }
  std::unique_ptr<Module> module;
  int64_t vocab() const { return module->vocabSize(); }
};

TEST_F(RuntimeAPI, PrefillThenStepEqualsStepOnly) {
  Tokens tokens = prompt(9, 1, vocab());
  Session session(*module, DSSM_DEVICE_CPU, 1);
  session.prefill({Tokens(tokens.begin(), tokens.begin() + 6)});
  std::vector<float> rows = session.logits(0);
  for (size_t t = 6; t < tokens.size(); ++t) {
    session.step({tokens[t]});
    std::vector<float> row = session.logits(0);
    rows.insert(rows.end(), row.begin(), row.end());
  }
  EXPECT_EQ(session.position(0), 9);
  EXPECT_LE(relativeError(rows, stepOnly(*module, tokens)), 1e-4);
}

TEST_F(RuntimeAPI, RecurrentPrefillEqualsParallelPrefill) {
  Tokens tokens = prompt(7, 2, vocab());
  Session parallel(*module, DSSM_DEVICE_CPU, 1), recurrent(*module, DSSM_DEVICE_CPU, 1);
  parallel.prefill({tokens}, DSSM_PREFILL_PARALLEL);
  recurrent.prefill({tokens}, DSSM_PREFILL_RECURRENT);
  EXPECT_LE(relativeError(parallel.logits(0), recurrent.logits(0)), 1e-4);
}

TEST_F(RuntimeAPI, SaveRestoreReproducesTheContinuation) {
  Session session(*module, DSSM_DEVICE_CPU, 2);
  session.prefill({prompt(5, 3, vocab()), {}});
  std::vector<uint8_t> saved = session.saveState(0);
  EXPECT_EQ(saved.size(), dssm_session_state_size(session.get()));
  Tokens continuation = prompt(4, 4, vocab());
  auto decode = [&](int32_t slot) {
    std::vector<float> rows;
    for (int64_t token : continuation) {
      Tokens step(2, 0);
      std::vector<uint8_t> active(2, 0);
      step[slot] = token;
      active[slot] = 1;
      session.step(step, active);
      std::vector<float> row = session.logits(slot);
      rows.insert(rows.end(), row.begin(), row.end());
    }
    return rows;
  };
  std::vector<float> first = decode(0);
  session.restoreState(0, saved);
  EXPECT_EQ(session.position(0), 5);
  std::vector<float> again = decode(0);
  EXPECT_EQ(first, again); // same state, same code: bit for bit
  // The state moves to another slot (and another session) too.
  session.restoreState(1, saved);
  EXPECT_EQ(decode(1), first);
  Session other(*module, DSSM_DEVICE_CPU, 1);
  other.restoreState(0, saved);
  std::vector<float> rows;
  for (int64_t token : continuation) {
    other.step({token});
    std::vector<float> row = other.logits(0);
    rows.insert(rows.end(), row.begin(), row.end());
  }
  EXPECT_EQ(rows, first);
}

TEST_F(RuntimeAPI, PrefixReuseEqualsOneLongPrefill) {
  Tokens head = prompt(4, 5, vocab()), tail = prompt(5, 6, vocab());
  Session session(*module, DSSM_DEVICE_CPU, 1);
  session.prefill({head});
  std::vector<uint8_t> prefix = session.saveState(0);
  session.reset(0);
  EXPECT_EQ(session.position(0), 0);
  session.restoreState(0, prefix);
  session.prefill({tail}); // continues at position 4
  EXPECT_EQ(session.position(0), 9);
  Tokens whole = head;
  whole.insert(whole.end(), tail.begin(), tail.end());
  Session reference(*module, DSSM_DEVICE_CPU, 1);
  reference.prefill({whole});
  std::vector<float> all = reference.logits(0);
  std::vector<float> tailRows(all.end() - tail.size() * vocab(), all.end());
  EXPECT_LE(relativeError(session.logits(0), tailRows), 1e-4);
}

TEST_F(RuntimeAPI, ResetGivesAFreshSequence) {
  Tokens tokens = prompt(6, 7, vocab());
  Session session(*module, DSSM_DEVICE_CPU, 1), fresh(*module, DSSM_DEVICE_CPU, 1);
  session.prefill({prompt(3, 8, vocab())});
  session.reset(0);
  session.prefill({tokens});
  fresh.prefill({tokens});
  EXPECT_EQ(session.logits(0), fresh.logits(0));
}

TEST_F(RuntimeAPI, BatchOfDifferentLengthsMatchesEachAlone) {
  std::vector<Tokens> prompts = {prompt(5, 9, vocab()), prompt(2, 10, vocab()),
                                 prompt(7, 11, vocab())};
  Session batch(*module, DSSM_DEVICE_CPU, 3);
  batch.prefill(prompts);
  std::vector<std::vector<float>> prefilled;
  for (int32_t s = 0; s < 3; ++s)
    prefilled.push_back(batch.logits(s));
  Tokens next = {1, 2, 3};
  batch.step(next);
  for (int32_t s = 0; s < 3; ++s) {
    Session alone(*module, DSSM_DEVICE_CPU, 1);
    alone.prefill({prompts[s]});
    EXPECT_LE(relativeError(prefilled[s], alone.logits(0)), 1e-5) << "slot " << s;
    alone.step({next[s]});
    EXPECT_LE(relativeError(batch.logits(s), alone.logits(0)), 1e-5) << "slot " << s;
    EXPECT_EQ(batch.position(s), int64_t(prompts[s].size()) + 1);
  }
}

TEST_F(RuntimeAPI, SessionsOnSeveralThreadsShareOneModule) {
  Tokens tokens = prompt(6, 12, vocab());
  std::vector<float> expected = stepOnly(*module, tokens);
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] { results[t] = stepOnly(*module, tokens); });
  for (std::thread &thread : threads)
    thread.join();
  for (const std::vector<float> &result : results)
    EXPECT_EQ(result, expected);
}

TEST_F(RuntimeAPI, SessionOutlivesItsModuleHandle) {
  Tokens tokens = prompt(4, 13, vocab());
  std::vector<float> expected = stepOnly(*module, tokens);
  dssm_module *raw = nullptr;
  ASSERT_EQ(dssm_module_load_file(modulePath.c_str(), &raw), nullptr);
  dssm_session *session = nullptr;
  ASSERT_EQ(dssm_session_create(raw, DSSM_DEVICE_CPU, 1, &session), nullptr);
  dssm_module_release(raw); // the session keeps it alive
  std::vector<float> rows;
  for (int64_t token : tokens) {
    ASSERT_EQ(dssm_session_step(session, &token, nullptr), nullptr);
    const float *logits;
    int64_t count;
    ASSERT_EQ(dssm_session_logits(session, 0, &logits, &count), nullptr);
    rows.insert(rows.end(), logits, logits + count * vocab());
  }
  dssm_session_release(session);
  EXPECT_EQ(rows, expected);
}

TEST_F(RuntimeAPI, LoadFromMemoryEqualsLoadFromFile) {
  std::ifstream file(modulePath, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), {});
  dssm_module *raw = nullptr;
  ASSERT_EQ(dssm_module_load_memory(bytes.data(), bytes.size(), "copy", &raw),
            nullptr);
  EXPECT_EQ(dssm_module_vocab_size(raw), vocab());
  dssm_module_release(raw);
  // A truncated image is refused with a message naming it.
  dssm_status status =
      dssm_module_load_memory(bytes.data(), bytes.size() / 2, "half", &raw);
  ASSERT_NE(status, nullptr);
  EXPECT_NE(std::string(dssm_status_message(status)).find("half: truncated"),
            std::string::npos)
      << dssm_status_message(status);
  dssm_status_free(status);
  EXPECT_EQ(raw, nullptr);
}

/// The message of a failed call (and frees the status).
std::string messageOf(dssm_status status) {
  if (!status)
    return "";
  std::string message = dssm_status_message(status);
  dssm_status_free(status);
  return message;
}

TEST_F(RuntimeAPI, MisuseIsReportedNotCrashedOn) {
  dssm_session *session = nullptr;
  EXPECT_NE(messageOf(dssm_session_create(nullptr, DSSM_DEVICE_CPU, 1, &session))
                .find("null"),
            std::string::npos);
  EXPECT_NE(messageOf(dssm_session_create(module->get(), DSSM_DEVICE_CPU, 0, &session))
                .find("batch must be at least 1"),
            std::string::npos);
  Session valid(*module, DSSM_DEVICE_CPU, 2);
  const float *logits;
  int64_t rows;
  EXPECT_NE(messageOf(dssm_session_logits(valid.get(), 2, &logits, &rows))
                .find("slot 2 is out of range"),
            std::string::npos);
  int64_t bad[2] = {vocab(), 0};
  EXPECT_NE(messageOf(dssm_session_step(valid.get(), bad, nullptr))
                .find("out of range"),
            std::string::npos);
  std::vector<uint8_t> small(3);
  EXPECT_NE(messageOf(dssm_session_restore_state(valid.get(), 0, small.data(),
                                                 small.size()))
                .find("the buffer has 3 bytes"),
            std::string::npos);
  EXPECT_NE(messageOf(dssm_session_step(nullptr, bad, nullptr)).find("null session"),
            std::string::npos);
  EXPECT_NE(messageOf(dssm_session_create(module->get(), DSSM_DEVICE_CUDA, 1, &session))
                .find("cannot use the CUDA device"),
            std::string::npos);
  // A failed call leaves the session usable.
  valid.step({1, 2});
  EXPECT_EQ(valid.position(0), 1);
}

} // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--module=", 9) == 0)
      modulePath = argv[i] + 9;
  if (modulePath.empty()) {
    std::fprintf(stderr, "usage: densessm-runtime-tests --module=M.dssm\n");
    return 2;
  }
  return RUN_ALL_TESTS();
}
