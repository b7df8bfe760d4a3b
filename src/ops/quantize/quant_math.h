// What the quantized ops share: the integer range of a quantized type, ONNX's rounding (half to
// even, then saturation), and tensors read as doubles broadcast to an output shape.
#pragma once
#include <cmath>
#include <vector>

#include "ops/op.h"

namespace kiln::quant {

// int8 or uint8 (the quantized types kiln has); anything else is kUnsupported.
void require_quantized(const OpContextBase& ctx, DType dt, const char* what);
// The two quantized operands of an integer product (MatMulInteger, ConvInteger, the QLinear
// ops) at inputs a and b, each with its optional zero point (az, bz) of the same type.
void check_operand_types(const InferContext& ctx, size_t a, size_t az, size_t b, size_t bz, const char* a_name,
                         const char* b_name);
// An integer product's float64 accumulator as the int32 tensor MatMulInteger/ConvInteger give.
Tensor int32_of(const Tensor& accumulator);
double type_min(DType dt);
double type_max(DType dt);

// round half to even (std::nearbyint under the default rounding mode), add the zero point, then
// clamp to dt's range. The zero point comes after the rounding: an odd one would otherwise flip
// the direction of ties. NaN has no integer: it saturates to 0 (the reference leaves it undefined).
inline double round_saturate(double q, double zero, DType dt) {
  if (std::isnan(q)) return 0.0;
  return std::fmin(std::fmax(std::nearbyint(q) + zero, type_min(dt)), type_max(dt));
}

// Every element of t as double.
std::vector<double> doubles_of(const Tensor& t);
// t (dims t_dims, which must broadcast to out) read at every element of out, row-major.
std::vector<double> broadcast_doubles(const Tensor& t, const Dims& t_dims, const Dims& out);
// A tensor of dtype dt holding v (already in range for integers).
inline Tensor tensor_of(DType dt, const Dims& dims, const std::vector<double>& v) {
  return Tensor::from_doubles(dt, dims, v);
}

}  // namespace kiln::quant
