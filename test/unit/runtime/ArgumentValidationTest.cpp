//===- ArgumentValidationTest.cpp - every C API call on bad arguments -----===//
//
// Each function of densessm_runtime.h is called with what an application
// gets wrong: null handles and pointers, slots and devices out of range,
// buffers of the wrong size, tokens outside the vocabulary, a saved state
// that is not one, a batch too large for memory. Each must return a status
// whose message names the problem (or, for the accessors without a status,
// a neutral value), never crash, and leave the session usable and
// unchanged.
//
//===----------------------------------------------------------------------===//

#include "RobustnessTestModule.h"

#include "densessm/runtime/Runtime.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using densessm::runtime::Module;
using densessm::runtime::Session;

namespace {

/// The message of a failed call (and frees the status); "" on success.
std::string messageOf(dssm_status status) {
  if (!status)
    return "";
  std::string message = dssm_status_message(status);
  dssm_status_free(status);
  return message;
}

#define EXPECT_MESSAGE(call, text)                                             \
  do {                                                                         \
    std::string message_ = messageOf(call);                                    \
    EXPECT_NE(message_.find(text), std::string::npos)                          \
        << #call << " said: '" << message_ << "', expected '" << text << "'";  \
  } while (false)

class ArgumentValidation : public ::testing::Test {
protected:
  void SetUp() override {
    module = std::make_unique<Module>(Module::load(robustnessModulePath));
  }
  std::unique_ptr<Module> module;
  int64_t vocab() const { return module->vocabSize(); }
};

TEST_F(ArgumentValidation, LoadingReportsNullArgumentsAndBadFiles) {
  dssm_module *out = reinterpret_cast<dssm_module *>(&out); // not null
  EXPECT_MESSAGE(dssm_module_load_file(nullptr, &out), "null argument");
  EXPECT_MESSAGE(dssm_module_load_file(robustnessModulePath.c_str(), nullptr),
                 "null argument");
  EXPECT_MESSAGE(dssm_module_load_file("/nonexistent/m.dssm", &out),
                 "/nonexistent/m.dssm: cannot open module file: No such file");
  EXPECT_EQ(out, nullptr); // a failed load clears the output handle
  EXPECT_MESSAGE(dssm_module_load_file("/", &out), "/: not a regular file");
  EXPECT_MESSAGE(dssm_module_load_memory(nullptr, 100, "image", &out),
                 "image: module data is null");
  char bytes[64] = {0};
  EXPECT_MESSAGE(dssm_module_load_memory(bytes, sizeof(bytes), "image", nullptr),
                 "null output handle");
  EXPECT_MESSAGE(dssm_module_load_memory(bytes, 10, "ten", &out),
                 "ten: truncated module file: 10 bytes");
  EXPECT_MESSAGE(dssm_module_load_memory(bytes, sizeof(bytes), nullptr, &out),
                 "<memory>: not a densessm module file");
}

TEST_F(ArgumentValidation, LoadingReportsAnotherABIVersion) {
  std::ifstream file(robustnessModulePath, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), {});
  ASSERT_GT(bytes.size(), 32u);
  uint32_t version = DSSM_ABI_VERSION + 1;
  std::memcpy(&bytes[8], &version, sizeof(version)); // the preamble's version
  dssm_module *out = nullptr;
  EXPECT_MESSAGE(dssm_module_load_memory(bytes.data(), bytes.size(), "newer", &out),
                 "newer: module ABI version " + std::to_string(version) +
                     ", this runtime reads version " +
                     std::to_string(DSSM_ABI_VERSION));
  EXPECT_EQ(out, nullptr);
}

TEST_F(ArgumentValidation, AccessorsOfNullHandlesGiveNeutralValues) {
  EXPECT_EQ(dssm_module_vocab_size(nullptr), 0);
  EXPECT_EQ(dssm_module_weight_bytes(nullptr), 0u);
  EXPECT_STREQ(dssm_module_family(nullptr), "");
  EXPECT_EQ(dssm_session_batch(nullptr), 0);
  EXPECT_EQ(dssm_session_device(nullptr), DSSM_DEVICE_CPU);
  EXPECT_STREQ(dssm_session_device_note(nullptr), "");
  EXPECT_EQ(dssm_session_state_size(nullptr), 0u);
  EXPECT_STREQ(dssm_status_message(nullptr), "ok");
  dssm_status_free(nullptr);
  dssm_module_release(nullptr);
  dssm_session_release(nullptr);
}

TEST_F(ArgumentValidation, SessionCreationReportsBadArguments) {
  dssm_session *out = nullptr;
  EXPECT_MESSAGE(dssm_session_create(nullptr, DSSM_DEVICE_CPU, 1, &out),
                 "dssm_session_create: null argument");
  EXPECT_MESSAGE(dssm_session_create(module->get(), DSSM_DEVICE_CPU, 1, nullptr),
                 "dssm_session_create: null argument");
  EXPECT_MESSAGE(dssm_session_create(module->get(), DSSM_DEVICE_CPU, -3, &out),
                 "batch must be at least 1, found -3");
  EXPECT_MESSAGE(
      dssm_session_create(module->get(), static_cast<dssm_device>(7), 1, &out),
      "unknown device 7");
  EXPECT_EQ(out, nullptr);
}

TEST_F(ArgumentValidation, ABatchTooLargeForMemoryIsReported) {
  dssm_session *out = nullptr;
  EXPECT_MESSAGE(dssm_session_create(module->get(), DSSM_DEVICE_CPU, INT32_MAX, &out),
                 "out of memory: the state of 2147483647 sequences needs");
  EXPECT_EQ(out, nullptr);
  // The module is still good for a session of a sensible size.
  Session session(*module, DSSM_DEVICE_CPU, 2);
  session.step({1, 2});
  EXPECT_EQ(session.position(1), 1);
}

TEST_F(ArgumentValidation, APromptTooLargeForMemoryIsReported) {
  Session session(*module, DSSM_DEVICE_CPU, 1);
  // The length is checked before a token is read: the one token here is
  // all there is.
  int64_t token = 1, length = int64_t(1) << 40;
  const int64_t *tokens[1] = {&token};
  EXPECT_MESSAGE(dssm_session_prefill(session.get(), tokens, &length,
                                      DSSM_PREFILL_PARALLEL),
                 "dssm_session_prefill: out of memory: the logits of "
                 "1099511627776 prompt tokens need");
  EXPECT_EQ(session.position(0), 0);
}

TEST_F(ArgumentValidation, PrefillAndStepReportBadArguments) {
  Session session(*module, DSSM_DEVICE_CPU, 2);
  dssm_session *s = session.get();
  std::vector<int64_t> good = {1, 2, 3}, bad = {1, vocab(), 2};
  const int64_t *tokens[2] = {good.data(), good.data()};
  int64_t lengths[2] = {3, 3};
  EXPECT_MESSAGE(dssm_session_prefill(nullptr, tokens, lengths, DSSM_PREFILL_PARALLEL),
                 "dssm_session_prefill: null session");
  EXPECT_MESSAGE(dssm_session_prefill(s, nullptr, lengths, DSSM_PREFILL_PARALLEL),
                 "prefill: tokens and lengths must not be null");
  EXPECT_MESSAGE(dssm_session_prefill(s, tokens, nullptr, DSSM_PREFILL_PARALLEL),
                 "prefill: tokens and lengths must not be null");
  EXPECT_MESSAGE(dssm_session_prefill(s, tokens, lengths,
                                      static_cast<dssm_prefill_mode>(9)),
                 "dssm_session_prefill: unknown mode 9");
  int64_t negative[2] = {3, -1};
  EXPECT_MESSAGE(dssm_session_prefill(s, tokens, negative, DSSM_PREFILL_PARALLEL),
                 "prefill: slot 1 has negative length -1");
  const int64_t *missing[2] = {good.data(), nullptr};
  EXPECT_MESSAGE(dssm_session_prefill(s, missing, lengths, DSSM_PREFILL_PARALLEL),
                 "prefill: slot 1 has 3 tokens but a null token pointer");
  const int64_t *outOfRange[2] = {good.data(), bad.data()};
  EXPECT_MESSAGE(dssm_session_prefill(s, outOfRange, lengths, DSSM_PREFILL_RECURRENT),
                 "token " + std::to_string(vocab()) +
                     " (slot 1, token 1) is out of range: the vocabulary has " +
                     std::to_string(vocab()) + " entries");
  int64_t step[2] = {0, -4};
  EXPECT_MESSAGE(dssm_session_step(nullptr, step, nullptr),
                 "dssm_session_step: null session");
  EXPECT_MESSAGE(dssm_session_step(s, nullptr, nullptr),
                 "step: tokens must not be null");
  EXPECT_MESSAGE(dssm_session_step(s, step, nullptr),
                 "token -4 (slot 1, token 0) is out of range");
  // No failed call advanced a slot.
  EXPECT_EQ(session.position(0), 0);
  EXPECT_EQ(session.position(1), 0);
  // An inactive slot's token is not looked at.
  uint8_t active[2] = {1, 0};
  EXPECT_EQ(messageOf(dssm_session_step(s, step, active)), "");
  EXPECT_EQ(session.position(0), 1);
  EXPECT_EQ(session.position(1), 0);
}

TEST_F(ArgumentValidation, SlotsOutputsAndStateBuffersAreChecked) {
  Session session(*module, DSSM_DEVICE_CPU, 2);
  dssm_session *s = session.get();
  const float *logits = nullptr;
  int64_t rows = 0, position = 0;
  EXPECT_MESSAGE(dssm_session_logits(nullptr, 0, &logits, &rows), "null session");
  EXPECT_MESSAGE(dssm_session_logits(s, -1, &logits, &rows),
                 "slot -1 is out of range: the session has 2 slots");
  EXPECT_MESSAGE(dssm_session_logits(s, 0, nullptr, &rows),
                 "dssm_session_logits: null output");
  EXPECT_MESSAGE(dssm_session_logits(s, 0, &logits, nullptr),
                 "dssm_session_logits: null output");
  EXPECT_MESSAGE(dssm_session_position(s, 2, &position), "slot 2 is out of range");
  EXPECT_MESSAGE(dssm_session_position(s, 0, nullptr),
                 "dssm_session_position: null output");
  EXPECT_MESSAGE(dssm_session_reset(nullptr, 0), "null session");
  EXPECT_MESSAGE(dssm_session_reset(s, 5), "slot 5 is out of range");

  size_t size = dssm_session_state_size(s);
  std::vector<uint8_t> buffer(size + 1);
  EXPECT_MESSAGE(dssm_session_save_state(s, 0, nullptr, size),
                 "dssm_session_save_state: null buffer");
  EXPECT_MESSAGE(dssm_session_save_state(s, 0, buffer.data(), size + 1),
                 "the buffer has " + std::to_string(size + 1) +
                     " bytes, a state takes " + std::to_string(size));
  EXPECT_MESSAGE(dssm_session_save_state(s, 3, buffer.data(), size),
                 "slot 3 is out of range");
  EXPECT_MESSAGE(dssm_session_restore_state(s, 0, nullptr, size),
                 "dssm_session_restore_state: null buffer");
  EXPECT_MESSAGE(dssm_session_restore_state(s, 0, buffer.data(), size - 1),
                 "the buffer has " + std::to_string(size - 1) + " bytes");
  // A buffer of the right size that is not a saved state: its position is
  // negative.
  std::vector<uint8_t> notAState(size, 0xFF);
  EXPECT_MESSAGE(dssm_session_restore_state(s, 0, notAState.data(), size),
                 "dssm_session_restore_state: the saved position is -1");
  EXPECT_EQ(session.position(0), 0);
  // After all that, the session works.
  session.prefill({{1, 2, 3}, {4}});
  EXPECT_EQ(session.position(0), 3);
  EXPECT_EQ(session.position(1), 1);
}

} // namespace
