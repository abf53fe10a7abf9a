//===- DenseSSMProgrammaticDependentLaunch.cpp - overlapping launches -----===//
//
// Programmatic dependent launch (sm_90 and newer): a kernel launched with
// programmatic stream serialization may be scheduled before the kernel
// before it ends, and waits (griddepcontrol.wait) before it reads what that
// kernel wrote. Two passes, one on each side of gpu-module-to-binary:
//
//   --densessm-wait-for-preceding-kernels  the kernels of sm_90+ targets
//       wait, then let their successor launch; a module that also has
//       older targets (which lack the instructions) is split by chip;
//   --densessm-merge-kernel-binaries  the split module's objects back into
//       one gpu.binary, the one the launches name.
//
// The newer targets carry the flag kProgrammaticLaunchFlag into their
// objects: densessm-compile marks those objects in the module file, and
// the runtime launches their kernels with the attribute. The first pass
// records each copy it makes, with its original and the original's chips
// in order, in the attribute kSplitModulesAttr of the top module: the
// second merges those (and no module that merely has such a name) and
// keeps the objects in that order (the first is the one the host code
// embeds).
//
//===----------------------------------------------------------------------===//

#include "ProjectionWeightPrefetch.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"


namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMWAITFORPRECEDINGKERNELS
#define GEN_PASS_DEF_DENSESSMMERGEKERNELBINARIES
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;

namespace {

/// The suffix of the copy of a kernel module that takes the sm_90+ targets.
constexpr llvm::StringLiteral kWaitingModuleSuffix = "__waits";
/// The top module's record of the copies (verified by the dialect):
/// {copy = {module = "original", chips = ["sm_80", "sm_90"]}}, the chips of
/// the original's targets in their order.
constexpr llvm::StringLiteral kSplitModulesAttr =
    densessm::DenseSSMDialect::getSplitKernelModulesAttrName();
/// The first chip with griddepcontrol.
constexpr int kFirstChipWithWaits = 90;

/// The chip of an NVVM target ("" for others).
StringRef chipOf(Attribute target) {
  auto nvvm = dyn_cast<NVVM::NVVMTargetAttr>(target);
  return nvvm ? nvvm.getChip() : StringRef();
}

/// The number of an NVVM target's chip ("sm_90a" -> 90); -1 for other
/// targets.
int chipNumber(Attribute target) {
  StringRef chip = chipOf(target);
  if (!chip.consume_front("sm_"))
    return -1;
  int number = 0;
  StringRef digits =
      chip.take_while([](char c) { return c >= '0' && c <= '9'; });
  if (digits.getAsInteger(10, number))
    return -1;
  return number;
}

/// `target` with the flag that marks its objects' kernels as waiting.
Attribute withProgrammaticLaunchFlag(NVVM::NVVMTargetAttr target) {
  MLIRContext *context = target.getContext();
  NamedAttrList flags(target.getFlags());
  flags.set(densessm::kProgrammaticLaunchFlag, UnitAttr::get(context));
  return NVVM::NVVMTargetAttr::get(
      context, target.getO(), target.getTriple(), target.getChip(),
      target.getFeatures(), flags.getDictionary(context), target.getLink(),
      target.getVerifyTarget());
}

/// In every kernel of `module`, before the first op of its entry block
/// that may touch memory (other than a prefetch into a cache): wait for
/// the kernels before, then let the one after launch.
void insertWaits(gpu::GPUModuleOp module) {
  module.walk([](gpu::GPUFuncOp kernel) {
    if (!kernel.isKernel())
      return;
    Block &entry = kernel.getBody().front();
    Operation *first = &entry.front();
    while (first != entry.getTerminator() &&
           (isMemoryEffectFree(first) || densessm::isCachePrefetch(first)))
      first = first->getNextNode();
    OpBuilder builder(first);
    Location loc = kernel.getLoc();
    NVVM::GriddepcontrolOp::create(builder, loc,
                                   NVVM::GridDepActionKind::wait);
    NVVM::GriddepcontrolOp::create(builder, loc,
                                   NVVM::GridDepActionKind::launch_dependents);
  });
}

struct WaitForPrecedingKernelsPass
    : densessm::impl::DenseSSMWaitForPrecedingKernelsBase<
          WaitForPrecedingKernelsPass> {
  void runOnOperation() override {
    ModuleOp top = getOperation();
    MLIRContext *context = top.getContext();
    SymbolTable symbols(top);
    NamedAttrList copies(top->getAttrOfType<DictionaryAttr>(kSplitModulesAttr));
    for (auto module : llvm::to_vector(top.getOps<gpu::GPUModuleOp>())) {
      ArrayAttr targets = module.getTargetsAttr();
      if (!targets)
        continue;
      SmallVector<Attribute> older, newer;
      for (Attribute target : targets) {
        if (chipNumber(target) >= kFirstChipWithWaits)
          newer.push_back(withProgrammaticLaunchFlag(
              cast<NVVM::NVVMTargetAttr>(target)));
        else
          older.push_back(target);
      }
      if (newer.empty())
        continue;
      gpu::GPUModuleOp waiting = module;
      if (!older.empty()) {
        std::string name = (module.getName() + kWaitingModuleSuffix).str();
        if (symbols.lookup(name)) {
          module.emitError() << "--densessm-wait-for-preceding-kernels: "
                             << "the name of the module's copy for sm_90+, '"
                             << name << "', is taken";
          return signalPassFailure();
        }
        OpBuilder builder(context);
        builder.setInsertionPointAfter(module);
        waiting = cast<gpu::GPUModuleOp>(builder.clone(*module));
        waiting.setName(name);
        symbols.insert(waiting);
        SmallVector<Attribute> chips;
        for (Attribute target : targets)
          chips.push_back(StringAttr::get(context, chipOf(target)));
        copies.set(name, builder.getDictionaryAttr(
                             {builder.getNamedAttr("module",
                                                   module.getNameAttr()),
                              builder.getNamedAttr(
                                  "chips", builder.getArrayAttr(chips))}));
        module.setTargetsAttr(ArrayAttr::get(context, older));
      }
      waiting.setTargetsAttr(ArrayAttr::get(context, newer));
      insertWaits(waiting);
    }
    if (!copies.empty())
      top->setAttr(kSplitModulesAttr, copies.getDictionary(context));
  }
};

struct MergeKernelBinariesPass
    : densessm::impl::DenseSSMMergeKernelBinariesBase<MergeKernelBinariesPass> {
  void runOnOperation() override {
    ModuleOp top = getOperation();
    auto copies = top->getAttrOfType<DictionaryAttr>(kSplitModulesAttr);
    if (!copies)
      return;
    SymbolTable symbols(top);
    auto fail = [&](const Twine &message) {
      top.emitError() << "--densessm-merge-kernel-binaries: " << message;
      signalPassFailure();
    };
    for (NamedAttribute copy : copies) {
      auto record = cast<DictionaryAttr>(copy.getValue());
      auto original = record.getAs<StringAttr>("module");
      auto chips = record.getAs<ArrayAttr>("chips");
      auto waiting = symbols.lookup<gpu::BinaryOp>(copy.getName());
      auto binary = symbols.lookup<gpu::BinaryOp>(original);
      if (!waiting || !binary)
        return fail("no gpu.binary @" +
                    (waiting ? original : copy.getName()).getValue() +
                    " (run after gpu-module-to-binary)");
      // The objects in the order of the original's targets.
      auto position = [&](Attribute object) {
        StringRef chip = chipOf(cast<gpu::ObjectAttr>(object).getTarget());
        const auto *found = llvm::find_if(chips, [&](Attribute c) {
          return cast<StringAttr>(c).getValue() == chip;
        });
        return std::distance(chips.begin(), found);
      };
      SmallVector<Attribute> objects(binary.getObjects().getValue());
      llvm::append_range(objects, waiting.getObjects().getValue());
      llvm::stable_sort(objects, [&](Attribute a, Attribute b) {
        return position(a) < position(b);
      });
      binary.setObjectsAttr(ArrayAttr::get(top.getContext(), objects));
      symbols.erase(waiting);
    }
    top->removeAttr(kSplitModulesAttr);
  }
};

} // namespace
