//===- TimeChunkedLoops.cpp - the scan chunked over time ------------------===//
//
// The parallel schedule chunked over time with carries: chunk scans from
// zero states, carry propagation between chunks, corrected readouts.
//
//===----------------------------------------------------------------------===//

#include "ScanLowering.h"

#include "../TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::densessm;

void ScanLowering::emitTimeChunked(OpBuilder &b, Location loc, Value batch,
                                   Value heads, int64_t chunk) {
  Type f32Type = b.getF32Type();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value chunkLength = arith::ConstantIndexOp::create(b, loc, chunk);
  Value chunks = arith::DivUIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, length,
                            arith::ConstantIndexOp::create(b, loc, chunk - 1)),
      chunkLength);
  auto alloc = [&](ArrayRef<Value> sizes) -> Value {
    SmallVector<int64_t> shape(sizes.size(), ShapedType::kDynamic);
    return memref::AllocOp::create(b, loc, MemRefType::get(shape, f32Type),
                                   sizes);
  };
  Value readouts = alloc({batch, length, heads, valueDim});
  Value local = alloc({batch, heads, chunks, keyDim, valueDim});
  Value carries = alloc({batch, heads, chunks, keyDim, valueDim});
  Value decays = alloc({batch, heads, chunks, keyDim});
  auto chunkBounds = [&](OpBuilder &cb, Location cl, Value c) {
    Value start = arith::MulIOp::create(cb, cl, c, chunkLength);
    Value stop = arith::MinUIOp::create(
        cb, cl, arith::AddIOp::create(cb, cl, start, chunkLength), length);
    return std::make_pair(start, stop);
  };
  auto forTokens =
      [&](OpBuilder &ob, Location ol, Value start, Value stop,
          llvm::function_ref<void(OpBuilder &, Location, Value)> body) {
        scf::ForOp::create(
            ob, ol, start, stop, one, ValueRange{},
            [&](OpBuilder &nb, Location nl, Value t, ValueRange) {
              body(nb, nl, t);
              scf::YieldOp::create(nb, nl);
            });
      };
  auto decayAt = [&](OpBuilder &db, Location dl, Value delta, Value h,
                     Value i) {
    return elementwiseDecay ? decay(db, dl, delta, h, i)
                            : decay(db, dl, delta, h, Value());
  };

  // A parallel loop over (batch, head, chunk); the body gets the chunk's
  // indices, the groups of q and k its head reads, and its token range.
  struct Chunk {
    Value bi, h, c, gq, gk, start, stop;
  };
  auto parallelOverChunks =
      [&](llvm::function_ref<void(OpBuilder &, Location, const Chunk &)> body) {
        scf::ParallelOp::create(
            b, loc, ValueRange{zero, zero, zero},
            ValueRange{batch, heads, chunks}, ValueRange{one, one, one},
            [&](OpBuilder &pb, Location pl, ValueRange bhc) {
              Chunk chunk{bhc[0], bhc[1], bhc[2], {}, {}, {}, {}};
              std::tie(chunk.gq, chunk.gk) = groups(pb, pl, chunk.h);
              std::tie(chunk.start, chunk.stop) = chunkBounds(pb, pl, chunk.c);
              body(pb, pl, chunk);
            });
      };

  // 1. Each chunk from a zero state.
  parallelOverChunks([&](OpBuilder &pb, Location pl, const Chunk &ch) {
    Value bi = ch.bi, h = ch.h, c = ch.c, gq = ch.gq, gk = ch.gk,
          start = ch.start, stop = ch.stop;
    forRange(pb, pl, keyDim, [&](OpBuilder &ib, Location il, Value i) {
      memref::StoreOp::create(ib, il, f32(ib, il, 1.0f), decays,
                              ValueRange{bi, h, c, i});
      forRange(ib, il, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
        memref::StoreOp::create(jb, jl, f32(jb, jl, 0.0f), local,
                                ValueRange{bi, h, c, i, j});
      });
    });
    forTokens(pb, pl, start, stop, [&](OpBuilder &tb, Location tl, Value t) {
      Value delta, beta;
      std::tie(delta, beta) = tokenScalars(tb, tl, bi, t, h);
      forRange(tb, tl, keyDim, [&](OpBuilder &ib, Location il, Value i) {
        Value a = decayAt(ib, il, delta, h, i);
        SmallVector<Value> at{bi, h, c, i};
        memref::StoreOp::create(
            ib, il,
            arith::MulFOp::create(
                ib, il, memref::LoadOp::create(ib, il, decays, at), a),
            decays, at);
        Value key = loadF32(ib, il, k, {bi, t, gk, i});
        if (beta)
          key = arith::MulFOp::create(ib, il, key, beta);
        forRange(ib, il, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
          SmallVector<Value> sat{bi, h, c, i, j};
          Value input = arith::MulFOp::create(
              jb, jl, key, inputValue(jb, jl, {bi, t, h, j}));
          memref::StoreOp::create(
              jb, jl,
              math::FmaOp::create(
                  jb, jl, a, memref::LoadOp::create(jb, jl, local, sat), input),
              local, sat);
        });
      });
      forRange(tb, tl, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
        auto sum = scf::ForOp::create(
            jb, jl, zero, keyDim, one, ValueRange{f32(jb, jl, 0.0f)},
            [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
              Value sv = memref::LoadOp::create(ib, il, local,
                                                ValueRange{bi, h, c, i, j});
              scf::YieldOp::create(
                  ib, il,
                  ValueRange{math::FmaOp::create(
                      ib, il, loadF32(ib, il, q, {bi, t, gq, i}), sv, acc[0])});
            });
        memref::StoreOp::create(jb, jl, sum.getResult(0), readouts,
                                ValueRange{bi, t, h, j});
      });
    });
  });

  // 2. The carries, chunk after chunk.
  scf::ParallelOp::create(
      b, loc, ValueRange{zero, zero}, ValueRange{batch, heads},
      ValueRange{one, one}, [&](OpBuilder &pb, Location pl, ValueRange bh) {
        Value bi = bh[0], h = bh[1];
        forRange(pb, pl, keyDim, [&](OpBuilder &ib, Location il, Value i) {
          forRange(ib, il, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
            Value s0 = initial ? memref::LoadOp::create(jb, jl, initial,
                                                        ValueRange{bi, h, i, j})
                                     .getResult()
                               : f32(jb, jl, 0.0f);
            auto carry = scf::ForOp::create(
                jb, jl, zero, chunks, one, ValueRange{s0},
                [&](OpBuilder &cb, Location cl, Value c, ValueRange in) {
                  memref::StoreOp::create(cb, cl, in[0], carries,
                                          ValueRange{bi, h, c, i, j});
                  Value out = math::FmaOp::create(
                      cb, cl,
                      memref::LoadOp::create(cb, cl, decays,
                                             ValueRange{bi, h, c, i}),
                      in[0],
                      memref::LoadOp::create(cb, cl, local,
                                             ValueRange{bi, h, c, i, j}));
                  scf::YieldOp::create(cb, cl, ValueRange{out});
                });
            memref::StoreOp::create(jb, jl, carry.getResult(0), state,
                                    ValueRange{bi, h, i, j});
          });
        });
      });

  // 3. Readouts corrected by the carry entering their chunk.
  Value running = alloc({batch, heads, chunks, keyDim});
  parallelOverChunks([&](OpBuilder &pb, Location pl, const Chunk &ch) {
    Value bi = ch.bi, h = ch.h, c = ch.c, gq = ch.gq, start = ch.start,
          stop = ch.stop;
    forRange(pb, pl, keyDim, [&](OpBuilder &ib, Location il, Value i) {
      memref::StoreOp::create(ib, il, f32(ib, il, 1.0f), running,
                              ValueRange{bi, h, c, i});
    });
    forTokens(pb, pl, start, stop, [&](OpBuilder &tb, Location tl, Value t) {
      Value delta, beta;
      std::tie(delta, beta) = tokenScalars(tb, tl, bi, t, h);
      forRange(tb, tl, keyDim, [&](OpBuilder &ib, Location il, Value i) {
        SmallVector<Value> at{bi, h, c, i};
        memref::StoreOp::create(
            ib, il,
            arith::MulFOp::create(ib, il,
                                  memref::LoadOp::create(ib, il, running, at),
                                  decayAt(ib, il, delta, h, i)),
            running, at);
      });
      forRange(tb, tl, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
        SmallVector<Value> at{bi, t, h, j};
        auto sum = scf::ForOp::create(
            jb, jl, zero, keyDim, one,
            ValueRange{memref::LoadOp::create(jb, jl, readouts, at)},
            [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
              Value carried = arith::MulFOp::create(
                  ib, il,
                  memref::LoadOp::create(ib, il, running,
                                         ValueRange{bi, h, c, i}),
                  memref::LoadOp::create(ib, il, carries,
                                         ValueRange{bi, h, c, i, j}));
              scf::YieldOp::create(
                  ib, il,
                  ValueRange{math::FmaOp::create(
                      ib, il, loadF32(ib, il, q, {bi, t, gq, i}), carried,
                      acc[0])});
            });
        storeY(jb, jl, epilogue(jb, jl, sum.getResult(0), at), at);
      });
    });
  });
}
