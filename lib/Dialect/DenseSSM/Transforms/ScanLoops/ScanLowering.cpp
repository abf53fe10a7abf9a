//===- ScanLowering.cpp - shared pieces of the scan loop nests ------------===//
//
// What every loop-nest form of the scan shares: buffer views, the per-token
// decay and input scale, the fused dense connection and its statistics
// pre-pass, the epilogue, vector reads and writes.
//
//===----------------------------------------------------------------------===//

#include "ScanLowering.h"

#include "../TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::densessm;

std::optional<Schedule> mlir::densessm::functionSchedule(Operation *op) {
  auto function = op->getParentOfType<FunctionOpInterface>();
  auto schedule = function ? function->getAttrOfType<ScheduleAttr>(
                                 DenseSSMDialect::getScheduleAttrName())
                           : ScheduleAttr();
  if (!schedule)
    return std::nullopt;
  return schedule.getValue();
}

Value mlir::densessm::readBuffer(OpBuilder &b, Location loc, Value tensor) {
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

Value mlir::densessm::allocBuffer(OpBuilder &b, Location loc,
                                  RankedTensorType type,
                                  ArrayRef<Value> sizes) {
  SmallVector<Value> dynamic;
  for (auto [dim, size] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(size))
      dynamic.push_back(sizes[dim]);
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  return memref::AllocOp::create(b, loc, memrefType, dynamic);
}

Value mlir::densessm::loadF32(OpBuilder &b, Location loc, Value buffer,
                              ValueRange indices) {
  Value value = memref::LoadOp::create(b, loc, buffer, indices);
  if (value.getType().isF32())
    return value;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), value);
}

void mlir::densessm::forRange(
    OpBuilder &b, Location loc, Value upper,
    llvm::function_ref<void(OpBuilder &, Location, Value)> body) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  scf::ForOp::create(b, loc, zero, upper, one, ValueRange{},
                     [&](OpBuilder &nb, Location nl, Value iv, ValueRange) {
                       body(nb, nl, iv);
                       scf::YieldOp::create(nb, nl);
                     });
}

void ScanLowering::replaceWithResults(RewriterBase &rewriter,
                                      Location loc) const {
  auto tensorOf = [&](Value buffer, Value result) -> Value {
    return bufferization::ToTensorOp::create(rewriter, loc, result.getType(),
                                             buffer, /*restrict=*/true,
                                             /*writable=*/true);
  };
  ScanOp scan = op;
  rewriter.replaceOp(scan, {tensorOf(y, scan.getY()),
                            tensorOf(state, scan.getFinalState())});
}

Value ScanLowering::connected(OpBuilder &b, Location loc, ValueRange at) const {
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

Value ScanLowering::denseRstdAt(OpBuilder &b, Location loc, Value bi,
                                Value t) const {
  if (denseRstdParts == 0)
    return memref::LoadOp::create(b, loc, denseRstd, ValueRange{bi, t});
  auto partAt = [&](int64_t part) -> Value {
    return memref::LoadOp::create(
        b, loc, denseRstd,
        ValueRange{bi, t, arith::ConstantIndexOp::create(b, loc, part)});
  };
  Value sum = partAt(0);
  for (int64_t part = 1; part < denseRstdParts; ++part)
    sum = arith::AddFOp::create(b, loc, sum, partAt(part));
  return rstdOfSumOfSquares(b, loc, sum, denseEps);
}

Value ScanLowering::rstdOfSumOfSquares(OpBuilder &b, Location loc, Value sum,
                                       float eps) const {
  Value channels = memref::DimOp::create(b, loc, denseNormWeight, 0);
  Value count = arith::UIToFPOp::create(
      b, loc, b.getF32Type(),
      arith::IndexCastUIOp::create(b, loc, b.getI64Type(), channels));
  Value mean = arith::DivFOp::create(b, loc, sum, count);
  return math::RsqrtOp::create(
      b, loc, arith::AddFOp::create(b, loc, mean, f32(b, loc, eps)));
}

Value ScanLowering::inputValue(OpBuilder &b, Location loc,
                               ValueRange at) const {
  if (!denseNormWeight)
    return loadF32(b, loc, v, at);
  Value c = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, at[2], valueDim), at[3]);
  Value scaled = arith::MulFOp::create(b, loc, connected(b, loc, at),
                                       denseRstdAt(b, loc, at[0], at[1]));
  return arith::MulFOp::create(b, loc, scaled,
                               loadF32(b, loc, denseNormWeight, {c}));
}

Value ScanLowering::inputVector(OpBuilder &b, Location loc, ValueRange at,
                                VectorType vec) const {
  if (!denseNormWeight)
    return readVector(b, loc, v, at, vec);
  SmallVector<Value> elements;
  for (int64_t w = 0; w < vec.getNumElements(); ++w) {
    Value j = arith::AddIOp::create(b, loc, at[3],
                                    arith::ConstantIndexOp::create(b, loc, w));
    elements.push_back(inputValue(b, loc, {at[0], at[1], at[2], j}));
  }
  return vector::FromElementsOp::create(b, loc, vec, elements);
}

void ScanLowering::emitDenseStatistics(OpBuilder &b, Location loc, Value batch,
                                       Value heads, float eps) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  denseRstd = memref::AllocOp::create(
      b, loc,
      MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                      b.getF32Type()),
      ValueRange{batch, length});
  Value channels = arith::MulIOp::create(b, loc, heads, valueDim);
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
        memref::StoreOp::create(
            pb, pl, rstdOfSumOfSquares(pb, pl, sum.getResult(0), eps),
            denseRstd, bt);
      });
}

Value ScanLowering::decay(OpBuilder &b, Location loc, Value dtv, Value h,
                          Value i) const {
  Value a = i ? memref::LoadOp::create(b, loc, A, ValueRange{h, i})
              : memref::LoadOp::create(b, loc, A, ValueRange{h});
  return math::ExpOp::create(b, loc, arith::MulFOp::create(b, loc, dtv, a));
}

std::pair<Value, Value> ScanLowering::tokenScalars(OpBuilder &b, Location loc,
                                                   Value bi, Value t,
                                                   Value h) const {
  Value delta = loadF32(b, loc, dt, {bi, t, h});
  if (dtBias)
    delta = arith::AddFOp::create(b, loc, delta, loadF32(b, loc, dtBias, {h}));
  if (softplusOn)
    delta = softplus(b, loc, delta);
  Value beta = scale
                   ? memref::LoadOp::create(b, loc, scale, ValueRange{bi, t, h})
                         .getResult()
                   : Value();
  if (scalesInput)
    beta =
        beta ? arith::MulFOp::create(b, loc, beta, delta).getResult() : delta;
  return {delta, beta};
}

Value ScanLowering::epilogue(OpBuilder &b, Location loc, Value acc,
                             ValueRange at) const {
  if (skip)
    acc = math::FmaOp::create(b, loc, loadF32(b, loc, skip, {at[2]}),
                              inputValue(b, loc, at), acc);
  if (gate)
    acc = arith::MulFOp::create(b, loc, acc,
                                silu(b, loc, loadF32(b, loc, gate, at)));
  return acc;
}

std::optional<ChannelViews> ScanLowering::channelViews(OpBuilder &b,
                                                       Location loc, int64_t K,
                                                       int64_t V) const {
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

Value ScanLowering::f32(OpBuilder &b, Location loc, float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value ScanLowering::readVector(OpBuilder &b, Location loc, Value buffer,
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

void ScanLowering::writeVector(OpBuilder &b, Location loc, Value vector,
                               Value buffer, ValueRange indices) {
  vector::TransferWriteOp::create(b, loc, vector, buffer, indices,
                                  ArrayRef<bool>{true});
}

Value ScanLowering::readKeyColumn(OpBuilder &b, Location loc, Value buffer,
                                  Value bi, Value h, int64_t K) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  SmallVector<Value> elements;
  for (int64_t i = 0; i < K; ++i)
    elements.push_back(memref::LoadOp::create(
        b, loc, buffer,
        ValueRange{bi, h, arith::ConstantIndexOp::create(b, loc, i), zero}));
  return vector::FromElementsOp::create(
      b, loc, VectorType::get({K}, b.getF32Type()), elements);
}

void ScanLowering::writeKeyColumn(OpBuilder &b, Location loc, Value vector,
                                  Value buffer, Value bi, Value h, int64_t K) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  for (int64_t i = 0; i < K; ++i)
    memref::StoreOp::create(
        b, loc, vector::ExtractOp::create(b, loc, vector, i), buffer,
        ValueRange{bi, h, arith::ConstantIndexOp::create(b, loc, i), zero});
}

void ScanLowering::storeY(OpBuilder &b, Location loc, Value out,
                          ValueRange at) const {
  if (out.getType() != yElement)
    out = arith::TruncFOp::create(b, loc, yElement, out);
  memref::StoreOp::create(b, loc, out, y, at);
}

std::pair<Value, Value> ScanLowering::groups(OpBuilder &b, Location loc,
                                             Value h) const {
  return {arith::DivUIOp::create(b, loc, h, headsPerQ),
          arith::DivUIOp::create(b, loc, h, headsPerK)};
}

ScanLowering ScanLowering::prepare(OpBuilder &b, Location loc, ScanOp op,
                                   llvm::function_ref<Value(Value, int64_t)> dim,
                                   Value &batch, Value &heads) {
  ScanLowering s;
  s.op = op;
  batch = dim(op.getV(), 0);
  heads = dim(op.getV(), 2);
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
  s.state = allocBuffer(b, loc, stateType, {batch, heads, s.keyDim, s.valueDim});
  for (Value kept : op.getDenseKept())
    s.denseKept.push_back(readBuffer(b, loc, kept));
  if (op.hasDenseInput()) {
    s.denseSelect = readBuffer(b, loc, op.getDenseSelect());
    s.denseSelectWeight = readBuffer(b, loc, op.getDenseSelectWeight());
    s.denseNormWeight = readBuffer(b, loc, op.getDenseNormWeight());
  }
  s.elementwiseDecay = op.hasElementwiseDecay();
  s.softplusOn = op.getDtSoftplus();
  s.scalesInput = op.getDtScalesInput();
  s.yElement = yType.getElementType();
  return s;
}
