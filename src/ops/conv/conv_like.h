// Conv and ConvTranspose share their operand checks and dtype dispatch; only the output-shape
// rule (ShapeFn) and the forward kernel differ.
//   ShapeFn:  Shape(const OpContextBase&, const Shape& x, const Shape& w, const Shape* b,
//                   std::vector<Axis>* axes)
//   Forward:  void(const T* x, const T* w, const T* b, T* y, N, C, M, group, const Geom3&),
//             a generic lambda called with T = float or double.
// Conv (not ConvTranspose) also takes the mixed form of fp16 engines (convert_precision.h):
// float16 X and W with a float32 B, writing a float32 Y.
#pragma once
#include <optional>

#include "ops/conv/conv_kernels.h"
#include "ops/conv/conv_ops.h"
#include "ops/conv/float_buffer.h"
#include "ops/op_util.h"

namespace kiln::conv {

// Y's type: X's, or B's in the mixed form (when allowed); anything else is invalid.
inline DType conv_output_dtype(const OpContextBase& ctx, DType x, DType w, std::optional<DType> b, bool allow_mixed) {
  if (w != x) ctx.invalid(std::string("W is ") + dtype_name(w) + ", X is " + dtype_name(x));
  if (!b || *b == x) return x;
  if (allow_mixed && x == DType::kF16 && *b == DType::kF32) return *b;
  ctx.invalid(std::string("B is ") + dtype_name(*b) + ", X is " + dtype_name(x));
}

template <class ShapeFn>
std::vector<ValueType> infer_conv_like(const InferContext& ctx, ShapeFn shape_of_output, bool allow_mixed) {
  ctx.require_dtype(0, kFloatTypes);
  const DType dt = conv_output_dtype(ctx, ctx.dtype(0), ctx.dtype(1),
                                     ctx.has_input(2) ? std::optional<DType>(ctx.dtype(2)) : std::nullopt, allow_mixed);
  const Shape* x = ctx.shape(0);
  const Shape* w = ctx.shape(1);
  const Shape* b = ctx.has_input(2) ? ctx.shape(2) : nullptr;
  if (!x && !w) return {{dt, std::nullopt}};
  // Fill an unknown-rank side with unknown dims so one checker serves both.
  Shape xs = x ? *x : Shape(w->size()), ws = w ? *w : Shape(x->size());
  return {{dt, shape_of_output(ctx, xs, ws, b, nullptr)}};
}

// What runs on Y in the compute type before its one rounding: nothing, for the plain ops.
struct NoFinish {
  template <class C> void operator()(C*, int64_t) const {}
};

// out_channels_from_w: Conv's M is W's first dim; ConvTranspose's is Y's second. finish(y, n)
// sees the n outputs in the compute type (float or double) before they are stored.
template <class ShapeFn, class Forward, class Finish = NoFinish>
std::vector<Tensor> run_conv_like(const KernelContext& ctx, ShapeFn shape_of_output, Forward forward,
                                  bool out_channels_from_w, bool allow_mixed, Finish finish = {}) {
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Tensor* B = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (!dtype_is_float(X.dtype())) ctx.unsupported(std::string("dtype ") + dtype_name(X.dtype()));
  const DType dt = conv_output_dtype(ctx, X.dtype(), W.dtype(),
                                    B ? std::optional<DType>(B->dtype()) : std::nullopt, allow_mixed);
  Shape bs = B ? shape_of(B->dims()) : Shape();
  std::vector<Axis> axes;
  Shape out = shape_of_output(ctx, shape_of(X.dims()), shape_of(W.dims()), B ? &bs : nullptr, &axes);
  Tensor Y(dt, shape_dims(out));
  const Geom3 g = to_geom3(axes);
  const int64_t N = X.dim(0), C = X.dim(1), M = out_channels_from_w ? W.dim(0) : Y.dim(1);
  const int64_t group = ctx.attrs().get_int("group", 1);
  if (dt == DType::kF32 && X.dtype() == dt) {
    forward(X.data<float>(), W.data<float>(), B ? B->data<float>() : nullptr, Y.data<float>(), N, C,
            M, group, g);
    finish(Y.data<float>(), Y.numel());
  } else if (dt == DType::kF64) {
    forward(X.data<double>(), W.data<double>(), B ? B->data<double>() : nullptr, Y.data<double>(),
            N, C, M, group, g);
    finish(Y.data<double>(), Y.numel());
  } else {  // f16/bf16 (or mixed): compute in float, round once per output element into Y's type
    std::vector<float> x = widen<float>(X), w = widen<float>(W), y(static_cast<size_t>(Y.numel()));
    std::vector<float> b = B ? widen<float>(*B) : std::vector<float>();
    forward(x.data(), w.data(), B ? b.data() : nullptr, y.data(), N, C, M, group, g);
    finish(y.data(), Y.numel());
    narrow_into(y, Y);
  }
  return {Y};
}

}  // namespace kiln::conv
