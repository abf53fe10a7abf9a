//===- KeyExchange.cpp - the block-wide step of a parallel scan -----------===//
//
// Both parallel scans (ChunkedScanKernel.cpp, ColumnScanKernel.cpp) meet, at
// every chunk and key index i, in the same exchange: each warp's aggregate
// goes to shared memory, and after a barrier each thread takes the chunk's
// carry — the state of key i at the end of the previous chunk — and applies
// the aggregates of the warps before its own. The protocol is subtle enough
// to live once, here, with the argument why one barrier per key suffices:
//
//   * the two aggregate arrays hold two halves, and key number c·K + i uses
//     half (c·K + i) mod 2. A half is written again two keys later, after
//     the next key's barrier, which every reader of it has passed;
//   * the carry writer (the thread whose last token ends the chunk) writes
//     key i's new carry only after the barrier of key i + 1 — when every
//     thread has read the old one — and the last key's after a barrier that
//     closes the chunk (closeChunk). The next reads of a carry come after
//     later barriers.
//
//===----------------------------------------------------------------------===//

#include "ScanGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_scan;

void gpu_scan::storeIf(OpBuilder &b, Location loc, Value condition,
                       Value value, Value buffer, ValueRange indices) {
  auto guarded = scf::IfOp::create(b, loc, condition, /*withElseRegion=*/false);
  OpBuilder gb = guarded.getThenBodyBuilder();
  memref::StoreOp::create(gb, loc, value, buffer, indices);
}

void KeyExchange::storeCarry(OpBuilder &b, Location loc, Value condition,
                             Value value, Value i) const {
  auto [buffer, at] = carryAt(b, loc, i);
  storeIf(b, loc, condition, value, buffer, at);
}

Value KeyExchange::loadCarry(OpBuilder &b, Location loc, Value i) const {
  auto [buffer, at] = carryAt(b, loc, i);
  return memref::LoadOp::create(b, loc, buffer, at);
}

Value KeyExchange::enter(OpBuilder &b, Location loc, Value keysBefore, Value i,
                         AffinePair aggregate, Value pending) const {
  Value parity = arith::RemUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, keysBefore, i), index(b, loc, 2));
  Value half = arith::MulIOp::create(b, loc, parity, index(b, loc, halfSize));
  Value mine = arith::AddIOp::create(b, loc, half, slot);
  auto publish = [&](OpBuilder &pb) {
    memref::StoreOp::create(pb, loc, aggregate.a, arrayA, ValueRange{mine});
    memref::StoreOp::create(pb, loc, aggregate.b, arrayB, ValueRange{mine});
  };
  if (publishes) {
    auto guarded =
        scf::IfOp::create(b, loc, publishes, /*withElseRegion=*/false);
    OpBuilder pb = guarded.getThenBodyBuilder();
    publish(pb);
  } else {
    publish(b);
  }
  gpu::BarrierOp::create(b, loc);
  // Every thread has read the previous key's carry: it may change now.
  Value one = index(b, loc, 1);
  Value notFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, i,
                                         index(b, loc, 0));
  storeCarry(b, loc, arith::AndIOp::create(b, loc, writesCarry, notFirst),
             pending, arith::SubIOp::create(b, loc, i, one));
  return applyWarpAggregates(
      b, loc, arrayA, arrayB, warp, loadCarry(b, loc, i),
      [&](OpBuilder &wb, Location wl, Value w) -> Value {
        return arith::AddIOp::create(wb, wl, half, slotOfWarp(wb, wl, w));
      });
}

void KeyExchange::closeChunk(OpBuilder &b, Location loc, Value keyDim,
                             Value pending) const {
  gpu::BarrierOp::create(b, loc);
  Value zero = index(b, loc, 0), one = index(b, loc, 1);
  Value anyKey =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, keyDim, zero);
  storeCarry(b, loc, arith::AndIOp::create(b, loc, writesCarry, anyKey),
             pending, arith::SubIOp::create(b, loc, keyDim, one));
}
