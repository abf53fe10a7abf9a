//===- ProjectionWeightPrefetch.cpp - a GEMV block's weights into L2 ------===//

#include "ProjectionWeightPrefetch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_kernel;

namespace {
/// The bytes prefetch.L2 brings in: one L2 line.
constexpr int64_t kLineBytes = 128;
} // namespace

bool densessm::isCachePrefetch(Operation *op) {
  if (isa<NVVM::PrefetchOp>(op))
    return true;
  auto assembly = dyn_cast<LLVM::InlineAsmOp>(op);
  return assembly && assembly.getNumResults() == 0 &&
         assembly.getAsmString().starts_with("prefetch.");
}

void densessm::prefetchBlockWeights(OpBuilder &b, Location loc,
                                    const KernelContext &kernel,
                                    ArrayRef<PrefetchedWeights> members,
                                    int64_t outputsPerBlock,
                                    int64_t blockSize) {
  auto type = cast<MemRefType>(members.front().w.getType());
  int64_t rowBytes = type.getDimSize(1) * type.getElementTypeBitWidth() / 8;
  auto address = [&](Value w) -> Value {
    return memref::ExtractAlignedPointerAsIndexOp::create(b, loc, w);
  };
  // The block's member: its weights, its block index among its blocks and
  // its output count (the sibling projections' blocks follow each other).
  Value base = address(members.front().w);
  Value block = kernel.blockX;
  Value outputs = members.front().outputs;
  for (const PrefetchedWeights &member : members.drop_front()) {
    Value mine = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                       kernel.blockX, member.firstBlock);
    base = arith::SelectOp::create(b, loc, mine, address(member.w), base);
    block = arith::SelectOp::create(
        b, loc, mine,
        arith::SubIOp::create(b, loc, kernel.blockX, member.firstBlock),
        block);
    outputs = arith::SelectOp::create(b, loc, mine, member.outputs, outputs);
  }
  Value firstRow =
      arith::MulIOp::create(b, loc, block, index(b, loc, outputsPerBlock));
  Value rows = arith::MinUIOp::create(
      b, loc, index(b, loc, outputsPerBlock),
      arith::SubIOp::create(b, loc, outputs, firstRow));
  Value start = arith::AddIOp::create(
      b, loc, base,
      arith::MulIOp::create(b, loc, firstRow, index(b, loc, rowBytes)));
  Value lastByte = arith::SubIOp::create(
      b, loc, arith::MulIOp::create(b, loc, rows, index(b, loc, rowBytes)),
      index(b, loc, 1));
  int64_t lines = (outputsPerBlock * rowBytes + kLineBytes - 1) / kLineBytes;
  int64_t steps = std::min(kMaxPrefetchesPerThread,
                           (lines + blockSize - 1) / blockSize);
  auto pointerType = LLVM::LLVMPointerType::get(b.getContext());
  for (int64_t step = 0; step < steps; ++step) {
    // Past the rows' end: the last byte again (no branch, a line already
    // asked for).
    Value line = arith::AddIOp::create(b, loc, kernel.thread,
                                       index(b, loc, step * blockSize));
    Value offset = arith::MinUIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, line, index(b, loc, kLineBytes)),
        lastByte);
    Value byte = arith::IndexCastUIOp::create(
        b, loc, b.getI64Type(), arith::AddIOp::create(b, loc, start, offset));
    Value pointer = LLVM::IntToPtrOp::create(b, loc, pointerType, byte);
    // Inline PTX: LLVM 22 selects its prefetch intrinsics for sm_90 only,
    // where PTX has the instruction from sm_20 on.
    LLVM::InlineAsmOp::create(b, loc, TypeRange{}, ValueRange{pointer},
                              kPrefetchL2, "l", /*has_side_effects=*/true,
                              /*is_align_stack=*/false,
                              LLVM::TailCallKind::None,
                              /*asm_dialect=*/LLVM::AsmDialectAttr(),
                              /*operand_attrs=*/ArrayAttr());
  }
}
