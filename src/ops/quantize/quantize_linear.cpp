// QuantizeLinear  y = saturate(round_half_even(x / scale) + zero_point)
// DequantizeLinear y = (x - zero_point) * scale
// Opsets 13 and 19 (kiln's range 13-20): per tensor or per axis, zero point optional (uint8
// zero when absent). Opset 19 adds float16/bfloat16 scales (and x for QuantizeLinear, in the
// scale's type); Dequantize's output takes the scale's type. `saturate` concerns only float8,
// which kiln lacks (such models are refused on import as an unsupported dtype).
#include "ops/op_util.h"
#include "ops/quantize/quant_math.h"
#include "ops/quantize/quant_params.h"
#include "ops/quantize/quantize_ops.h"

namespace kiln::quant {
namespace {

void require_scale_type(const OpContextBase& ctx, DType scale) {
  if (scale == DType::kF32) return;
  if (ctx.opset() >= 19 && (scale == DType::kF16 || scale == DType::kBF16)) return;
  ctx.unsupported(std::string("scale is ") + dtype_name(scale) + " (float32" +
                  (ctx.opset() >= 19 ? ", float16 or bfloat16)" : " before opset 19)"));
}

std::vector<ValueType> quantize_infer(const InferContext& ctx) {
  if (ctx.opset() >= 19) ctx.require_dtype(0, {DType::kF32, DType::kF16, DType::kBF16, DType::kI32});
  else ctx.require_dtype(0, {DType::kF32, DType::kI32});
  require_scale_type(ctx, ctx.dtype(1));
  // Opset 19 ties a float x to the scale's type; an int32 x divides by a float32 scale.
  const DType x = ctx.dtype(0);
  if (x != ctx.dtype(1) && !(x == DType::kI32 && ctx.dtype(1) == DType::kF32))
    ctx.invalid(std::string("x is ") + dtype_name(x) + " but scale is " + dtype_name(ctx.dtype(1)));
  DType out = DType::kU8;
  if (ctx.has_input(2)) {
    out = ctx.dtype(2);
    require_quantized(ctx, out, "zero point");
  }
  param_axis(ctx, ctx.shape(0), ctx.shape(1), ctx.has_input(2) ? ctx.shape(2) : nullptr);
  return {{out, ctx.type(0).shape}};
}

std::vector<ValueType> dequantize_infer(const InferContext& ctx) {
  ctx.require_dtype(0, {DType::kI8, DType::kU8, DType::kI32});
  require_scale_type(ctx, ctx.dtype(1));
  if (ctx.has_input(2) && ctx.dtype(2) != ctx.dtype(0))
    ctx.invalid(std::string("zero point is ") + dtype_name(ctx.dtype(2)) + " but x is " +
                dtype_name(ctx.dtype(0)));
  param_axis(ctx, ctx.shape(0), ctx.shape(1), ctx.has_input(2) ? ctx.shape(2) : nullptr);
  return {{ctx.dtype(1), ctx.type(0).shape}};
}

// Parameters of a kernel call: axis walk, scales and zero points as doubles.
struct Params {
  AxisWalk walk;
  std::vector<double> scale, zero;
};

Params read_params(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& s = ctx.input(1);
  const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  Shape xs = shape_of(x.dims()), ss = shape_of(s.dims()), zs = zp ? shape_of(zp->dims()) : Shape();
  const int axis = param_axis(ctx, &xs, &ss, zp ? &zs : nullptr);
  Params p{AxisWalk(x.dims(), axis), doubles_of(s), zp ? doubles_of(*zp) : std::vector<double>{}};
  if (p.zero.empty()) p.zero.assign(p.scale.size(), 0.0);
  if (p.scale.empty()) ctx.invalid("scale is empty");
  return p;
}

// x / scale as the ONNX reference computes it: in x's type for floats (float16 rounds the
// quotient to float16, as numpy does), exactly for int32.
double quotient(DType xt, double x, double s) {
  const float q = float(x) / float(s);
  if (xt == DType::kF32) return q;
  if (xt == DType::kF16) return f16_to_float(float_to_f16(q));
  if (xt == DType::kBF16) return bf16_to_float(float_to_bf16(q));
  return x / s;
}

std::vector<Tensor> quantize_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const DType out = ctx.has_input(2) ? ctx.input(2).dtype() : DType::kU8;
  require_quantized(ctx, out, "zero point");
  const Params p = read_params(ctx);
  const std::vector<double> xv = doubles_of(x);
  std::vector<double> y(xv.size());
  for (size_t i = 0; i < xv.size(); ++i) {
    const size_t c = size_t(p.walk.channel(int64_t(i)));
    y[i] = round_saturate(quotient(x.dtype(), xv[i], p.scale[c]), p.zero[c], out);
  }
  return {tensor_of(out, x.dims(), y)};
}

std::vector<Tensor> dequantize_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (ctx.has_input(2) && ctx.input(2).dtype() != x.dtype())
    ctx.invalid(std::string("zero point is ") + dtype_name(ctx.input(2).dtype()) + " but x is " +
                dtype_name(x.dtype()));
  const Params p = read_params(ctx);
  const std::vector<double> xv = doubles_of(x);
  std::vector<double> y(xv.size());
  // For int8/uint8 x, (x - zero) * scale is exact in double: tensor_of rounds it once, to the
  // scale's type, as the reference's float32 arithmetic does.
  for (size_t i = 0; i < xv.size(); ++i) {
    const size_t c = size_t(p.walk.channel(int64_t(i)));
    y[i] = (xv[i] - p.zero[c]) * p.scale[c];
  }
  return {tensor_of(ctx.input(1).dtype(), x.dims(), y)};
}

}  // namespace

void register_quantize_linear(OpRegistry& r) {
  r.add({.domain = "", .name = "QuantizeLinear", .min_inputs = 2, .max_inputs = 3,
         .infer = quantize_infer, .cpu = quantize_cpu});
  r.add({.domain = "", .name = "DequantizeLinear", .min_inputs = 2, .max_inputs = 3,
         .infer = dequantize_infer, .cpu = dequantize_cpu});
}

}  // namespace kiln::quant
