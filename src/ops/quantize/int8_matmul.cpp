// kiln.Int8MatMul's shape rule and CPU reference (the semantics are in int8_matmul.h). The
// reference quantizes X, accumulates in int32 (exact), and applies the float epilogue with the
// same operations the CUDA kernel uses (int8_math.h; this file builds with -ffp-contract=off).
#include "ops/quantize/int8_matmul.h"

#include <algorithm>

#include "ops/linear/epilogue.h"
#include "ops/linear/gemm_kernels.h"
#include "ops/linear/linear_ops.h"
#include "ops/op_util.h"
#include "ops/quantize/int8_math.h"
#include "ops/quantize/quantize_ops.h"

namespace kiln::quant {

DType int8_output_dtype(const OpContextBase& ctx, DType x, std::optional<DType> bias, std::optional<DType> residual) {
  const DType y = bias ? *bias : x;
  if (y != x && !(x == DType::kF16 && y == DType::kF32))
    ctx.invalid(std::string("bias is ") + dtype_name(y) + ", X is " + dtype_name(x) +
                " (bias must have X's type, or float32 with float16 X)");
  if (residual && *residual != y)
    ctx.invalid(std::string("the residual is ") + dtype_name(*residual) + " but Y is " + dtype_name(y));
  return y;
}

DType int8_infer_types(const InferContext& ctx) {
  linear::epilogue_activation(ctx);
  for (size_t i : {0, 1, 2, 3})
    if (!ctx.has_input(i)) ctx.invalid("X, x_scale, W and w_scale are required");
  const DType xt = ctx.dtype(0);
  if (xt != DType::kF32 && xt != DType::kF16) ctx.unsupported(std::string("X is ") + dtype_name(xt));
  if (ctx.dtype(2) != DType::kI8) ctx.unsupported(std::string("W is ") + dtype_name(ctx.dtype(2)) + " (int8)");
  for (size_t i : {1, 3})
    if (ctx.dtype(i) != DType::kF32) ctx.invalid("x_scale and w_scale must be float32");
  return int8_output_dtype(ctx, xt, ctx.has_input(4) ? std::optional<DType>(ctx.dtype(4)) : std::nullopt,
                           ctx.has_input(5) ? std::optional<DType>(ctx.dtype(5)) : std::nullopt);
}

std::optional<Int8Operand> int8_operand_if(const KernelContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return std::nullopt;
  return Int8Operand{ctx.input(i).dtype(), ctx.input(i).dims()};
}

Int8MatMulProblem int8_matmul_problem(const OpContextBase& ctx, const Int8Operand& x, const Int8Operand& x_scale,
                                      const Int8Operand& w, const Int8Operand& w_scale,
                                      const std::optional<Int8Operand>& bias,
                                      const std::optional<Int8Operand>& residual) {
  if (x.dtype != DType::kF32 && x.dtype != DType::kF16)
    ctx.unsupported(std::string("X is ") + dtype_name(x.dtype) + " (float32 or float16)");
  if (x_scale.dtype != DType::kF32 || w_scale.dtype != DType::kF32) ctx.invalid("x_scale and w_scale must be float32");
  if (w.dtype != DType::kI8) ctx.unsupported(std::string("W is ") + dtype_name(w.dtype) + " (int8)");
  if (x.dims.empty()) ctx.invalid("X must have rank >= 1");
  if (numel_of(x_scale.dims) != 1) ctx.invalid("x_scale must have one element, got " + dims_to_string(x_scale.dims));
  if (w.dims.size() != 2) ctx.invalid("W must be 2-D [N, K], got " + dims_to_string(w.dims));
  Int8MatMulProblem p;
  p.n = w.dims[0], p.k = w.dims[1];
  if (p.k == 0 || x.dims.back() != p.k)
    ctx.invalid("X " + dims_to_string(x.dims) + " does not end in W's K (W " + dims_to_string(w.dims) + ")");
  if (p.k > kInt8MaxK) ctx.unsupported("K = " + std::to_string(p.k) + " could overflow the int32 sum (at most " +
                                       std::to_string(kInt8MaxK) + ")");
  const int64_t ns = numel_of(w_scale.dims);
  if (w_scale.dims.size() > 1 || (ns != 1 && ns != p.n))
    ctx.invalid("w_scale " + dims_to_string(w_scale.dims) + " must have one or N = " + std::to_string(p.n) +
                " elements");
  p.per_channel = ns != 1;
  p.m = numel_of(x.dims) / p.k;
  p.out = x.dims;
  p.out.back() = p.n;
  p.y = int8_output_dtype(ctx, x.dtype, bias ? std::optional<DType>(bias->dtype) : std::nullopt,
                          residual ? std::optional<DType>(residual->dtype) : std::nullopt);
  if (bias && bias->dims != Dims{p.n})
    ctx.invalid("bias must be [" + std::to_string(p.n) + "], got " + dims_to_string(bias->dims));
  if (residual && residual->dims != p.out)
    ctx.invalid("residual must be " + dims_to_string(p.out) + ", got " + dims_to_string(residual->dims));
  return p;
}

namespace {

std::vector<ValueType> int8_matmul_infer(const InferContext& ctx) {
  const DType yt = int8_infer_types(ctx);
  const Shape* x = ctx.shape(0);
  const Shape* w = ctx.shape(2);
  if (w && w->size() != 2) ctx.invalid("W must be 2-D [N, K], got " + shape_to_string(*w));
  if (!x || !w) return {{yt, std::nullopt}};
  if (x->empty()) ctx.invalid("X must have rank >= 1");
  const Dim &xk = x->back(), &wk = (*w)[1];
  if (xk.known() && wk.known() && xk.value != wk.value)
    ctx.invalid("X " + shape_to_string(*x) + " does not end in W's K (W " + shape_to_string(*w) + ")");
  Shape out = *x;
  out.back() = (*w)[0];
  return {{yt, out}};
}

std::vector<Tensor> int8_matmul_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(2);
  const Tensor& ws = ctx.input(3);
  const std::optional<Int8Operand> bias_op = int8_operand_if(ctx, 4), res_op = int8_operand_if(ctx, 5);
  const Int8MatMulProblem p =
      int8_matmul_problem(ctx, {x.dtype(), x.dims()}, {ctx.input(1).dtype(), ctx.input(1).dims()},
                          {w.dtype(), w.dims()}, {ws.dtype(), ws.dims()}, bias_op, res_op);
  const linear::EpilogueActivation act = linear::epilogue_activation(ctx);
  const float sx = ctx.input(1).data<float>()[0];
  const float* sw = ws.data<float>();
  const std::vector<float> xf = linear::to_float_buffer(x);
  const std::vector<float> bf = bias_op ? linear::to_float_buffer(ctx.input(4)) : std::vector<float>();
  const std::vector<float> rf = res_op ? linear::to_float_buffer(ctx.input(5)) : std::vector<float>();
  const int8_t* wv = w.data<int8_t>();
  std::vector<float> yf(size_t(p.m * p.n));
  parallel_for(p.m, std::max<int64_t>(1, 65536 / std::max<int64_t>(p.n * p.k, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<int8_t> xq(size_t(p.k));
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t k = 0; k < p.k; ++k) xq[size_t(k)] = quantize_int8(xf[size_t(r * p.k + k)], sx);
      for (int64_t j = 0; j < p.n; ++j) {
        const int8_t* wr = wv + j * p.k;
        int32_t acc = 0;
        for (int64_t k = 0; k < p.k; ++k) acc += int32_t(xq[size_t(k)]) * int32_t(wr[k]);
        float v = dequantize_acc(acc, sx, sw[p.per_channel ? j : 0]);
        if (bias_op) v = add_rn(v, bf[size_t(j)]);
        v = linear::activate(v, act);
        if (res_op) v = add_rn(v, rf[size_t(r * p.n + j)]);
        yf[size_t(r * p.n + j)] = v;
      }
    }
  });
  Tensor y(p.y, p.out);
  linear::from_float_buffer(yf, y);
  return {y};
}

}  // namespace

void register_int8_matmul(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kInt8MatMulOp, .min_inputs = 4, .max_inputs = 6,
         .infer = int8_matmul_infer, .cpu = int8_matmul_cpu});
}

}  // namespace kiln::quant
