// kiln.Int8Conv's shape rule and CPU reference (semantics in int8_conv.h): Conv's shape rule on
// X and W, the input quantized per image, exact int32 window sums, then the float epilogue with
// the CUDA kernel's operations (int8_math.h; built with -ffp-contract=off).
#include "ops/quantize/int8_conv.h"

#include "ops/conv/conv_ops.h"
#include "ops/conv/window.h"
#include "ops/linear/epilogue.h"
#include "ops/linear/gemm_kernels.h"
#include "ops/linear/linear_ops.h"
#include "ops/op_util.h"
#include "ops/quantize/int8_math.h"
#include "ops/quantize/quantize_ops.h"

namespace kiln::quant {

Int8ConvProblem int8_conv_problem(const OpContextBase& ctx, const Int8Operand& x, const Int8Operand& x_scale,
                                  const Int8Operand& w, const Int8Operand& w_scale,
                                  const std::optional<Int8Operand>& bias, const std::optional<Int8Operand>& z) {
  if (x.dtype != DType::kF32 && x.dtype != DType::kF16)
    ctx.unsupported(std::string("X is ") + dtype_name(x.dtype) + " (float32 or float16)");
  if (x_scale.dtype != DType::kF32 || w_scale.dtype != DType::kF32) ctx.invalid("x_scale and w_scale must be float32");
  if (w.dtype != DType::kI8) ctx.unsupported(std::string("W is ") + dtype_name(w.dtype) + " (int8)");
  if (numel_of(x_scale.dims) != 1) ctx.invalid("x_scale must have one element, got " + dims_to_string(x_scale.dims));
  if (x.dims.size() != 4 || w.dims.size() != 4)
    ctx.unsupported("only 2-D convolutions (X and W of rank 4) are int8, got X " + dims_to_string(x.dims) + ", W " +
                    dims_to_string(w.dims));
  if (ctx.attrs().get_int("group", 1) != 1) ctx.unsupported("grouped convolutions are not int8");
  const Shape bs = bias ? shape_of(bias->dims) : Shape();
  std::vector<conv::Axis> axes;
  conv::conv_shape(ctx, shape_of(x.dims), shape_of(w.dims), bias ? &bs : nullptr, &axes);
  Int8ConvProblem p;
  p.n = x.dims[0], p.c = x.dims[1], p.h = x.dims[2], p.w = x.dims[3], p.o = w.dims[0];
  p.oh = axes[0].out, p.ow = axes[1].out;
  p.kh = axes[0].k, p.kw = axes[1].k, p.sh = axes[0].s, p.sw = axes[1].s;
  p.dh = axes[0].d, p.dw = axes[1].d, p.ph = axes[0].pb, p.pw = axes[1].pb;
  if (p.k() > kInt8MaxK)
    ctx.unsupported("C·kh·kw = " + std::to_string(p.k()) + " could overflow the int32 sum (at most " +
                    std::to_string(kInt8MaxK) + ")");
  const int64_t ns = numel_of(w_scale.dims);
  if (w_scale.dims.size() > 1 || (ns != 1 && ns != p.o))
    ctx.invalid("w_scale " + dims_to_string(w_scale.dims) + " must have one or O = " + std::to_string(p.o) +
                " elements");
  p.per_channel = ns != 1;
  p.y = int8_output_dtype(ctx, x.dtype, bias ? std::optional<DType>(bias->dtype) : std::nullopt,
                          z ? std::optional<DType>(z->dtype) : std::nullopt);
  if (z && z->dims != p.out()) ctx.invalid("Z must be " + dims_to_string(p.out()) + ", got " + dims_to_string(z->dims));
  return p;
}

namespace {

std::vector<ValueType> int8_conv_infer(const InferContext& ctx) {
  const DType yt = int8_infer_types(ctx);
  const Shape* x = ctx.shape(0);
  const Shape* w = ctx.shape(2);
  if (!x || !w) return {{yt, std::nullopt}};
  if (x->size() != 4 || w->size() != 4) ctx.unsupported("only 2-D convolutions are int8");
  return {{yt, conv::conv_shape(ctx, *x, *w, ctx.has_input(4) ? ctx.shape(4) : nullptr, nullptr)}};
}

std::vector<Tensor> int8_conv_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(2);
  const Tensor& ws = ctx.input(3);
  const std::optional<Int8Operand> bias_op = int8_operand_if(ctx, 4), z_op = int8_operand_if(ctx, 5);
  const Int8ConvProblem p = int8_conv_problem(ctx, {x.dtype(), x.dims()}, {ctx.input(1).dtype(), ctx.input(1).dims()},
                                              {w.dtype(), w.dims()}, {ws.dtype(), ws.dims()}, bias_op, z_op);
  const linear::EpilogueActivation act = linear::epilogue_activation(ctx);
  const float sx = ctx.input(1).data<float>()[0];
  const float* sw = ws.data<float>();
  const std::vector<float> xf = linear::to_float_buffer(x);
  const std::vector<float> bf = bias_op ? linear::to_float_buffer(ctx.input(4)) : std::vector<float>();
  const std::vector<float> zf = z_op ? linear::to_float_buffer(ctx.input(5)) : std::vector<float>();
  const int8_t* wv = w.data<int8_t>();
  std::vector<int8_t> xq(xf.size());
  for (size_t i = 0; i < xf.size(); ++i) xq[i] = quantize_int8(xf[i], sx);
  std::vector<float> yf(size_t(numel_of(p.out())));
  parallel_for(p.n * p.o, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / p.o, o = r % p.o;
      const int8_t* xn = xq.data() + n * p.c * p.h * p.w;
      for (int64_t oy = 0; oy < p.oh; ++oy)
        for (int64_t ox = 0; ox < p.ow; ++ox) {
          int32_t acc = 0;
          for (int64_t c = 0; c < p.c; ++c)
            for (int64_t i = 0; i < p.kh; ++i) {
              const int64_t iy = oy * p.sh - p.ph + i * p.dh;
              if (iy < 0 || iy >= p.h) continue;
              for (int64_t j = 0; j < p.kw; ++j) {
                const int64_t ix = ox * p.sw - p.pw + j * p.dw;
                if (ix < 0 || ix >= p.w) continue;
                acc += int32_t(xn[(c * p.h + iy) * p.w + ix]) * int32_t(wv[((o * p.c + c) * p.kh + i) * p.kw + j]);
              }
            }
          const int64_t at = r * p.p() + oy * p.ow + ox;
          float v = dequantize_acc(acc, sx, sw[p.per_channel ? o : 0]);
          if (bias_op) v = add_rn(v, bf[size_t(o)]);
          if (z_op) v = add_rn(v, zf[size_t(at)]);
          yf[size_t(at)] = linear::activate(v, act);
        }
    }
  });
  Tensor y(p.y, p.out());
  linear::from_float_buffer(yf, y);
  return {y};
}

}  // namespace

void register_int8_conv(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kInt8ConvOp, .min_inputs = 4, .max_inputs = 6, .infer = int8_conv_infer,
         .cpu = int8_conv_cpu});
}

}  // namespace kiln::quant
