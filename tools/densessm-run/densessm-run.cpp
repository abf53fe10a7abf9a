//===- densessm-run.cpp - run a compiled module ---------------------------===//
//
//   densessm-run MODULE.dssm --tokens=1,2,3[:4,5...] [--generate=N]
//       [--device=cpu|cuda|auto] [--prefill=parallel|recurrent] [--batch=N]
//       [--temperature=T] [--top-k=K] [--top-p=P] [--seed=S]
//       [--dump-logits=FILE.npy]
//
// Prefills each prompt (prompts separated by ':' form a batch of sequences
// of different lengths; --batch=N repeats a single prompt N times), then
// generates N tokens per sequence, greedily unless sampling is asked for.
// Prints each sequence's prompt and generated ids, then the prefill and
// decode throughput. Uses only the runtime (no compiler libraries).
//
//===----------------------------------------------------------------------===//

#include "densessm/runtime/Runtime.hpp"

#include "NpyWriter.h"
#include "Sampler.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using densessm::runtime::Error;

namespace {

struct Options {
  std::string module;
  std::vector<std::vector<int64_t>> prompts;
  int64_t generate = 0;
  int64_t batch = 0; // 0: one sequence per prompt
  dssm_device device = DSSM_DEVICE_CPU;
  dssm_prefill_mode prefill = DSSM_PREFILL_PARALLEL;
  SamplerOptions sampling;
  std::string dumpLogits;
};

const char *kUsage =
    "usage: densessm-run MODULE.dssm --tokens=1,2,3[:4,5...] [options]\n"
    "  --tokens=IDS        prompt token ids, comma separated; ':' separates\n"
    "                      the prompts of a batch of sequences\n"
    "  --generate=N        tokens to generate per sequence (default 0)\n"
    "  --batch=N           run N copies of a single prompt\n"
    "  --device=D          cpu (default), cuda, or auto (cuda if available)\n"
    "  --prefill=MODE      parallel (default: one call over the prompt) or\n"
    "                      recurrent (one step per prompt token)\n"
    "  --temperature=T     sample from softmax(logits / T) (default: greedy)\n"
    "  --top-k=K           sample among the K most likely tokens\n"
    "  --top-p=P           sample among the most likely tokens of mass P\n"
    "  --seed=S            sampling seed (default 0)\n"
    "  --dump-logits=FILE  write float32 .npy [positions, vocab] of every\n"
    "                      prompt position and generated step (one file per\n"
    "                      sequence, FILE.seq<i>.npy, for several)\n";

int64_t parseInteger(const std::string &flag, const std::string &text) {
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end || errno)
    throw Error(flag + ": expected an integer, found '" + text + "'");
  return value;
}

double parseNumber(const std::string &flag, const std::string &text) {
  char *end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end)
    throw Error(flag + ": expected a number, found '" + text + "'");
  return value;
}

std::vector<std::vector<int64_t>> parsePrompts(const std::string &text) {
  std::vector<std::vector<int64_t>> prompts(1);
  std::string item;
  auto flush = [&]() {
    if (item.empty())
      throw Error("--tokens: empty token id in '" + text + "'");
    prompts.back().push_back(parseInteger("--tokens", item));
    item.clear();
  };
  for (char c : text) {
    if (c == ',') {
      flush();
    } else if (c == ':') {
      flush();
      prompts.emplace_back();
    } else {
      item += c;
    }
  }
  flush();
  return prompts;
}

Options parseOptions(int argc, char **argv) {
  Options options;
  bool haveTokens = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0) {
      if (!options.module.empty())
        throw Error("unexpected argument '" + arg + "' (one module file)");
      options.module = arg;
      continue;
    }
    size_t equals = arg.find('=');
    if (equals == std::string::npos)
      throw Error("unknown or incomplete option '" + arg +
                  "' (options take a value: --flag=value; see --help)");
    std::string flag = arg.substr(0, equals), value = arg.substr(equals + 1);
    if (flag == "--tokens") {
      options.prompts = parsePrompts(value);
      haveTokens = true;
    } else if (flag == "--generate") {
      options.generate = parseInteger(flag, value);
      if (options.generate < 0)
        throw Error("--generate: must be 0 or more, found " + value);
    } else if (flag == "--batch") {
      options.batch = parseInteger(flag, value);
      if (options.batch < 1 || options.batch > 4096)
        throw Error("--batch: must be between 1 and 4096, found " + value);
    } else if (flag == "--device") {
      if (value == "cpu")
        options.device = DSSM_DEVICE_CPU;
      else if (value == "cuda")
        options.device = DSSM_DEVICE_CUDA;
      else if (value == "auto")
        options.device = DSSM_DEVICE_AUTO;
      else
        throw Error("--device: expected cpu, cuda or auto, found '" + value + "'");
    } else if (flag == "--prefill") {
      if (value == "parallel")
        options.prefill = DSSM_PREFILL_PARALLEL;
      else if (value == "recurrent")
        options.prefill = DSSM_PREFILL_RECURRENT;
      else
        throw Error("--prefill: expected parallel or recurrent, found '" +
                    value + "'");
    } else if (flag == "--temperature") {
      options.sampling.temperature = parseNumber(flag, value);
      if (options.sampling.temperature < 0)
        throw Error("--temperature: must be 0 (greedy) or more, found " + value);
    } else if (flag == "--top-k") {
      options.sampling.topK = parseInteger(flag, value);
      if (options.sampling.topK < 1)
        throw Error("--top-k: must be at least 1, found " + value);
    } else if (flag == "--top-p") {
      options.sampling.topP = parseNumber(flag, value);
      if (!(options.sampling.topP > 0 && options.sampling.topP <= 1))
        throw Error("--top-p: must be in (0, 1], found " + value);
    } else if (flag == "--seed") {
      options.sampling.seed = uint64_t(parseInteger(flag, value));
    } else if (flag == "--dump-logits") {
      options.dumpLogits = value;
    } else {
      throw Error("unknown option '" + flag + "' (see --help)");
    }
  }
  if (options.module.empty())
    throw Error("no module file given (see --help)");
  if (!haveTokens)
    throw Error("--tokens: a prompt is required, e.g. --tokens=1,2,3");
  if (options.batch > 0) {
    if (options.prompts.size() != 1)
      throw Error("--batch: repeats a single prompt; --tokens has " +
                  std::to_string(options.prompts.size()));
    options.prompts.assign(size_t(options.batch), options.prompts[0]);
  }
  return options;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string dumpPath(const std::string &path, size_t sequence, size_t count) {
  if (count == 1)
    return path;
  std::string stem = path;
  if (stem.size() > 4 && stem.compare(stem.size() - 4, 4, ".npy") == 0)
    stem.resize(stem.size() - 4);
  return stem + ".seq" + std::to_string(sequence) + ".npy";
}

int run(const Options &options) {
  auto module = densessm::runtime::Module::load(options.module);
  int64_t vocab = module.vocabSize();
  int32_t batch = int32_t(options.prompts.size());
  for (size_t s = 0; s < options.prompts.size(); ++s)
    for (int64_t token : options.prompts[s])
      if (token < 0 || token >= vocab)
        throw Error("--tokens: token id " + std::to_string(token) +
                    " (sequence " + std::to_string(s) +
                    ") is out of range: the model's vocabulary has " +
                    std::to_string(vocab) + " entries");
  densessm::runtime::Session session(module, options.device, batch);
  if (options.device == DSSM_DEVICE_AUTO)
    std::cerr << "densessm-run: --device=auto runs on the "
              << (session.device() == DSSM_DEVICE_CUDA
                      ? std::string("GPU")
                      : "CPU (" + session.deviceNote() + ")")
              << "\n";

  // All logits rows of each sequence, and its generated ids.
  std::vector<std::vector<float>> rows(static_cast<size_t>(batch));
  std::vector<std::vector<int64_t>> generated(static_cast<size_t>(batch));
  Sampler sampler(options.sampling, vocab);

  auto start = std::chrono::steady_clock::now();
  session.prefill(options.prompts, options.prefill);
  double prefillSeconds = secondsSince(start);
  std::vector<int64_t> next(static_cast<size_t>(batch));
  for (int32_t s = 0; s < batch; ++s) {
    rows[s] = session.logits(s);
    next[s] = sampler.sample(&rows[s][rows[s].size() - size_t(vocab)]);
  }

  start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < options.generate; ++i) {
    session.step(next);
    for (int32_t s = 0; s < batch; ++s) {
      generated[s].push_back(next[s]);
      std::vector<float> row = session.logits(s);
      rows[s].insert(rows[s].end(), row.begin(), row.end());
      next[s] = sampler.sample(row.data());
    }
  }
  double decodeSeconds = secondsSince(start);

  int64_t promptTokens = 0;
  for (int32_t s = 0; s < batch; ++s) {
    promptTokens += int64_t(options.prompts[s].size());
    std::cout << "sequence " << s << ":";
    for (int64_t token : options.prompts[s])
      std::cout << " " << token;
    std::cout << " |";
    for (int64_t token : generated[s])
      std::cout << " " << token;
    std::cout << "\n";
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "prefill: %lld tokens in %.3f ms (%.1f tokens/s, %s)\n",
                (long long)promptTokens, prefillSeconds * 1e3,
                promptTokens / prefillSeconds,
                options.prefill == DSSM_PREFILL_PARALLEL ? "parallel"
                                                         : "recurrent");
  std::cout << line;
  if (options.generate > 0) {
    std::snprintf(line, sizeof line,
                  "decode: %lld steps x %d sequences in %.3f ms (%.1f "
                  "tokens/s, %.3f ms per step)\n",
                  (long long)options.generate, batch, decodeSeconds * 1e3,
                  options.generate * batch / decodeSeconds,
                  decodeSeconds * 1e3 / options.generate);
    std::cout << line;
  }
  if (!options.dumpLogits.empty())
    for (int32_t s = 0; s < batch; ++s)
      writeNpy(dumpPath(options.dumpLogits, size_t(s), size_t(batch)), rows[s],
               int64_t(rows[s].size()) / vocab, vocab);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(parseOptions(argc, argv));
  } catch (const Error &error) {
    std::cerr << "densessm-run: error: " << error.what() << "\n";
    return 1;
  } catch (const std::bad_alloc &) {
    std::cerr << "densessm-run: error: out of memory\n";
    return 1;
  }
}
