//===- ChunkTokens.cpp - a parallel-scan thread's tokens of a chunk -------===//
//
// Both parallel scans (ChunkedScanKernel.cpp: a block's threads along time;
// ColumnScanKernel.cpp: lanes along columns, warps along time) give each
// thread a few consecutive tokens of one state column per chunk, and differ
// only in how the threads' aggregates meet. What a thread does with its own
// tokens is here, once: read their per-token scalars before the key loop,
// compose their pairs serially for each key index, turn the prefixes into
// readouts once the state entering the first token is known, and store y;
// and the two values both read per column and key, the initial state and
// the decay rate; and the carry loop around them, chunk after chunk and key
// after key, with the kernel's block-wide step passed in.
//
//===----------------------------------------------------------------------===//

#include "ScanGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_scan;

Value ScanKernels::initialState(OpBuilder &b, Location loc, Value bi, Value h,
                               Value i, Value j) const {
  if (!scan.initial)
    return ScanLowering::f32(b, loc, 0.0f);
  return memref::LoadOp::create(b, loc, scan.initial, ValueRange{bi, h, i, j});
}

Value ScanKernels::decayRate(OpBuilder &b, Location loc, Value h,
                             Value i) const {
  if (!scan.elementwiseDecay)
    return {};
  return memref::LoadOp::create(b, loc, scan.A, ValueRange{h, i});
}

SmallVector<ChunkToken> ScanKernels::chunkTokens(OpBuilder &b, Location loc,
                                                 Value bi, Value first,
                                                 Value h, Value j,
                                                 int64_t count) const {
  const ScanLowering &s = scan;
  Value last = arith::SubIOp::create(b, loc, s.length, index(b, loc, 1));
  SmallVector<ChunkToken> tokens;
  for (int64_t p = 0; p < count; ++p) {
    ChunkToken token;
    Value t = arith::AddIOp::create(b, loc, first, index(b, loc, p));
    token.valid =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, t, s.length);
    token.t = arith::MinUIOp::create(b, loc, t, last);
    Value beta;
    std::tie(token.delta, beta) = s.tokenScalars(b, loc, bi, token.t, h);
    token.value = s.inputValue(b, loc, {bi, token.t, h, j});
    token.input =
        beta ? arith::MulFOp::create(b, loc, beta, token.value).getResult()
             : token.value;
    if (!s.elementwiseDecay)
      token.decay = s.decay(b, loc, token.delta, h, {});
    tokens.push_back(token);
  }
  return tokens;
}

SmallVector<AffinePair>
ScanKernels::tokenPrefixes(OpBuilder &b, Location loc,
                           ArrayRef<ChunkToken> tokens, Value bi, Value gk,
                           Value i, Value aElement) const {
  Value zeroF = ScanLowering::f32(b, loc, 0.0f);
  Value oneF = ScanLowering::f32(b, loc, 1.0f);
  SmallVector<AffinePair> prefix;
  for (const ChunkToken &token : tokens) {
    Value a = token.decay ? token.decay
                          : math::ExpOp::create(
                                b, loc,
                                arith::MulFOp::create(b, loc, token.delta,
                                                      aElement))
                                .getResult();
    Value key = loadF32(b, loc, scan.k, {bi, token.t, gk, i});
    Value update = arith::MulFOp::create(b, loc, token.input, key);
    AffinePair pair{
        arith::SelectOp::create(b, loc, token.valid, a, oneF),
        arith::SelectOp::create(b, loc, token.valid, update, zeroF)};
    prefix.push_back(prefix.empty() ? pair
                                    : compose(b, loc, prefix.back(), pair));
  }
  return prefix;
}

SmallVector<Value> ScanKernels::readouts(OpBuilder &b, Location loc,
                                         ArrayRef<ChunkToken> tokens,
                                         ArrayRef<AffinePair> prefix,
                                         Value entering, ValueRange acc,
                                         Value bi, Value gq, Value i,
                                         Value &lastState) const {
  SmallVector<Value> next;
  for (auto [p, token] : llvm::enumerate(tokens)) {
    Value state = apply(b, loc, prefix[p], entering);
    Value query = loadF32(b, loc, scan.q, {bi, token.t, gq, i});
    next.push_back(math::FmaOp::create(b, loc, query, state, acc[p]));
    lastState = state;
  }
  return next;
}

void ScanKernels::storeTokens(OpBuilder &b, Location loc,
                              ArrayRef<ChunkToken> tokens, ValueRange acc,
                              Value bi, Value h, Value j, Value alsoIf) const {
  for (auto [p, token] : llvm::enumerate(tokens)) {
    Value store = alsoIf ? arith::AndIOp::create(b, loc, token.valid, alsoIf)
                               .getResult()
                         : token.valid;
    auto guarded = scf::IfOp::create(b, loc, store, /*withElseRegion=*/false);
    OpBuilder sb = guarded.getThenBodyBuilder();
    SmallVector<Value> at{bi, token.t, h, j};
    scan.storeY(sb, loc, epilogue(sb, loc, acc[p], token.value, at), at);
  }
}

void ScanKernels::emitCarryLoop(OpBuilder &b, Location loc, Value bi, Value h,
                                Value j, Value offset, int64_t chunkLength,
                                int64_t count, const KeyExchange &exchange,
                                EnterKey enter, Value alsoIf) const {
  const ScanLowering &s = scan;
  Value zero = index(b, loc, 0), one = index(b, loc, 1);
  Value zeroF = ScanLowering::f32(b, loc, 0.0f);
  Value gq, gk;
  std::tie(gq, gk) = s.groups(b, loc, h);
  Value chunks = ceilDiv(b, loc, s.length, index(b, loc, chunkLength));
  scf::ForOp::create(
      b, loc, zero, chunks, one, ValueRange{},
      [&](OpBuilder &cb, Location cl, Value c, ValueRange) {
        Value first = arith::AddIOp::create(
            cb, cl, arith::MulIOp::create(cb, cl, c, index(cb, cl, chunkLength)),
            offset);
        SmallVector<ChunkToken> tokens =
            chunkTokens(cb, cl, bi, first, h, j, count);
        Value keysBefore = arith::MulIOp::create(cb, cl, c, s.keyDim);

        // The key loop: one scan per state element (i, j). It carries the
        // readouts, one per token, and the state the carry writer ended the
        // previous key with, written one key late.
        SmallVector<Value> initial(count + 1, zeroF);
        auto keyLoop = scf::ForOp::create(
            cb, cl, zero, s.keyDim, one, initial,
            [&](OpBuilder &ib, Location il, Value i, ValueRange carried) {
              // Serially over the thread's tokens: prefix[p] composes pairs
              // 0..p.
              SmallVector<AffinePair> prefix = tokenPrefixes(
                  ib, il, tokens, bi, gk, i, decayRate(ib, il, h, i));
              Value entering = enter(ib, il, keysBefore, i, prefix.back(),
                                     carried.back());
              Value lastState;
              SmallVector<Value> next =
                  readouts(ib, il, tokens, prefix, entering,
                           carried.take_front(count), bi, gq, i, lastState);
              next.push_back(lastState);
              scf::YieldOp::create(ib, il, next);
            });
        exchange.closeChunk(cb, cl, s.keyDim, keyLoop.getResults().back());
        storeTokens(cb, cl, tokens, keyLoop.getResults().take_front(count), bi,
                    h, j, alsoIf);
        scf::YieldOp::create(cb, cl);
      });
}
