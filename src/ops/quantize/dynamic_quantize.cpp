// DynamicQuantizeLinear (opset 11): float32 x -> uint8 y, float32 scale, uint8 zero point, from
// x's range widened to include 0:
//   scale = (max(0, max x) - min(0, min x)) / 255
//   zero  = saturate(round(0 - min / scale)),  y = saturate(round(x / scale) + zero)
// in float32 arithmetic as the ONNX reference does it, rounding half to even.
#include <algorithm>
#include <cmath>

#include "ops/op_util.h"
#include "ops/quantize/quant_math.h"
#include "ops/quantize/quantize_ops.h"

namespace kiln::quant {
namespace {

std::vector<ValueType> dynamic_quantize_infer(const InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32});
  return {{DType::kU8, ctx.type(0).shape}, {DType::kF32, Shape{}}, {DType::kU8, Shape{}}};
}

std::vector<Tensor> dynamic_quantize_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kF32) ctx.unsupported(std::string("x is ") + dtype_name(x.dtype()));
  const float* xv = x.data<float>();
  // NaN compares false, so it never widens the range; it quantizes to 0 (round_saturate).
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < x.numel(); ++i) {
    lo = std::min(lo, xv[i]);
    hi = std::max(hi, xv[i]);
  }
  const float scale = (hi - lo) / 255.0f;
  Tensor y(DType::kU8, x.dims());
  uint8_t* yv = y.data<uint8_t>();
  float zero = 0.0f;
  // An all-zero x has scale 0: every value is exactly the zero point 0 (no division by zero).
  if (scale > 0.0f) {
    zero = float(round_saturate(0.0f - lo / scale, 0.0, DType::kU8));
    for (int64_t i = 0; i < x.numel(); ++i)
      yv[i] = uint8_t(round_saturate(double(xv[i] / scale), zero, DType::kU8));
  }
  return {y, Tensor::scalar<float>(scale), Tensor::scalar<uint8_t>(uint8_t(zero))};
}

}  // namespace

void register_dynamic_quantize(OpRegistry& r) {
  r.add({.domain = "", .name = "DynamicQuantizeLinear", .min_outputs = 3, .max_outputs = 3,
         .infer = dynamic_quantize_infer, .cpu = dynamic_quantize_cpu});
}

}  // namespace kiln::quant
