// MatMulInteger (opset 10): int32 Y = (A - a_zero) · (B - b_zero), A and B int8 or uint8.
// QLinearMatMul (opset 10): Y = saturate(round((A - a_zero) · (B - b_zero) · a_scale · b_scale /
// y_scale) + y_zero), in y_zero's type. The zero point is added after rounding, as the spec's
// formula reads (ONNX's Python reference adds it before; they differ only at exact ties).
// A's zero point and scale are per tensor or per row (1-D [M], or [..., M, 1]); B's per tensor
// or per column ([N], or [..., 1, N]). The integer product runs as MatMul in float64, which is
// exact: every partial sum of int8 products stays far below 2^53.
#include "ops/linear/linear_ops.h"
#include "ops/op_util.h"
#include "ops/quantize/quant_math.h"
#include "ops/quantize/quantize_ops.h"

namespace kiln::quant {
namespace {

// MatMul's shape rule on the operands' shapes.
std::optional<Shape> product_shape(const InferContext& ctx, size_t a, size_t b) {
  Value va{"", {DType::kF64, ctx.type(a).shape}}, vb{"", {DType::kF64, ctx.type(b).shape}};
  InferContext m{{ctx.node}, {&va, &vb}};
  return linear::matmul_infer(m)[0].shape;
}

// A 1-D per-row parameter [M] of a matrix operand, as dims that broadcast over its rows.
Dims param_dims(const Tensor& p, const Dims& operand, bool per_row) {
  if (per_row && p.rank() == 1 && p.numel() > 1 && operand.size() >= 2) return {p.dim(0), 1};
  return p.dims();
}

// The broadcast of `p` (laid out by param_dims) to `over`, refusing what does not broadcast to it.
std::vector<double> spread(const KernelContext& ctx, const Tensor& p, const Dims& operand, bool per_row,
                           const Dims& over, const char* what) {
  const Dims pd = param_dims(p, operand, per_row);
  if (broadcast_dims(ctx, pd, over) != over)
    ctx.invalid(std::string(what) + " " + dims_to_string(p.dims()) + " does not fit " + dims_to_string(over));
  return broadcast_doubles(p, pd, over);
}

// x - zero as float64 (zero null: x itself).
Tensor shifted(const KernelContext& ctx, const Tensor& x, const Tensor* zero, bool per_row, const char* what) {
  std::vector<double> v = doubles_of(x);
  if (zero) {
    const std::vector<double> z = spread(ctx, *zero, x.dims(), per_row, x.dims(), what);
    for (size_t i = 0; i < v.size(); ++i) v[i] -= z[i];
  }
  return tensor_of(DType::kF64, x.dims(), v);
}

// The exact integer product of (a - a_zero) and (b - b_zero), as float64.
Tensor integer_product(const KernelContext& ctx, size_t a, size_t az, size_t b, size_t bz) {
  const Tensor& A = ctx.input(a);
  const Tensor& B = ctx.input(b);
  require_quantized(ctx, A.dtype(), "A");
  require_quantized(ctx, B.dtype(), "B");
  const Tensor* za = ctx.has_input(az) ? &ctx.input(az) : nullptr;
  const Tensor* zb = ctx.has_input(bz) ? &ctx.input(bz) : nullptr;
  if (za && za->dtype() != A.dtype()) ctx.invalid("A's zero point is not A's type");
  if (zb && zb->dtype() != B.dtype()) ctx.invalid("B's zero point is not B's type");
  Tensor sa = shifted(ctx, A, za, true, "A's zero point");
  Tensor sb = shifted(ctx, B, zb, false, "B's zero point");
  KernelContext m{{ctx.node}, {&sa, &sb}};
  return linear::matmul_cpu(m)[0];
}

std::vector<ValueType> matmul_integer_infer(const InferContext& ctx) {
  check_operand_types(ctx, 0, 2, 1, 3, "A", "B");
  return {{DType::kI32, product_shape(ctx, 0, 1)}};
}

std::vector<Tensor> matmul_integer_cpu(const KernelContext& ctx) { return {int32_of(integer_product(ctx, 0, 2, 1, 3))}; }

// QLinearMatMul's inputs: a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero.
std::vector<ValueType> qlinear_matmul_infer(const InferContext& ctx) {
  check_operand_types(ctx, 0, 2, 3, 5, "A", "B");
  for (size_t s : {1, 4, 6})
    if (ctx.dtype(s) != DType::kF32) ctx.unsupported("scales must be float32 (opset 10)");
  require_quantized(ctx, ctx.dtype(7), "y's zero point");
  return {{ctx.dtype(7), product_shape(ctx, 0, 3)}};
}

std::vector<Tensor> qlinear_matmul_cpu(const KernelContext& ctx) {
  const Tensor c = integer_product(ctx, 0, 2, 3, 5);
  const DType out = ctx.input(7).dtype();
  require_quantized(ctx, out, "y's zero point");
  const Dims& od = c.dims();
  const std::vector<double> as = spread(ctx, ctx.input(1), ctx.input(0).dims(), true, od, "a_scale");
  const std::vector<double> bs = spread(ctx, ctx.input(4), ctx.input(3).dims(), false, od, "b_scale");
  const std::vector<double> ys = spread(ctx, ctx.input(6), {}, false, od, "y_scale");
  const std::vector<double> yz = spread(ctx, ctx.input(7), {}, false, od, "y's zero point");
  std::vector<double> v = doubles_of(c);
  for (size_t i = 0; i < v.size(); ++i) {
    // The multiplier in float32, as the reference computes a_scale * b_scale / y_scale.
    const float m = float(as[i]) * float(bs[i]) / float(ys[i]);
    v[i] = round_saturate(v[i] * double(m), yz[i], out);
  }
  return {tensor_of(out, od, v)};
}

}  // namespace

void register_integer_matmul(OpRegistry& r) {
  r.add({.domain = "", .name = "MatMulInteger", .min_inputs = 2, .max_inputs = 4,
         .infer = matmul_integer_infer, .cpu = matmul_integer_cpu});
  r.add({.domain = "", .name = "QLinearMatMul", .min_inputs = 8, .max_inputs = 8,
         .infer = qlinear_matmul_infer, .cpu = qlinear_matmul_cpu});
}

}  // namespace kiln::quant
