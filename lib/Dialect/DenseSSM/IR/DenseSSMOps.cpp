//===- DenseSSMOps.cpp - densessm op verifiers ----------------------------===//
//
// The verifiers check each op against the signature in its description
// (DenseSSMOps.td). Canonicalisations live in DenseSSMCanonicalize.cpp.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"

#include "SignatureChecker.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/SmallString.h"

using namespace mlir;
using namespace mlir::densessm;

#define GET_OP_CLASSES
#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.cpp.inc"

namespace {
constexpr ElementKind kAct = ElementKind::Activation;
constexpr ElementKind kParam = ElementKind::Parameter;
constexpr ElementKind kF32 = ElementKind::F32;
constexpr ElementKind kIndex = ElementKind::Index;
} // namespace

static std::string operand(llvm::StringRef name) {
  return SignatureChecker::operand(name);
}
static std::string result(llvm::StringRef name) {
  return SignatureChecker::result(name);
}

/// The shortest decimal that reads back as `value` ("1.5", "0").
static std::string formatFloat(const APFloat &value) {
  llvm::SmallString<16> text;
  value.toString(text);
  return text.str().str();
}

/// Checks a float attribute that divides or scales: it must be positive and
/// finite.
static void checkPositive(SignatureChecker &c, llvm::StringRef name,
                          FloatAttr attr) {
  if (!c.ok())
    return;
  double value = attr.getValueAsDouble();
  if (!(value > 0.0) || !std::isfinite(value))
    c.fail() << "attribute '" << name << "' must be positive and finite, found "
             << formatFloat(attr.getValue());
}

TimeOperand mlir::densessm::getTimeOperand(Operation *op) {
  if (auto scan = dyn_cast<SelectiveScanOp>(op))
    return {scan.getU(), "u"};
  if (auto retention = dyn_cast<RetentionOp>(op))
    return {retention.getQ(), "q"};
  if (auto conv = dyn_cast<CausalConv1dOp>(op))
    return {conv.getX(), "x"};
  if (auto scan = dyn_cast<ScanOp>(op))
    return {scan.getV(), "v"};
  return {};
}

/// Grouped operands (B/C of a selective scan, q/k of a scan): the number of
/// groups bound to `groups` must be positive and divide the size bound to
/// `heads`, so that head h reads group h / (heads / groups).
static void checkGroupsDivide(SignatureChecker &c, llvm::StringRef operandName,
                              llvm::StringRef groups, llvm::StringRef heads,
                              llvm::StringRef headsOwner) {
  std::optional<int64_t> g = c.lookup(groups), n = c.lookup(heads);
  if (!c.ok() || !g)
    return;
  if (*g < 1) {
    c.fail() << "operand '" << operandName << "' dim 2 (" << groups
             << ") must be at least 1, found " << *g;
    return;
  }
  if (n && *n % *g != 0)
    c.fail() << "operand '" << operandName << "' has " << *g
             << " groups, which must divide the " << *n << " " << heads
             << " of " << headsOwner;
}

//===----------------------------------------------------------------------===//
// SelectiveScanOp
//===----------------------------------------------------------------------===//

LogicalResult SelectiveScanOp::verify() {
  SignatureChecker c(*this);
  c.tensor(operand("u"), getU().getType(), {"batch", "length", "channels"},
           kAct);
  c.tensor(operand("delta"), getDelta().getType(),
           {"batch", "length", "channels"}, kAct);
  c.tensor(operand("A"), getA().getType(), {"channels", "state"}, kParam);

  // B and C are per token, either shared by all channels or grouped.
  int64_t bRank = getB().getType().getRank();
  if (c.ok() && bRank != 3 && bRank != 4)
    return c.fail() << "operand 'B' must have rank 3 [batch, length, state] "
                       "or rank 4 [batch, length, groups, state], found rank "
                    << bRank << " (" << getB().getType() << ")";
  bool grouped = bRank == 4;
  llvm::SmallVector<llvm::StringRef> bcDims =
      grouped ? llvm::SmallVector<llvm::StringRef>{"batch", "length", "groups",
                                                   "state"}
              : llvm::SmallVector<llvm::StringRef>{"batch", "length", "state"};
  c.tensor(operand("B"), getB().getType(), bcDims, kAct);
  c.tensor(operand("C"), getC().getType(), bcDims, kAct);
  if (grouped)
    checkGroupsDivide(c, "B", "groups", "channels", "operand 'u'");

  if (Value d = getD())
    c.tensor(operand("D"), d.getType(), {"channels"}, kParam);
  if (Value z = getZ())
    c.tensor(operand("z"), z.getType(), {"batch", "length", "channels"}, kAct);
  if (Value bias = getDeltaBias())
    c.tensor(operand("delta_bias"), bias.getType(), {"channels"}, kParam);
  if (Value s0 = getInitialState())
    c.tensor(operand("initial_state"), s0.getType(),
             {"batch", "channels", "state"}, kF32);

  c.tensor(result("y"), getY().getType(), {"batch", "length", "channels"},
           kAct);
  c.tensor(result("final_state"), getFinalState().getType(),
           {"batch", "channels", "state"}, kF32);
  return c.status();
}

//===----------------------------------------------------------------------===//
// RetentionOp
//===----------------------------------------------------------------------===//

/// A constant decay must lie in (0, 1]: γ > 1 makes the state grow without
/// bound and γ ≤ 0 is not a decay.
static void checkConstantDecay(SignatureChecker &c, Value decay) {
  DenseElementsAttr values;
  if (!c.ok() || !matchPattern(decay, m_Constant(&values)))
    return;
  for (auto [head, gamma] : llvm::enumerate(values.getValues<APFloat>())) {
    double g = gamma.convertToDouble();
    if (!(g > 0.0 && g <= 1.0)) {
      c.fail() << "operand 'decay' must lie in (0, 1] for every head, found "
               << formatFloat(gamma) << " for head " << head;
      return;
    }
  }
}

LogicalResult RetentionOp::verify() {
  SignatureChecker c(*this);
  c.tensor(operand("q"), getQ().getType(),
           {"batch", "length", "heads", "key_dim"}, kAct);
  c.tensor(operand("k"), getK().getType(),
           {"batch", "length", "heads", "key_dim"}, kAct);
  c.tensor(operand("v"), getV().getType(),
           {"batch", "length", "heads", "value_dim"}, kAct);
  c.tensor(operand("decay"), getDecay().getType(), {"heads"}, kF32);
  checkConstantDecay(c, getDecay());
  if (Value pos = getPosition())
    c.tensor(operand("position"), pos.getType(), {"batch"}, kIndex);
  if (Value s0 = getInitialState())
    c.tensor(operand("initial_state"), s0.getType(),
             {"batch", "heads", "key_dim", "value_dim"}, kF32);
  if (c.ok() && getInitialState() && !getPosition() &&
      getNormalization() == RetentionNormalization::authors)
    return c.fail() << "operand 'position' is required when an initial state "
                       "is given with normalization = authors (the scale "
                       "depends on each sequence's absolute position)";

  c.tensor(result("o"), getO().getType(),
           {"batch", "length", "heads", "value_dim"}, kAct);
  c.tensor(result("final_state"), getFinalState().getType(),
           {"batch", "heads", "key_dim", "value_dim"}, kF32);
  return c.status();
}

//===----------------------------------------------------------------------===//
// DenseConnectOp
//===----------------------------------------------------------------------===//

/// The operands that must be present or absent together with an attribute.
static LogicalResult verifyDenseConnectStructure(DenseConnectOp op,
                                                 SignatureChecker &c) {
  int gateParts = (op.getGateInput() ? 1 : 0) + (op.getGateFc1() ? 1 : 0) +
                  (op.getGateFc2() ? 1 : 0);
  if (gateParts != 0 && gateParts != 3)
    return c.fail() << "the gate needs 'gate_input', 'gate_fc1' and "
                       "'gate_fc2' together, found "
                    << gateParts << " of them";

  size_t kept = op.getKept().size(), projs = op.getProjWeights().size();
  if (op.getProjection() == Projection::linear && projs != kept)
    return c.fail() << "projection = linear needs one 'proj_weights' per kept "
                       "tensor: expected "
                    << kept << ", found " << projs;
  if (op.getProjection() == Projection::identity && projs != 0)
    return c.fail() << "projection = identity takes no 'proj_weights', found "
                    << projs;

  if (op.getFusion() == Fusion::concat && !op.getFuseWeight())
    return c.fail() << "fusion = concat needs operand 'fuse_weight'";
  if (op.getFusion() == Fusion::add && op.getFuseWeight())
    return c.fail() << "fusion = add takes no operand 'fuse_weight'";

  if (op.getNorm() == Norm::rms && !op.getNormWeight())
    return c.fail() << "norm = rms needs operand 'norm_weight'";
  if (op.getNorm() == Norm::none && op.getNormWeight())
    return c.fail() << "norm = none takes no operand 'norm_weight'";
  if (op.getNorm() == Norm::rms)
    checkPositive(c, "eps", op.getEpsAttr());
  return c.status();
}

LogicalResult DenseConnectOp::verify() {
  SignatureChecker c(*this);
  if (failed(verifyDenseConnectStructure(*this, c)))
    return failure();

  c.tensor(operand("current"), getCurrent().getType(),
           {"batch", "length", "channels"}, kAct);
  bool linear = getProjection() == Projection::linear;
  for (auto [i, kept] : llvm::enumerate(getKept())) {
    // With a linear projection each kept tensor may have its own width.
    std::string width = linear ? ("kept #" + llvm::Twine(i) + " channels").str()
                               : std::string("channels");
    c.tensor(operand(("kept #" + llvm::Twine(i)).str()), kept.getType(),
             {"batch", "length", width}, kAct);
    if (linear)
      c.tensor(operand(("proj_weights #" + llvm::Twine(i)).str()),
               getProjWeights()[i].getType(), {"channels", width}, kParam);
  }
  if (getGateInput()) {
    c.tensor(operand("gate_input"), getGateInput().getType(),
             {"batch", "length", "hidden"}, kAct);
    c.tensor(operand("gate_fc1"), getGateFc1().getType(),
             {"gate_rank", "hidden"}, kParam);
    c.tensor(operand("gate_fc2"), getGateFc2().getType(),
             {"channels", "gate_rank"}, kParam);
  }
  if (Value fuse = getFuseWeight()) {
    if (std::optional<int64_t> channels = c.lookup("channels"))
      c.define("concat_channels", *channels * (1 + getKept().size()),
               "channels x (1 + number of kept tensors)");
    c.tensor(operand("fuse_weight"), fuse.getType(),
             {"channels", "concat_channels"}, kParam);
  }
  if (Value w = getNormWeight())
    c.tensor(operand("norm_weight"), w.getType(), {"channels"}, kParam);
  return c.status();
}

LogicalResult
DenseConnectOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                 Adaptor adaptor,
                                 llvm::SmallVectorImpl<Type> &inferred) {
  inferred.push_back(adaptor.getCurrent().getType());
  return success();
}

//===----------------------------------------------------------------------===//
// CausalConv1dOp
//===----------------------------------------------------------------------===//

LogicalResult CausalConv1dOp::verify() {
  SignatureChecker c(*this);
  c.tensor(operand("x"), getX().getType(), {"batch", "length", "channels"},
           kAct);
  c.tensor(operand("weight"), getWeight().getType(), {"channels", "kernel"},
           kParam);
  if (std::optional<int64_t> kernel = c.lookup("kernel")) {
    if (*kernel < 1)
      return c.fail()
             << "operand 'weight' dim 1 (kernel) must be at least 1, found "
             << *kernel;
    c.define("kernel-1", *kernel - 1, "operand 'weight' dim 1 (kernel) - 1");
  }
  if (Value bias = getBias())
    c.tensor(operand("bias"), bias.getType(), {"channels"}, kParam);
  if (Value window = getWindow())
    c.tensor(operand("window"), window.getType(),
             {"batch", "channels", "kernel-1"}, kAct);
  c.tensor(result("y"), getY().getType(), {"batch", "length", "channels"},
           kAct);
  c.tensor(result("final_window"), getFinalWindow().getType(),
           {"batch", "channels", "kernel-1"}, kAct);
  return c.status();
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  SignatureChecker c(*this);
  auto inputType = getInput().getType();
  if (inputType.getRank() < 1)
    return c.fail() << "operand 'input' must have rank at least 1, found "
                    << inputType;
  // Only the last axis is named: the norm runs over it.
  llvm::SmallVector<std::string> names;
  for (int64_t axis = 0; axis + 1 < inputType.getRank(); ++axis)
    names.push_back(("axis " + llvm::Twine(axis)).str());
  names.push_back("channels");
  llvm::SmallVector<llvm::StringRef> dims(names.begin(), names.end());
  c.tensor(operand("input"), inputType, dims, kAct);
  c.tensor(operand("weight"), getWeight().getType(), {"channels"}, kParam);
  checkPositive(c, "eps", getEpsAttr());
  return c.status();
}

//===----------------------------------------------------------------------===//
// RotaryOp
//===----------------------------------------------------------------------===//

LogicalResult RotaryOp::verify() {
  SignatureChecker c(*this);
  c.tensor(operand("x"), getX().getType(),
           {"batch", "length", "heads", "head_dim"}, kAct);
  if (Value pos = getPosition())
    c.tensor(operand("position"), pos.getType(), {"batch"}, kIndex);
  if (std::optional<int64_t> d = c.lookup("head_dim"))
    if (c.ok() && (*d % 2 != 0 || *d < 4))
      return c.fail() << "operand 'x' dim 3 (head_dim) must be even and at "
                         "least 4 (the angles divide by head_dim/2 - 1), "
                         "found "
                      << *d;
  checkPositive(c, "base", getBaseAttr());
  return c.status();
}

LogicalResult
RotaryOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                           Adaptor adaptor,
                           llvm::SmallVectorImpl<Type> &inferred) {
  inferred.push_back(adaptor.getX().getType());
  return success();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

/// Constant token ids are checked against the vocabulary here; others at run
/// time.
static void checkConstantTokens(SignatureChecker &c, Value tokens) {
  std::optional<int64_t> vocab = c.lookup("vocab");
  DenseIntElementsAttr ids;
  if (!c.ok() || !vocab || !matchPattern(tokens, m_Constant(&ids)))
    return;
  for (auto [index, id] : llvm::enumerate(ids.getValues<APInt>())) {
    int64_t value = id.getSExtValue();
    if (value < 0 || value >= *vocab) {
      c.fail() << "operand 'tokens' holds token id " << value
               << " at flat index " << index << ", outside the vocabulary [0, "
               << *vocab << ")";
      return;
    }
  }
}

LogicalResult EmbeddingOp::verify() {
  SignatureChecker c(*this);
  c.tensor(operand("table"), getTable().getType(), {"vocab", "hidden"}, kAct);
  c.tensor(operand("tokens"), getTokens().getType(), {"batch", "length"},
           kIndex);
  checkConstantTokens(c, getTokens());
  c.tensor(result("result"), getResult().getType(),
           {"batch", "length", "hidden"}, kAct);
  return c.status();
}

//===----------------------------------------------------------------------===//
// ScanOp
//===----------------------------------------------------------------------===//

/// The fused dense connection of a scan: all of select, select_weight,
/// norm_weight and dense_eps, or none; the weights cover the H·V channels.
static void verifyDenseInput(ScanOp op, SignatureChecker &c) {
  bool any = op.getDenseSelect() || op.getDenseSelectWeight() ||
             op.getDenseNormWeight() || op.getDenseEps() ||
             !op.getDenseKept().empty();
  if (!any || !c.ok())
    return;
  if (!op.getDenseSelect() || !op.getDenseSelectWeight() ||
      !op.getDenseNormWeight() || !op.getDenseEps()) {
    c.fail() << "a fused dense connection needs 'dense_select', "
                "'dense_select_weight', 'dense_norm_weight' and 'dense_eps' "
                "together";
    return;
  }
  std::optional<int64_t> heads = c.lookup("heads"),
                         valueDim = c.lookup("value_dim");
  if (heads && valueDim)
    c.define("channels", *heads * *valueDim, "heads x value_dim");
  c.tensor(operand("dense_select"), op.getDenseSelect().getType(),
           {"batch", "length", "select_rank"}, kParam);
  c.tensor(operand("dense_select_weight"), op.getDenseSelectWeight().getType(),
           {"channels", "select_rank"}, kParam);
  c.tensor(operand("dense_norm_weight"), op.getDenseNormWeight().getType(),
           {"channels"}, kParam);
  for (auto [i, kept] : llvm::enumerate(op.getDenseKept()))
    c.tensor(operand(("dense_kept #" + llvm::Twine(i)).str()), kept.getType(),
             {"batch", "length", "heads", "value_dim"}, kAct);
  checkPositive(c, "dense_eps", op.getDenseEpsAttr());
}

LogicalResult ScanOp::verify() {
  SignatureChecker c(*this);
  c.tensor(operand("v"), getV().getType(),
           {"batch", "length", "heads", "value_dim"}, kAct);
  c.tensor(operand("q"), getQ().getType(),
           {"batch", "length", "q_groups", "key_dim"}, kAct);
  checkGroupsDivide(c, "q", "q_groups", "heads", "operand 'v'");
  c.tensor(operand("k"), getK().getType(),
           {"batch", "length", "k_groups", "key_dim"}, kAct);
  checkGroupsDivide(c, "k", "k_groups", "heads", "operand 'v'");
  c.tensor(operand("dt"), getDt().getType(), {"batch", "length", "heads"},
           kParam);
  int64_t aRank = getA().getType().getRank();
  if (c.ok() && aRank != 1 && aRank != 2)
    return c.fail() << "operand 'A' must have rank 2 [heads, key_dim] (decay "
                       "per state element) or rank 1 [heads] (decay per "
                       "head), found rank "
                    << aRank << " (" << getA().getType() << ")";
  llvm::SmallVector<llvm::StringRef> aDims{"heads"};
  if (aRank == 2)
    aDims.push_back("key_dim");
  c.tensor(operand("A"), getA().getType(), aDims, kF32);
  if (Value bias = getDtBias())
    c.tensor(operand("dt_bias"), bias.getType(), {"heads"}, kParam);
  if (Value scale = getInputScale())
    c.tensor(operand("input_scale"), scale.getType(),
             {"batch", "length", "heads"}, kF32);
  if (Value skip = getSkip())
    c.tensor(operand("skip"), skip.getType(), {"heads"}, kParam);
  if (Value gate = getGate())
    c.tensor(operand("gate"), gate.getType(),
             {"batch", "length", "heads", "value_dim"}, kAct);
  if (Value s0 = getInitialState())
    c.tensor(operand("initial_state"), s0.getType(),
             {"batch", "heads", "key_dim", "value_dim"}, kF32);
  verifyDenseInput(*this, c);
  c.tensor(result("y"), getY().getType(),
           {"batch", "length", "heads", "value_dim"}, kAct);
  c.tensor(result("final_state"), getFinalState().getType(),
           {"batch", "heads", "key_dim", "value_dim"}, kF32);
  return c.status();
}
