//===- DTypes.h - the element types of stored tensors -----------*- C++ -*-===//
//
// The element types a checkpoint or an exported graph stores tensors in (f32,
// f16, bf16; little endian) and the one place that converts them to and
// from f32: safetensors reading, the graph reader and densessm-export all use
// these.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_FRONTEND_DTYPES_H
#define DENSESSM_FRONTEND_DTYPES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::densessm::frontend {

enum class TensorDType { F32, F16, BF16 };

/// Bytes per element: 4 or 2.
size_t dtypeSize(TensorDType dtype);

/// The safetensors spelling: "F32", "F16", "BF16".
llvm::StringRef stringifyDType(TensorDType dtype);

/// The dtype of a safetensors spelling ("F32", "F16", "BF16"), if known.
std::optional<TensorDType> parseDType(llvm::StringRef name);

/// IEEE half to float, exactly (subnormals, infinities and NaNs included).
float halfToFloat(uint16_t half);
/// Float to IEEE half, rounded to nearest even; overflow gives infinity,
/// NaN stays NaN.
uint16_t floatToHalf(float value);
/// bfloat16 to float (exact: the upper half of the float's bits).
float bf16ToFloat(uint16_t bf16);
/// Float to bfloat16, rounded to nearest even; NaN stays NaN.
uint16_t floatToBF16(float value);

/// Converts `bytes` (little endian elements of `dtype`; its size must be a
/// multiple of the element size) to f32.
void convertToF32(TensorDType dtype, llvm::StringRef bytes,
                  std::vector<float> &out);
/// Converts f32 values to little endian elements of `dtype`.
void convertFromF32(TensorDType dtype, llvm::ArrayRef<float> values,
                    std::vector<char> &out);

} // namespace mlir::densessm::frontend

#endif // DENSESSM_FRONTEND_DTYPES_H
