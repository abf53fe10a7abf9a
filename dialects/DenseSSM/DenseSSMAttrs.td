//===- DenseSSMAttrs.td - densessm enum attributes ---------*- tablegen -*-===//
//
// The enumerations that configure the ops: what a dense connection projects,
// fuses and normalises with, how retention normalises, which activation a
// convolution applies, and which schedule a function is lowered with.
//
//===----------------------------------------------------------------------===//

#ifndef DENSESSM_ATTRS_TD
#define DENSESSM_ATTRS_TD

include "DenseSSM/DenseSSMBase.td"
include "mlir/IR/EnumAttr.td"

// An enum whose attribute prints as `#densessm.<mnemonic><<case>>`.
class DenseSSM_EnumAttr<EnumAttrInfo enumInfo, string mnemonic>
    : EnumAttr<DenseSSM_Dialect, enumInfo, mnemonic> {
  let assemblyFormat = "`<` $value `>`";
}

def DenseSSM_Projection : I32EnumAttr<"Projection",
    "how a dense connection projects a kept tensor into the current layer", [
      I32EnumAttrCase<"identity", 0>,
      I32EnumAttrCase<"linear", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::densessm";
}
def DenseSSM_ProjectionAttr : DenseSSM_EnumAttr<DenseSSM_Projection, "projection">;

def DenseSSM_Fusion : I32EnumAttr<"Fusion",
    "how a dense connection fuses the gated kept tensors with the current one", [
      I32EnumAttrCase<"add", 0>,
      I32EnumAttrCase<"concat", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::densessm";
}
def DenseSSM_FusionAttr : DenseSSM_EnumAttr<DenseSSM_Fusion, "fusion">;

def DenseSSM_Norm : I32EnumAttr<"Norm",
    "the normalisation a dense connection applies after fusing", [
      I32EnumAttrCase<"rms", 0>,
      I32EnumAttrCase<"none", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::densessm";
}
def DenseSSM_NormAttr : DenseSSM_EnumAttr<DenseSSM_Norm, "norm">;

def DenseSSM_RetentionNormalization : I32EnumAttr<"RetentionNormalization",
    "how retention scales its decay (MODELS.md §2)", [
      I32EnumAttrCase<"authors", 0>,
      I32EnumAttrCase<"none", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::densessm";
}
def DenseSSM_RetentionNormalizationAttr
    : DenseSSM_EnumAttr<DenseSSM_RetentionNormalization, "retention_norm">;

def DenseSSM_Activation : I32EnumAttr<"Activation",
    "an activation applied to an op's output", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"silu", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::densessm";
}
def DenseSSM_ActivationAttr : DenseSSM_EnumAttr<DenseSSM_Activation, "activation">;

def DenseSSM_Schedule : I32EnumAttr<"Schedule",
    "how a function's scans are evaluated", [
      I32EnumAttrCase<"parallel", 0>,
      I32EnumAttrCase<"recurrent", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::densessm";
}
def DenseSSM_ScheduleAttr : DenseSSM_EnumAttr<DenseSSM_Schedule, "schedule">;

#endif // DENSESSM_ATTRS_TD
