//===- ModelConfig.cpp - a model's hyperparameters from config.json -------===//
//
// Reads the Hugging Face style config.json of the four families (MODELS.md
// names the fields) and checks every constraint the model builders rely on,
// so that a configuration they cannot build is reported here, naming the
// field, rather than later as a tensor with an unexpected shape.
//
//===----------------------------------------------------------------------===//

#include "densessm/Frontend/ModelConfig.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/FormatVariadic.h"

#include <optional>

using namespace mlir::densessm::frontend;
using llvm::json::Object;
using llvm::json::Value;

llvm::StringRef
mlir::densessm::frontend::stringifyModelFamily(ModelFamily family) {
  switch (family) {
  case ModelFamily::Mamba:
    return "mamba";
  case ModelFamily::DenseMamba:
    return "densemamba";
  case ModelFamily::RetNet:
    return "retnet";
  case ModelFamily::DenseRetNet:
    return "denseretnet";
  }
  llvm_unreachable("unknown model family");
}

namespace {

/// Reads typed fields of one config object. The first problem is kept (every
/// later read returns a harmless default), so a parser reads all its fields
/// and asks once whether they were all well-formed.
class FieldReader {
public:
  FieldReader(const Object &object, llvm::StringRef source)
      : object(object), source(source) {}

  bool has(llvm::StringRef field) const { return object.get(field); }

  /// A required integer that is at least `min` (0 or 1).
  int64_t integer(llvm::StringRef field, int64_t min = 1) {
    const Value *value = object.get(field);
    if (!value) {
      fail("missing field '" + field + "' (an integer)");
      return min;
    }
    return checkInteger(field, *value, min);
  }

  /// An optional integer that is at least `min`; `fallback` when absent.
  int64_t integerOr(llvm::StringRef field, int64_t min, int64_t fallback) {
    const Value *value = object.get(field);
    return value ? checkInteger(field, *value, min) : fallback;
  }

  /// A required positive number (an epsilon).
  double positiveNumber(llvm::StringRef field) {
    const Value *value = object.get(field);
    if (!value) {
      fail("missing field '" + field + "' (a number)");
      return 1;
    }
    std::optional<double> number = value->getAsNumber();
    if (!number || !(*number > 0)) {
      fail("field '" + field + "' must be a positive number, found " +
           format(*value));
      return 1;
    }
    return *number;
  }

  /// An optional boolean; `fallback` when absent.
  bool boolean(llvm::StringRef field, bool fallback) {
    const Value *value = object.get(field);
    if (!value)
      return fallback;
    std::optional<bool> flag = value->getAsBoolean();
    if (!flag) {
      fail("field '" + field + "' must be true or false, found " +
           format(*value));
      return fallback;
    }
    return *flag;
  }

  /// Mamba's time_step_rank: a positive integer, or "auto" for
  /// ceil(hidden_size / 16) (Hugging Face's MambaConfig).
  int64_t timeStepRank(int64_t hiddenSize) {
    llvm::StringRef field = "time_step_rank";
    const Value *value = object.get(field);
    if (!value) {
      fail("missing field 'time_step_rank' (an integer or \"auto\")");
      return 1;
    }
    if (std::optional<llvm::StringRef> text = value->getAsString()) {
      if (*text == "auto")
        return (hiddenSize + 15) / 16;
    } else if (std::optional<int64_t> rank = value->getAsInteger()) {
      if (*rank >= 1)
        return *rank;
    }
    fail("field '" + field +
         "' must be a positive integer or \"auto\", found " + format(*value));
    return 1;
  }

  /// Records a problem with the configuration (the first one wins).
  void fail(const llvm::Twine &message) {
    if (!firstError)
      firstError = (source + ": " + message).str();
  }

  void fail(const llvm::formatv_object_base &message) { fail(message.str()); }

  bool ok() const { return !firstError; }

  llvm::Error takeError() {
    if (!firstError)
      return llvm::Error::success();
    return llvm::createStringError(llvm::inconvertibleErrorCode(), *firstError);
  }

  static std::string format(const Value &value) {
    return llvm::formatv("{0}", value).str();
  }

private:
  int64_t checkInteger(llvm::StringRef field, const Value &value, int64_t min) {
    std::optional<int64_t> number = value.getAsInteger();
    if (!number || *number < min) {
      fail("field '" + field + "' must be a " +
           (min > 0 ? "positive" : "non-negative") + " integer, found " +
           format(value));
      return min;
    }
    return *number;
  }

  const Object &object;
  llvm::StringRef source;
  std::optional<std::string> firstError;
};

constexpr llvm::StringLiteral kKnownModelTypes =
    "mamba, densemamba, retnet, denseretnet, llama with query_key_dim";

/// Mamba-1 and DenseMamba (MODELS.md §1, §3).
void readMamba(FieldReader &reader, ModelConfig &config) {
  config.hiddenSize = reader.integer("hidden_size");
  config.stateSize = reader.integer("state_size");
  config.expand = reader.integer("expand");
  config.convKernel = reader.integer("conv_kernel");
  config.timeStepRank = reader.timeStepRank(config.hiddenSize);
  config.eps = reader.positiveNumber("layer_norm_epsilon");
  // Hugging Face's MambaConfig ties the head to the embeddings by default.
  config.tieWordEmbeddings = reader.boolean("tie_word_embeddings", true);
  config.useConvBias = reader.boolean("use_conv_bias", true);
  // The projections' biases are not in MODELS.md (no released Mamba has
  // them); refuse them rather than silently dropping in_proj.bias.
  if (reader.boolean("use_bias", false))
    reader.fail("field 'use_bias' is true, but biases on in_proj and out_proj "
                "are not supported (MODELS.md §1 has none)");
  if (config.family == ModelFamily::DenseMamba && reader.ok() &&
      config.hiddenSize < 32)
    reader.fail(llvm::formatv("hidden_size must be at least 32 for DenseMamba "
                              "(u_select.fc1 has hidden_size / 32 rows), "
                              "found {0}",
                              config.hiddenSize));
}

/// RetNet (GAU) and DenseRetNet (MODELS.md §2), with the shape constraints
/// of the authors' code.
void readRetNet(FieldReader &reader, ModelConfig &config) {
  config.hiddenSize = reader.integer("hidden_size");
  config.queryKeyDim = reader.integer("query_key_dim");
  config.numHeads = reader.integer("num_attention_heads");
  config.vFactor = reader.integer("v_factor");
  config.eps = reader.positiveNumber("rms_norm_eps");
  config.tieWordEmbeddings = reader.boolean("tie_word_embeddings", false);
  if (!reader.ok())
    return;
  int64_t hidden = config.hiddenSize;
  if (2 * config.queryKeyDim != hidden || config.vFactor != 2) {
    reader.fail(llvm::formatv(
        "the DenseSSM authors' retention only works with query_key_dim = "
        "hidden_size / 2 and v_factor = 2 (MODELS.md §2), found "
        "query_key_dim {0} and v_factor {1} with hidden_size {2}",
        config.queryKeyDim, config.vFactor, hidden));
    return;
  }
  if (config.queryKeyDim % config.numHeads != 0) {
    reader.fail(llvm::formatv("query_key_dim {0} must be divisible by "
                              "num_attention_heads {1}",
                              config.queryKeyDim, config.numHeads));
    return;
  }
  int64_t dk = config.keyHeadDim();
  if (dk % 2 != 0 || dk < 4) {
    reader.fail(llvm::formatv(
        "the key head size query_key_dim / num_attention_heads = {0} must be "
        "even and at least 4 (the rotary rotation turns channel pairs by "
        "angles over dk/2 - 1 steps)",
        dk));
    return;
  }
  if (config.family == ModelFamily::DenseRetNet && hidden % 32 != 0)
    reader.fail(llvm::formatv(
        "hidden_size must be a multiple of 32 for DenseRetNet (k_select and "
        "v_select have hidden_size / 32 channels), found {0}",
        hidden));
}

/// The family that `modelType` names, given the dense layer count `m`
/// (already read), or a recorded error.
std::optional<ModelFamily> resolveFamily(FieldReader &reader,
                                         llvm::StringRef modelType, int64_t m) {
  auto requireDense = [&](ModelFamily dense, llvm::StringRef plainType) {
    if (m >= 1)
      return std::optional<ModelFamily>(dense);
    reader.fail(llvm::formatv(
        "field 'dense_block_layers' must be at least 1 for model_type '{0}' "
        "(with 0 it is the plain model, model_type '{1}'), found {2}",
        modelType, plainType, m));
    return std::optional<ModelFamily>();
  };
  auto requirePlain = [&](ModelFamily plain, llvm::StringRef denseType) {
    if (m == 0)
      return std::optional<ModelFamily>(plain);
    reader.fail(llvm::formatv(
        "model_type '{0}' has no dense connections, but dense_block_layers is "
        "{1} (use model_type '{2}', or set dense_block_layers to 0)",
        modelType, m, denseType));
    return std::optional<ModelFamily>();
  };
  if (modelType == "mamba")
    return requirePlain(ModelFamily::Mamba, "densemamba");
  if (modelType == "densemamba")
    return requireDense(ModelFamily::DenseMamba, "mamba");
  if (modelType == "retnet")
    return requirePlain(ModelFamily::RetNet, "denseretnet");
  if (modelType == "denseretnet")
    return requireDense(ModelFamily::DenseRetNet, "retnet");
  // The authors save their retention models as LlamaForCausalLM.
  return m > 0 ? ModelFamily::DenseRetNet : ModelFamily::RetNet;
}

} // namespace

llvm::Expected<ModelConfig>
mlir::densessm::frontend::parseModelConfig(const Value &json,
                                           llvm::StringRef source) {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   (source + ": " + message).str());
  };
  const Object *object = json.getAsObject();
  if (!object)
    return fail("expected a JSON object, found " + FieldReader::format(json));
  const Value *typeValue = object->get("model_type");
  if (!typeValue)
    return fail("missing field 'model_type' (a string)");
  std::optional<llvm::StringRef> modelType = typeValue->getAsString();
  if (!modelType)
    return fail("field 'model_type' must be a string, found " +
                FieldReader::format(*typeValue));

  bool isMamba = *modelType == "mamba" || *modelType == "densemamba";
  bool isRetention = *modelType == "retnet" || *modelType == "denseretnet";
  if (*modelType == "llama") {
    // A plain Llama has neither field; the authors' retention model has both.
    bool hasQ = object->get("query_key_dim"), hasV = object->get("v_factor");
    if (!hasQ || !hasV)
      return fail(llvm::formatv("model_type 'llama' is read only as the "
                                "DenseSSM authors' retention "
                                "model, which has 'query_key_dim' and "
                                "'v_factor'; this config has "
                                "no '{0}' (known: {1})",
                                hasQ ? "v_factor" : "query_key_dim",
                                kKnownModelTypes)
                      .str());
    isRetention = true;
  }
  if (!isMamba && !isRetention)
    return fail(llvm::formatv("unknown model_type '{0}' (known: {1})",
                              *modelType, kKnownModelTypes)
                    .str());

  FieldReader reader(*object, source);
  ModelConfig config;
  config.modelType = modelType->str();
  bool denseType = *modelType == "densemamba" || *modelType == "denseretnet";
  config.denseBlockLayers =
      denseType ? reader.integer("dense_block_layers", /*min=*/0)
                : reader.integerOr("dense_block_layers", /*min=*/0, 0);
  if (reader.ok())
    if (std::optional<ModelFamily> family =
            resolveFamily(reader, *modelType, config.denseBlockLayers))
      config.family = *family;
  config.vocabSize = reader.integer("vocab_size");
  config.numLayers = reader.integer("num_hidden_layers");
  if (isMamba)
    readMamba(reader, config);
  else
    readRetNet(reader, config);
  if (llvm::Error error = reader.takeError())
    return std::move(error);
  return config;
}

Object mlir::densessm::frontend::toJSON(const ModelConfig &config) {
  Object object;
  object["model_type"] = config.modelType.empty()
                             ? stringifyModelFamily(config.family).str()
                             : config.modelType;
  object["vocab_size"] = config.vocabSize;
  object["hidden_size"] = config.hiddenSize;
  object["num_hidden_layers"] = config.numLayers;
  object["dense_block_layers"] = config.denseBlockLayers;
  object["tie_word_embeddings"] = config.tieWordEmbeddings;
  if (config.isMambaFamily()) {
    object["state_size"] = config.stateSize;
    object["expand"] = config.expand;
    object["conv_kernel"] = config.convKernel;
    object["time_step_rank"] = config.timeStepRank;
    object["layer_norm_epsilon"] = config.eps;
    object["use_conv_bias"] = config.useConvBias;
  } else {
    object["query_key_dim"] = config.queryKeyDim;
    object["num_attention_heads"] = config.numHeads;
    object["v_factor"] = config.vFactor;
    object["rms_norm_eps"] = config.eps;
  }
  return object;
}
