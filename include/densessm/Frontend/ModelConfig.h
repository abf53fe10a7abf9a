//===- ModelConfig.h - a model's hyperparameters ----------------*- C++ -*-===//
//
// The configuration of one of the four model families, read from a
// checkpoint's config.json (MODELS.md gives the field names) or from an
// exported graph.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_FRONTEND_MODELCONFIG_H
#define DENSESSM_FRONTEND_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <string>

namespace mlir::densessm::frontend {

enum class ModelFamily { Mamba, DenseMamba, RetNet, DenseRetNet };

llvm::StringRef stringifyModelFamily(ModelFamily family);

struct ModelConfig {
  ModelFamily family = ModelFamily::Mamba;
  std::string modelType; // config.json's model_type, as written
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t denseBlockLayers = 0; // m; 0 for the plain families
  double eps = 0;               // layer_norm_epsilon / rms_norm_eps
  bool tieWordEmbeddings = false;
  // Mamba and DenseMamba.
  int64_t stateSize = 0;    // N
  int64_t expand = 0;       // d_inner = expand * hidden
  int64_t convKernel = 0;   // K
  int64_t timeStepRank = 0; // R ("auto" resolved to ceil(H / 16))
  bool useConvBias = true;  // conv1d.bias present (use_conv_bias)
  // RetNet and DenseRetNet.
  int64_t queryKeyDim = 0; // Q
  int64_t numHeads = 0;    // h
  int64_t vFactor = 0;     // E = vFactor * H

  bool isMambaFamily() const {
    return family == ModelFamily::Mamba || family == ModelFamily::DenseMamba;
  }
  int64_t dInner() const { return expand * hiddenSize; }
  int64_t valueDim() const { return vFactor * hiddenSize; }      // E
  int64_t keyHeadDim() const { return queryKeyDim / numHeads; }  // dk
  int64_t valueHeadDim() const { return valueDim() / numHeads; } // dv
};

/// Reads the configuration; `source` (the config.json path) prefixes every
/// error, which names the missing or ill-typed field, or the unknown
/// model_type and the ones that are known, or the MODELS.md shape constraint
/// that does not hold. model_type "mamba" and "densemamba" (which needs
/// dense_block_layers >= 1) are Mamba-1 and DenseMamba; "retnet",
/// "denseretnet" and "llama" with query_key_dim and v_factor (the DenseSSM
/// authors save LlamaForCausalLM) are RetNet or DenseRetNet by
/// dense_block_layers. tie_word_embeddings defaults to true for the Mamba
/// families (Hugging Face's MambaConfig) and false for retention.
llvm::Expected<ModelConfig> parseModelConfig(const llvm::json::Value &json,
                                             llvm::StringRef source);

/// The configuration as config.json would spell it (what an exported graph
/// stores, and what `parseModelConfig` reads back).
llvm::json::Object toJSON(const ModelConfig &config);

} // namespace mlir::densessm::frontend

#endif // DENSESSM_FRONTEND_MODELCONFIG_H
