//===- DenseSSMLowerScanToLoops.cpp - --densessm-lower-scan-to-loops ------===//
//
// Lowers the kernel-level densessm.scan to loops on buffers: a parallel loop
// over the independent (batch, head) pairs, a sequential loop over time, and
// inner loops over the state's key and value indices. The state of one
// (batch, head) lives in its slice of the final-state buffer throughout, so
// the recurrence reads and writes it in place; accumulation is f32.
//
// The op's tensor operands are read through bufferization.to_buffer and its
// results are new buffers wrapped by bufferization.to_tensor, so that
// one-shot bufferization composes with the rest of the function.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMLOWERSCANTOLOOPS
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

/// A read-only buffer view of a tensor operand, with a strided layout that
/// is dynamic but for a unit innermost stride (and the axis before a
/// trailing unit axis): compatible with the buffers bufferization assigns
/// (slices along the last axis included), and still contiguous along the
/// axis the vector loads read.
Value readBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  strides.back() = 1;
  // A trailing unit axis ([B, L, H, 1] values, [B, H, K, 1] states) comes
  // from expanding a tensor that is contiguous along the axis before it.
  if (type.getRank() >= 2 && type.getShape().back() == 1)
    strides[type.getRank() - 2] = 1;
  auto layout =
      StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, strides);
  auto memrefType =
      MemRefType::get(type.getShape(), type.getElementType(), layout);
  return bufferization::ToBufferOp::create(b, loc, memrefType, tensor,
                                           /*read_only=*/true);
}

/// A new buffer shaped like the tensor type `type`, with the dynamic sizes
/// taken from `sizes` (one index value per dimension).
Value allocBuffer(OpBuilder &b, Location loc, RankedTensorType type,
                  ArrayRef<Value> sizes) {
  SmallVector<Value> dynamic;
  for (auto [dim, size] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(size))
      dynamic.push_back(sizes[dim]);
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  return memref::AllocOp::create(b, loc, memrefType, dynamic);
}

Value loadF32(OpBuilder &b, Location loc, Value buffer, ValueRange indices) {
  Value value = memref::LoadOp::create(b, loc, buffer, indices);
  if (value.getType().isF32())
    return value;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), value);
}

/// A sequential loop [0, upper) whose body receives the induction variable.
void forRange(OpBuilder &b, Location loc, Value upper,
              llvm::function_ref<void(OpBuilder &, Location, Value)> body) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  scf::ForOp::create(b, loc, zero, upper, one, ValueRange{},
                     [&](OpBuilder &nb, Location nl, Value iv, ValueRange) {
                       body(nb, nl, iv);
                       scf::YieldOp::create(nb, nl);
                     });
}

/// [B, L, H] views of the [B, L, H, 1] value, output and gate buffers.
struct ChannelViews {
  Value v, y, gate;
};

/// The buffers and sizes of one scan, and the emitters of its loop nests.
/// Every emitter runs inside the parallel loop over (batch, head) and
/// handles one (b, h) pair.
struct ScanLowering {
  ScanOp op;
  Value q, k, v, dt, A, dtBias, scale, skip, gate, initial, y, state;
  Value length, keyDim, valueDim, headsPerQ, headsPerK;
  Type yElement;
  bool elementwiseDecay, softplusOn, scalesInput;
  // The fused dense connection (MODELS.md §4), when present: the kept
  // tensors, the gate's hidden layer and second-layer weight, the norm
  // weight, and the per-token 1/rms computed by the statistics pre-pass.
  SmallVector<Value> denseKept;
  Value denseSelect, denseSelectWeight, denseNormWeight, denseRstd;

  /// f_t[c] = v + SiLU(Σ_r W[c, r] · select_t[r]) · Σ_i kept_i at
  /// (b, t, h, j), c = h·V + j: the connected value before its norm.
  Value connected(OpBuilder &b, Location loc, ValueRange at) const {
    Value c = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, at[2], valueDim), at[3]);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value rank = memref::DimOp::create(b, loc, denseSelect, 2);
    auto select = scf::ForOp::create(
        b, loc, zero, rank, one, ValueRange{f32(b, loc, 0.0f)},
        [&](OpBuilder &rb, Location rl, Value r, ValueRange acc) {
          Value w = loadF32(rb, rl, denseSelectWeight, {c, r});
          Value x = loadF32(rb, rl, denseSelect, {at[0], at[1], r});
          scf::YieldOp::create(
              rb, rl, ValueRange{math::FmaOp::create(rb, rl, w, x, acc[0])});
        });
    Value kept = f32(b, loc, 0.0f);
    for (Value buffer : denseKept)
      kept = arith::AddFOp::create(b, loc, kept, loadF32(b, loc, buffer, at));
    return math::FmaOp::create(b, loc, silu(b, loc, select.getResult(0)), kept,
                               loadF32(b, loc, v, at));
  }

  /// The value the recurrence reads at (b, t, h, j): v, or the normalised
  /// connected value when a dense connection is fused in.
  Value inputValue(OpBuilder &b, Location loc, ValueRange at) const {
    if (!denseNormWeight)
      return loadF32(b, loc, v, at);
    Value c = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, at[2], valueDim), at[3]);
    Value scaled = arith::MulFOp::create(
        b, loc, connected(b, loc, at),
        memref::LoadOp::create(b, loc, denseRstd, ValueRange{at[0], at[1]}));
    return arith::MulFOp::create(b, loc, scaled,
                                 loadF32(b, loc, denseNormWeight, {c}));
  }

  /// W input values from (b, t, h, j0) along the value axis, as a vector.
  Value inputVector(OpBuilder &b, Location loc, ValueRange at,
                    VectorType vec) const {
    if (!denseNormWeight)
      return readVector(b, loc, v, at, vec);
    SmallVector<Value> elements;
    for (int64_t w = 0; w < vec.getNumElements(); ++w) {
      Value j = arith::AddIOp::create(
          b, loc, at[3], arith::ConstantIndexOp::create(b, loc, w));
      elements.push_back(inputValue(b, loc, {at[0], at[1], at[2], j}));
    }
    return vector::FromElementsOp::create(b, loc, vec, elements);
  }

  /// The statistics pre-pass of a fused dense connection: one 1/rms per
  /// token over its H·V connected values, which are recomputed here and in
  /// the scan rather than stored.
  void emitDenseStatistics(OpBuilder &b, Location loc, Value batch, Value heads,
                           float eps) {
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    denseRstd = memref::AllocOp::create(
        b, loc,
        MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                        b.getF32Type()),
        ValueRange{batch, length});
    Value channels = arith::MulIOp::create(b, loc, heads, valueDim);
    Value count = arith::UIToFPOp::create(
        b, loc, b.getF32Type(),
        arith::IndexCastUIOp::create(b, loc, b.getI64Type(), channels));
    scf::ParallelOp::create(
        b, loc, ValueRange{zero, zero}, ValueRange{batch, length},
        ValueRange{one, one}, [&](OpBuilder &pb, Location pl, ValueRange bt) {
          auto sum = scf::ForOp::create(
              pb, pl, zero, channels, one, ValueRange{f32(pb, pl, 0.0f)},
              [&](OpBuilder &cb, Location cl, Value c, ValueRange acc) {
                Value h = arith::DivUIOp::create(cb, cl, c, valueDim);
                Value j = arith::RemUIOp::create(cb, cl, c, valueDim);
                Value f = connected(cb, cl, {bt[0], bt[1], h, j});
                scf::YieldOp::create(
                    cb, cl,
                    ValueRange{math::FmaOp::create(cb, cl, f, f, acc[0])});
              });
          Value mean = arith::DivFOp::create(pb, pl, sum.getResult(0), count);
          Value rstd = math::RsqrtOp::create(
              pb, pl, arith::AddFOp::create(pb, pl, mean, f32(pb, pl, eps)));
          memref::StoreOp::create(pb, pl, rstd, denseRstd, bt);
        });
  }

  /// The decay of head h at one token for key index i (per-element decay)
  /// or for the whole head (i null).
  Value decay(OpBuilder &b, Location loc, Value dtv, Value h, Value i) const {
    Value a = i ? memref::LoadOp::create(b, loc, A, ValueRange{h, i})
                : memref::LoadOp::create(b, loc, A, ValueRange{h});
    return math::ExpOp::create(b, loc, arith::MulFOp::create(b, loc, dtv, a));
  }

  /// δ_t[h] = softplus?(dt + dt_bias) and the input scale β_t[h] of
  /// (b, t, h); β is null when it is 1.
  std::pair<Value, Value> tokenScalars(OpBuilder &b, Location loc, Value bi,
                                       Value t, Value h) const {
    Value delta = loadF32(b, loc, dt, {bi, t, h});
    if (dtBias)
      delta =
          arith::AddFOp::create(b, loc, delta, loadF32(b, loc, dtBias, {h}));
    if (softplusOn)
      delta = softplus(b, loc, delta);
    Value beta =
        scale ? memref::LoadOp::create(b, loc, scale, ValueRange{bi, t, h})
                    .getResult()
              : Value();
    if (scalesInput)
      beta =
          beta ? arith::MulFOp::create(b, loc, beta, delta).getResult() : delta;
    return {delta, beta};
  }

  /// The epilogue of one output element at (b, t, h, j): (acc + skip[h] ·
  /// v) · SiLU(gate).
  Value epilogue(OpBuilder &b, Location loc, Value acc, ValueRange at) const {
    if (skip)
      acc = math::FmaOp::create(b, loc, loadF32(b, loc, skip, {at[2]}),
                                inputValue(b, loc, at), acc);
    if (gate)
      acc = arith::MulFOp::create(b, loc, acc,
                                  silu(b, loc, loadF32(b, loc, gate, at)));
    return acc;
  }

  /// Scalar loops: any sizes, the state in the final-state buffer.
  void emitScalar(OpBuilder &b, Location loc, Value bi, Value h, Value gq,
                  Value gk) const {
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value zeroF = f32(b, loc, 0.0f);
    // S_{-1}: the initial state, or zeros.
    forRange(b, loc, keyDim, [&](OpBuilder &ib, Location il, Value i) {
      forRange(ib, il, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
        Value s0 = initial ? memref::LoadOp::create(jb, jl, initial,
                                                    ValueRange{bi, h, i, j})
                                 .getResult()
                           : zeroF;
        memref::StoreOp::create(jb, jl, s0, state, ValueRange{bi, h, i, j});
      });
    });
    forRange(b, loc, length, [&](OpBuilder &tb, Location tl, Value t) {
      Value dtv, beta;
      std::tie(dtv, beta) = tokenScalars(tb, tl, bi, t, h);
      Value headDecay =
          elementwiseDecay ? Value() : decay(tb, tl, dtv, h, Value());
      // S_t = a ⊙ S_{t-1} + β k ⊗ v.
      forRange(tb, tl, keyDim, [&](OpBuilder &ib, Location il, Value i) {
        Value a = headDecay ? headDecay : decay(ib, il, dtv, h, i);
        Value key = loadF32(ib, il, k, {bi, t, gk, i});
        if (beta)
          key = arith::MulFOp::create(ib, il, key, beta);
        forRange(ib, il, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
          SmallVector<Value> at{bi, h, i, j};
          Value previous = memref::LoadOp::create(jb, jl, state, at);
          Value input = arith::MulFOp::create(
              jb, jl, key, inputValue(jb, jl, {bi, t, h, j}));
          memref::StoreOp::create(
              jb, jl, math::FmaOp::create(jb, jl, a, previous, input), state,
              at);
        });
      });
      // y_t = q_t · S_t.
      forRange(tb, tl, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
        auto sum = scf::ForOp::create(
            jb, jl, zero, keyDim, one, ValueRange{zeroF},
            [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
              Value s = memref::LoadOp::create(ib, il, state,
                                               ValueRange{bi, h, i, j});
              Value query = loadF32(ib, il, q, {bi, t, gq, i});
              scf::YieldOp::create(
                  ib, il,
                  ValueRange{math::FmaOp::create(ib, il, query, s, acc[0])});
            });
        storeY(jb, jl, epilogue(jb, jl, sum.getResult(0), {bi, t, h, j}),
               {bi, t, h, j});
      });
    });
  }

  /// The parallel schedule chunked over time (any sizes, scalar loops):
  /// tokens are cut into chunks of `chunk`, and three parallel phases
  /// replace the sequential time loop —
  ///   1. per (b, h, chunk): the scan of the chunk from a zero state, its
  ///      readouts (before the epilogue), its final state and the product of
  ///      its decays;
  ///   2. per (b, h): the carries, sequentially over chunks:
  ///      carry_c = decays_c ⊙ carry_{c-1} + local_c, from the initial state;
  ///   3. per (b, h, chunk): each readout corrected by the carry entering its
  ///      chunk, q_t · (Π_{τ≤t} a_τ ⊙ carry), then the epilogue.
  void emitTimeChunked(OpBuilder &b, Location loc, Value batch, Value heads,
                       int64_t chunk) {
    Type f32Type = b.getF32Type();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value chunkLength = arith::ConstantIndexOp::create(b, loc, chunk);
    Value chunks = arith::DivUIOp::create(
        b, loc,
        arith::AddIOp::create(
            b, loc, length, arith::ConstantIndexOp::create(b, loc, chunk - 1)),
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
    auto groupsOf = [&](OpBuilder &gb, Location gl, Value h) {
      return std::make_pair(arith::DivUIOp::create(gb, gl, h, headsPerQ),
                            arith::DivUIOp::create(gb, gl, h, headsPerK));
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
        [&](llvm::function_ref<void(OpBuilder &, Location, const Chunk &)>
                body) {
          scf::ParallelOp::create(
              b, loc, ValueRange{zero, zero, zero},
              ValueRange{batch, heads, chunks}, ValueRange{one, one, one},
              [&](OpBuilder &pb, Location pl, ValueRange bhc) {
                Chunk chunk{bhc[0], bhc[1], bhc[2], {}, {}, {}, {}};
                std::tie(chunk.gq, chunk.gk) = groupsOf(pb, pl, chunk.h);
                std::tie(chunk.start, chunk.stop) =
                    chunkBounds(pb, pl, chunk.c);
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
                math::FmaOp::create(jb, jl, a,
                                    memref::LoadOp::create(jb, jl, local, sat),
                                    input),
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
                        ib, il, loadF32(ib, il, q, {bi, t, gq, i}), sv,
                        acc[0])});
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
            forRange(
                ib, il, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
                  Value s0 =
                      initial ? memref::LoadOp::create(jb, jl, initial,
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

  /// V = 1 with a static key size K (Mamba: K = N): the whole state of a
  /// (b, h) pair is one vector<K x f32>, carried in registers across time;
  /// the decay, the input and the readout are K-wide vector operations.
  void emitRegisterState(OpBuilder &b, Location loc, Value bi, Value h,
                         Value gq, Value gk, int64_t K) const {
    auto vec = VectorType::get({K}, b.getF32Type());
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value s0 = initial ? readKeyColumn(b, loc, initial, bi, h, K)
                       : Value(arith::ConstantOp::create(
                             b, loc, vec, DenseElementsAttr::get(vec, 0.0f)));
    // The decay rates of this head, loaded once.
    Value rates =
        elementwiseDecay ? readVector(b, loc, A, {h, zero}, vec) : Value();
    auto loop = scf::ForOp::create(
        b, loc, zero, length, one, ValueRange{s0},
        [&](OpBuilder &tb, Location tl, Value t, ValueRange carried) {
          Value dtv, beta;
          std::tie(dtv, beta) = tokenScalars(tb, tl, bi, t, h);
          Value a = elementwiseDecay
                        ? Value(math::ExpOp::create(
                              tb, tl,
                              arith::MulFOp::create(
                                  tb, tl,
                                  vector::BroadcastOp::create(tb, tl, vec, dtv),
                                  rates)))
                        : Value(vector::BroadcastOp::create(
                              tb, tl, vec, decay(tb, tl, dtv, h, Value())));
          Value input = inputValue(tb, tl, {bi, t, h, zero});
          if (beta)
            input = arith::MulFOp::create(tb, tl, input, beta);
          Value key = readVector(tb, tl, k, {bi, t, gk, zero}, vec);
          Value update = arith::MulFOp::create(
              tb, tl, key, vector::BroadcastOp::create(tb, tl, vec, input));
          Value next = math::FmaOp::create(tb, tl, a, carried[0], update);
          Value query = readVector(tb, tl, q, {bi, t, gq, zero}, vec);
          // The readout sums K products in any order (a tree, not a chain
          // of K dependent adds); within f32 rounding of the ordered sum.
          Value out = vector::ReductionOp::create(
              tb, tl, vector::CombiningKind::ADD,
              arith::MulFOp::create(tb, tl, query, next),
              arith::FastMathFlags::reassoc);
          storeY(tb, tl, epilogue(tb, tl, out, {bi, t, h, zero}),
                 {bi, t, h, zero});
          scf::YieldOp::create(tb, tl, ValueRange{next});
        });
    writeKeyColumn(b, loc, loop.getResult(0), state, bi, h, K);
  }

  /// V = 1, one group of q and k, and the per-token operands viewable as
  /// [B, L, H] (Mamba-1): W independent channels h0 .. h0+W-1 advance
  /// together, each of the K state columns a vector<W x f32> over channels,
  /// carried in registers across time. Decays, inputs and the readout are
  /// vertical W-wide operations; q_t and k_t are scalars broadcast per key.
  /// `views` are the [B, L, H] views of v, y and the gate (if any).
  void emitChannelBlock(OpBuilder &b, Location loc, Value bi, Value h0,
                        int64_t K, int64_t W, const ChannelViews &views) const {
    auto vec = VectorType::get({W}, b.getF32Type());
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto channel = [&](OpBuilder &cb, Location cl, int64_t c) {
      return arith::AddIOp::create(cb, cl, h0,
                                   arith::ConstantIndexOp::create(cb, cl, c));
    };
    auto index = [&](OpBuilder &cb, Location cl, int64_t i) -> Value {
      return arith::ConstantIndexOp::create(cb, cl, i);
    };
    // Per key: the decay rates of the W channels (loop-invariant) and the
    // initial state column, gathered element by element once.
    SmallVector<Value> rates, columns;
    for (int64_t n = 0; n < K; ++n) {
      SmallVector<Value> rate, column;
      for (int64_t c = 0; c < W; ++c) {
        Value hc = channel(b, loc, c);
        rate.push_back(elementwiseDecay
                           ? memref::LoadOp::create(
                                 b, loc, A, ValueRange{hc, index(b, loc, n)})
                                 .getResult()
                           : memref::LoadOp::create(b, loc, A, ValueRange{hc})
                                 .getResult());
        column.push_back(initial
                             ? memref::LoadOp::create(
                                   b, loc, initial,
                                   ValueRange{bi, hc, index(b, loc, n), zero})
                                   .getResult()
                             : f32(b, loc, 0.0f));
      }
      rates.push_back(vector::FromElementsOp::create(b, loc, vec, rate));
      columns.push_back(vector::FromElementsOp::create(b, loc, vec, column));
    }
    Value biases = dtBias ? readVector(b, loc, dtBias, {h0}, vec) : Value();
    Value skips = skip ? readVector(b, loc, skip, {h0}, vec) : Value();
    auto loop = scf::ForOp::create(
        b, loc, zero, length, one, columns,
        [&](OpBuilder &tb, Location tl, Value t, ValueRange carried) {
          Value delta = readVector(tb, tl, dt, {bi, t, h0}, vec);
          if (biases)
            delta = arith::AddFOp::create(tb, tl, delta, biases);
          if (softplusOn)
            delta = softplus(tb, tl, delta);
          Value values = readVector(tb, tl, views.v, {bi, t, h0}, vec);
          Value input = values;
          if (scale)
            input = arith::MulFOp::create(
                tb, tl, input, readVector(tb, tl, scale, {bi, t, h0}, vec));
          if (scalesInput)
            input = arith::MulFOp::create(tb, tl, input, delta);
          Value keys = readVector(tb, tl, k, {bi, t, zero, zero},
                                  VectorType::get({K}, tb.getF32Type()));
          Value queries = readVector(tb, tl, q, {bi, t, zero, zero},
                                     VectorType::get({K}, tb.getF32Type()));
          Value out = arith::ConstantOp::create(
              tb, tl, vec, DenseElementsAttr::get(vec, 0.0f));
          SmallVector<Value> next;
          for (int64_t n = 0; n < K; ++n) {
            Value a = math::ExpOp::create(
                tb, tl, arith::MulFOp::create(tb, tl, delta, rates[n]));
            Value key = vector::BroadcastOp::create(
                tb, tl, vec, vector::ExtractOp::create(tb, tl, keys, n));
            Value s =
                math::FmaOp::create(tb, tl, a, carried[n],
                                    arith::MulFOp::create(tb, tl, key, input));
            Value query = vector::BroadcastOp::create(
                tb, tl, vec, vector::ExtractOp::create(tb, tl, queries, n));
            out = math::FmaOp::create(tb, tl, query, s, out);
            next.push_back(s);
          }
          if (skips)
            out = math::FmaOp::create(tb, tl, skips, values, out);
          if (views.gate)
            out = arith::MulFOp::create(
                tb, tl, out,
                silu(tb, tl, readVector(tb, tl, views.gate, {bi, t, h0}, vec)));
          if (yElement != tb.getF32Type())
            out = arith::TruncFOp::create(tb, tl,
                                          VectorType::get({W}, yElement), out);
          writeVector(tb, tl, out, views.y, {bi, t, h0});
          scf::YieldOp::create(tb, tl, next);
        });
    for (int64_t n = 0; n < K; ++n)
      for (int64_t c = 0; c < W; ++c)
        memref::StoreOp::create(
            b, loc, vector::ExtractOp::create(b, loc, loop.getResult(n), c),
            state, ValueRange{bi, channel(b, loc, c), index(b, loc, n), zero});
  }

  /// A static value size V (retention: V = dv): the value axis is cut in
  /// W-wide chunks (W = 16, 8 or 4, the largest that divides V, else V);
  /// for each token and chunk the
  /// key loop updates the chunk of every state row in place and accumulates
  /// y_t's chunk in one register.
  void emitValueChunks(OpBuilder &b, Location loc, Value bi, Value h, Value gq,
                       Value gk, int64_t V) const {
    int64_t W = V;
    for (int64_t width : {16, 8, 4})
      if (V % width == 0) {
        W = width;
        break;
      }
    auto vec = VectorType::get({W}, b.getF32Type());
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value width = arith::ConstantIndexOp::create(b, loc, W);
    Value zeros = arith::ConstantOp::create(b, loc, vec,
                                            DenseElementsAttr::get(vec, 0.0f));
    auto forChunks =
        [&](OpBuilder &ob, Location ol,
            llvm::function_ref<void(OpBuilder &, Location, Value)> body) {
          scf::ForOp::create(
              ob, ol, zero, valueDim, width, ValueRange{},
              [&](OpBuilder &nb, Location nl, Value j, ValueRange) {
                body(nb, nl, j);
                scf::YieldOp::create(nb, nl);
              });
        };
    // S_{-1}: the initial state, or zeros.
    forRange(b, loc, keyDim, [&](OpBuilder &ib, Location il, Value i) {
      forChunks(ib, il, [&](OpBuilder &jb, Location jl, Value j) {
        Value s0 =
            initial ? readVector(jb, jl, initial, {bi, h, i, j}, vec) : zeros;
        writeVector(jb, jl, s0, state, {bi, h, i, j});
      });
    });
    forRange(b, loc, length, [&](OpBuilder &tb, Location tl, Value t) {
      Value dtv, beta;
      std::tie(dtv, beta) = tokenScalars(tb, tl, bi, t, h);
      Value headDecay =
          elementwiseDecay ? Value() : decay(tb, tl, dtv, h, Value());
      forChunks(tb, tl, [&](OpBuilder &cb, Location cl, Value j) {
        Value values = inputVector(cb, cl, {bi, t, h, j}, vec);
        auto rows = scf::ForOp::create(
            cb, cl, zero, keyDim, one, ValueRange{zeros},
            [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
              Value a = headDecay ? headDecay : decay(ib, il, dtv, h, i);
              Value key = loadF32(ib, il, k, {bi, t, gk, i});
              if (beta)
                key = arith::MulFOp::create(ib, il, key, beta);
              Value row = readVector(ib, il, state, {bi, h, i, j}, vec);
              Value update = arith::MulFOp::create(
                  ib, il, vector::BroadcastOp::create(ib, il, vec, key),
                  values);
              Value next = math::FmaOp::create(
                  ib, il, vector::BroadcastOp::create(ib, il, vec, a), row,
                  update);
              writeVector(ib, il, next, state, {bi, h, i, j});
              Value query = vector::BroadcastOp::create(
                  ib, il, vec, loadF32(ib, il, q, {bi, t, gq, i}));
              scf::YieldOp::create(
                  ib, il,
                  ValueRange{math::FmaOp::create(ib, il, query, next, acc[0])});
            });
        Value out = rows.getResult(0);
        if (skip)
          out =
              math::FmaOp::create(cb, cl,
                                  vector::BroadcastOp::create(
                                      cb, cl, vec, loadF32(cb, cl, skip, {h})),
                                  values, out);
        if (gate)
          out = arith::MulFOp::create(
              cb, cl, out,
              silu(cb, cl, readVector(cb, cl, gate, {bi, t, h, j}, vec)));
        if (yElement != cb.getF32Type())
          out = arith::TruncFOp::create(cb, cl, VectorType::get({W}, yElement),
                                        out);
        vector::TransferWriteOp::create(cb, cl, out, y, ValueRange{bi, t, h, j},
                                        ArrayRef<bool>{true});
      });
    });
  }

  /// For the channel-block form: the [B, L, H] views of v, y and the gate
  /// when the scan is Mamba-1-shaped (V = 1, a static K, one group of q and
  /// of k) and the views are contiguous along H; none otherwise.
  std::optional<ChannelViews> channelViews(OpBuilder &b, Location loc,
                                           int64_t K, int64_t V) const {
    auto qType = cast<MemRefType>(q.getType());
    auto kType = cast<MemRefType>(k.getType());
    if (V != 1 || ShapedType::isDynamic(K) || qType.getDimSize(2) != 1 ||
        kType.getDimSize(2) != 1 || denseNormWeight)
      return std::nullopt;
    SmallVector<ReassociationIndices> dropUnit{{0}, {1}, {2, 3}};
    for (Value buffer : {v, y, gate})
      if (buffer && !memref::CollapseShapeOp::isGuaranteedCollapsible(
                        cast<MemRefType>(buffer.getType()), dropUnit))
        return std::nullopt;
    ChannelViews views;
    views.v = memref::CollapseShapeOp::create(b, loc, v, dropUnit);
    views.y = memref::CollapseShapeOp::create(b, loc, y, dropUnit);
    if (gate)
      views.gate = memref::CollapseShapeOp::create(b, loc, gate, dropUnit);
    return views;
  }

  static Value f32(OpBuilder &b, Location loc, float value) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
  }

  /// Reads a vector along the last axis and widens it to f32.
  static Value readVector(OpBuilder &b, Location loc, Value buffer,
                          ValueRange indices, VectorType vec) {
    Type element = cast<MemRefType>(buffer.getType()).getElementType();
    Value padding =
        arith::ConstantOp::create(b, loc, b.getZeroAttr(element)).getResult();
    Value read = vector::TransferReadOp::create(
        b, loc, VectorType::get(vec.getShape(), element), buffer, indices,
        padding, ArrayRef<bool>{true});
    if (element.isF32())
      return read;
    return arith::ExtFOp::create(b, loc, vec, read);
  }

  static void writeVector(OpBuilder &b, Location loc, Value vector,
                          Value buffer, ValueRange indices) {
    vector::TransferWriteOp::create(b, loc, vector, buffer, indices,
                                    ArrayRef<bool>{true});
  }

  /// The key column S[b, h, :, 0] of a [B, H, K, 1] state as a vector,
  /// element by element (once per (b, h), so its cost does not matter).
  static Value readKeyColumn(OpBuilder &b, Location loc, Value buffer, Value bi,
                             Value h, int64_t K) {
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    SmallVector<Value> elements;
    for (int64_t i = 0; i < K; ++i)
      elements.push_back(memref::LoadOp::create(
          b, loc, buffer,
          ValueRange{bi, h, arith::ConstantIndexOp::create(b, loc, i), zero}));
    return vector::FromElementsOp::create(
        b, loc, VectorType::get({K}, b.getF32Type()), elements);
  }

  static void writeKeyColumn(OpBuilder &b, Location loc, Value vector,
                             Value buffer, Value bi, Value h, int64_t K) {
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    for (int64_t i = 0; i < K; ++i)
      memref::StoreOp::create(
          b, loc, vector::ExtractOp::create(b, loc, vector, i), buffer,
          ValueRange{bi, h, arith::ConstantIndexOp::create(b, loc, i), zero});
  }

  void storeY(OpBuilder &b, Location loc, Value out, ValueRange at) const {
    if (out.getType() != yElement)
      out = arith::TruncFOp::create(b, loc, yElement, out);
    memref::StoreOp::create(b, loc, out, y, at);
  }
};

/// Whether the scan sits in a function with the recurrent schedule.
bool isRecurrent(ScanOp op) {
  auto function = op->getParentOfType<FunctionOpInterface>();
  auto schedule = function ? function->getAttrOfType<ScheduleAttr>(
                                 DenseSSMDialect::getScheduleAttrName())
                           : ScheduleAttr();
  return schedule && schedule.getValue() == Schedule::recurrent;
}

struct LowerScan : OpRewritePattern<ScanOp> {
  LowerScan(MLIRContext *context, int64_t timeChunk)
      : OpRewritePattern(context), timeChunk(timeChunk) {}
  int64_t timeChunk;

  LogicalResult matchAndRewrite(ScanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    auto dim = [&](Value tensor, int64_t axis) -> Value {
      return tensor::DimOp::create(b, loc, tensor, axis);
    };
    ScanLowering s;
    s.op = op;
    Value batch = dim(op.getV(), 0), heads = dim(op.getV(), 2);
    s.length = dim(op.getV(), 1);
    s.valueDim = dim(op.getV(), 3);
    s.keyDim = dim(op.getQ(), 3);
    // Heads per group of q and of k: head h reads group h / (H / G).
    s.headsPerQ = arith::DivUIOp::create(b, loc, heads, dim(op.getQ(), 2));
    s.headsPerK = arith::DivUIOp::create(b, loc, heads, dim(op.getK(), 2));
    s.q = readBuffer(b, loc, op.getQ());
    s.k = readBuffer(b, loc, op.getK());
    s.v = readBuffer(b, loc, op.getV());
    s.dt = readBuffer(b, loc, op.getDt());
    s.A = readBuffer(b, loc, op.getA());
    if (Value bias = op.getDtBias())
      s.dtBias = readBuffer(b, loc, bias);
    if (Value scale = op.getInputScale())
      s.scale = readBuffer(b, loc, scale);
    if (Value skip = op.getSkip())
      s.skip = readBuffer(b, loc, skip);
    if (Value gate = op.getGate())
      s.gate = readBuffer(b, loc, gate);
    if (Value initial = op.getInitialState())
      s.initial = readBuffer(b, loc, initial);
    auto yType = cast<RankedTensorType>(op.getY().getType());
    auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
    s.y = allocBuffer(b, loc, yType, {batch, s.length, heads, s.valueDim});
    s.state =
        allocBuffer(b, loc, stateType, {batch, heads, s.keyDim, s.valueDim});
    for (Value kept : op.getDenseKept())
      s.denseKept.push_back(readBuffer(b, loc, kept));
    if (op.hasDenseInput()) {
      s.denseSelect = readBuffer(b, loc, op.getDenseSelect());
      s.denseSelectWeight = readBuffer(b, loc, op.getDenseSelectWeight());
      s.denseNormWeight = readBuffer(b, loc, op.getDenseNormWeight());
      s.emitDenseStatistics(b, loc, batch, heads,
                            op.getDenseEps()->convertToFloat());
    }
    s.elementwiseDecay = op.hasElementwiseDecay();
    s.softplusOn = op.getDtSoftplus();
    s.scalesInput = op.getDtScalesInput();
    s.yElement = yType.getElementType();

    int64_t K = stateType.getDimSize(2), V = stateType.getDimSize(3);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    if (timeChunk > 0 && !isRecurrent(op)) {
      s.emitTimeChunked(b, loc, batch, heads, timeChunk);
    } else {
      // Mamba-1's form goes W channels at a time where it can; the channels
      // that do not fill a block, and every other form, go one (b, h) pair at
      // a time.
      Value firstSingle = zero;
      if (std::optional<ChannelViews> views = s.channelViews(b, loc, K, V)) {
        constexpr int64_t W = 16;
        Value width = arith::ConstantIndexOp::create(b, loc, W);
        Value blocks = arith::DivUIOp::create(b, loc, heads, width);
        firstSingle = arith::MulIOp::create(b, loc, blocks, width);
        scf::ParallelOp::create(
            b, loc, ValueRange{zero, zero}, ValueRange{batch, blocks},
            ValueRange{one, one},
            [&](OpBuilder &pb, Location pl, ValueRange bc) {
              Value h0 = arith::MulIOp::create(pb, pl, bc[1], width);
              s.emitChannelBlock(pb, pl, bc[0], h0, K, W, *views);
            });
      }
      scf::ParallelOp::create(
          b, loc, ValueRange{zero, firstSingle}, ValueRange{batch, heads},
          ValueRange{one, one}, [&](OpBuilder &pb, Location pl, ValueRange bh) {
            Value bi = bh[0], h = bh[1];
            Value gq = arith::DivUIOp::create(pb, pl, h, s.headsPerQ);
            Value gk = arith::DivUIOp::create(pb, pl, h, s.headsPerK);
            if (V == 1 && !ShapedType::isDynamic(K))
              s.emitRegisterState(pb, pl, bi, h, gq, gk, K);
            else if (!ShapedType::isDynamic(V))
              s.emitValueChunks(pb, pl, bi, h, gq, gk, V);
            else
              s.emitScalar(pb, pl, bi, h, gq, gk);
          });
    }

    Value yTensor = bufferization::ToTensorOp::create(
        b, loc, yType, s.y, /*restrict=*/true, /*writable=*/true);
    Value stateTensor = bufferization::ToTensorOp::create(
        b, loc, stateType, s.state, /*restrict=*/true, /*writable=*/true);
    rewriter.replaceOp(op, {yTensor, stateTensor});
    return success();
  }
};

struct LowerScanToLoopsPass
    : densessm::impl::DenseSSMLowerScanToLoopsBase<LowerScanToLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerScan>(&getContext(), timeChunk);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
