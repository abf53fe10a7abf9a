//===- DTypes.cpp - f32 / f16 / bf16 conversions --------------------------===//

#include "densessm/Frontend/DTypes.h"

#include <cstring>

using namespace llvm;
using namespace mlir::densessm::frontend;

size_t mlir::densessm::frontend::dtypeSize(TensorDType dtype) {
  return dtype == TensorDType::F32 ? 4 : 2;
}

StringRef mlir::densessm::frontend::stringifyDType(TensorDType dtype) {
  switch (dtype) {
  case TensorDType::F32:
    return "F32";
  case TensorDType::F16:
    return "F16";
  case TensorDType::BF16:
    return "BF16";
  }
  return "F32";
}

std::optional<TensorDType>
mlir::densessm::frontend::parseDType(StringRef name) {
  if (name == "F32")
    return TensorDType::F32;
  if (name == "F16")
    return TensorDType::F16;
  if (name == "BF16")
    return TensorDType::BF16;
  return std::nullopt;
}

static uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  return bits;
}

static float floatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

float mlir::densessm::frontend::halfToFloat(uint16_t half) {
  uint32_t sign = uint32_t(half & 0x8000) << 16;
  uint32_t exponent = (half >> 10) & 0x1f, mantissa = half & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000 | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else { // subnormal: normalise
    exponent = 113;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
  }
  return floatOf(bits);
}

uint16_t mlir::densessm::frontend::floatToHalf(float value) {
  uint32_t bits = bitsOf(value);
  uint16_t sign = uint16_t((bits >> 16) & 0x8000);
  uint32_t exponent = (bits >> 23) & 0xff, mantissa = bits & 0x7fffff;
  if (exponent == 0xff) // infinity, or NaN (kept quiet and non-zero)
    return sign | 0x7c00 | (mantissa ? 0x200 | (mantissa >> 13) : 0);
  int32_t unbiased = int32_t(exponent) - 127;
  if (unbiased > 15) // beyond the largest half (65504 rounds below this)
    return sign | 0x7c00;
  if (unbiased >= -14) {
    // Normal half: keep 10 mantissa bits, round the other 13 to nearest
    // even. A carry out of the mantissa bumps the exponent, which is right
    // (and turns 65520 and above into infinity).
    uint32_t half = (uint32_t(unbiased + 15) << 10) | (mantissa >> 13);
    uint32_t rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
      ++half;
    return sign | uint16_t(half);
  }
  if (unbiased < -25) // below half the smallest subnormal: zero
    return sign;
  // Subnormal half: the value is m * 2^-24 with m = full mantissa
  // (with its implicit bit) shifted right by (-14 - unbiased) + 13.
  uint32_t full = mantissa | 0x800000;
  unsigned shift = unsigned(-14 - unbiased) + 13;
  uint32_t half = full >> shift;
  uint32_t rest = full & ((1u << shift) - 1), halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (half & 1)))
    ++half; // may carry into the smallest normal, which is right
  return sign | uint16_t(half);
}

float mlir::densessm::frontend::bf16ToFloat(uint16_t bf16) {
  return floatOf(uint32_t(bf16) << 16);
}

uint16_t mlir::densessm::frontend::floatToBF16(float value) {
  uint32_t bits = bitsOf(value);
  if ((bits & 0x7fffffff) > 0x7f800000) // NaN: keep it quiet
    return uint16_t((bits >> 16) | 0x40);
  bits += 0x7fff + ((bits >> 16) & 1);
  return uint16_t(bits >> 16);
}

void mlir::densessm::frontend::convertToF32(TensorDType dtype, StringRef bytes,
                                            std::vector<float> &out) {
  size_t count = bytes.size() / dtypeSize(dtype);
  out.resize(count);
  const char *data = bytes.data();
  switch (dtype) {
  case TensorDType::F32:
    if (count) // a tensor with a 0 in its shape has no bytes (and no data())
      std::memcpy(out.data(), data, count * 4);
    return;
  case TensorDType::F16:
    for (size_t i = 0; i < count; ++i) {
      uint16_t half;
      std::memcpy(&half, data + 2 * i, 2);
      out[i] = halfToFloat(half);
    }
    return;
  case TensorDType::BF16:
    for (size_t i = 0; i < count; ++i) {
      uint16_t upper;
      std::memcpy(&upper, data + 2 * i, 2);
      out[i] = bf16ToFloat(upper);
    }
    return;
  }
}

void mlir::densessm::frontend::convertFromF32(TensorDType dtype,
                                              ArrayRef<float> values,
                                              std::vector<char> &out) {
  out.resize(values.size() * dtypeSize(dtype));
  switch (dtype) {
  case TensorDType::F32:
    if (!values.empty())
      std::memcpy(out.data(), values.data(), values.size() * 4);
    return;
  case TensorDType::F16:
  case TensorDType::BF16:
    for (size_t i = 0; i < values.size(); ++i) {
      uint16_t element = dtype == TensorDType::F16 ? floatToHalf(values[i])
                                                   : floatToBF16(values[i]);
      std::memcpy(out.data() + 2 * i, &element, 2);
    }
    return;
  }
}
