// DepthwiseConvNHWC (depthwise_nhwc.h): shape inference and the CPU reference kernel. The kernel
// accumulates each output as Conv's depthwise loop does (bias first, then taps row by row in
// the compute type), so the fused graph gives Conv's numbers on the CPU; the activation, when
// fused, is applied in that compute type before the one rounding of f16/bf16 outputs.
#include "ops/conv/depthwise_nhwc.h"

#include <string>

#include "ops/conv/conv_ops.h"
#include "ops/conv/float_buffer.h"
#include "ops/linear/linear_ops.h"
#include "ops/op_util.h"

namespace kiln::conv {
namespace {

template <class T>
void forward(const T* x, const T* w, const T* bias, T* y, int64_t batch, int64_t channels, const Axis& h,
             const Axis& v, linear::EpilogueActivation act) {
  // Weights as [tap][channel], so the innermost loop runs over contiguous channels.
  const int64_t taps = h.k * v.k;
  std::vector<T> wt(size_t(taps * channels));
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t t = 0; t < taps; ++t) wt[size_t(t * channels + c)] = w[c * taps + t];
  parallel_for(batch * h.out, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / h.out, oh = row % h.out;
      const T* xb = x + b * h.in * v.in * channels;
      for (int64_t ow = 0; ow < v.out; ++ow) {
        T* yp = y + (row * v.out + ow) * channels;
        for (int64_t c = 0; c < channels; ++c) yp[c] = bias ? bias[c] : T(0);
        for (int64_t i = 0; i < h.k; ++i) {
          const int64_t ih = oh * h.s - h.pb + i * h.d;
          if (ih < 0 || ih >= h.in) continue;
          for (int64_t j = 0; j < v.k; ++j) {
            const int64_t iw = ow * v.s - v.pb + j * v.d;
            if (iw < 0 || iw >= v.in) continue;
            const T* xp = xb + (ih * v.in + iw) * channels;
            const T* wp = wt.data() + (i * v.k + j) * channels;
            for (int64_t c = 0; c < channels; ++c) yp[c] += wp[c] * xp[c];
          }
        }
        if (act != linear::EpilogueActivation::kNone)
          for (int64_t c = 0; c < channels; ++c) yp[c] = linear::activate(yp[c], act);
      }
    }
  });
}

std::vector<ValueType> infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  const DType dt = ctx.dtype(0);
  for (size_t i = 1; i < 3; ++i)
    if (ctx.has_input(i) && ctx.dtype(i) != dt)
      ctx.invalid("input " + std::to_string(i) + " is " + dtype_name(ctx.dtype(i)) + ", X is " + dtype_name(dt));
  const Shape* x = ctx.shape(0);
  const Shape* w = ctx.shape(1);
  const Shape* b = ctx.has_input(2) ? ctx.shape(2) : nullptr;
  const Shape xs = x ? *x : Shape(3), ws = w ? *w : Shape(4);
  linear::epilogue_activation(ctx);
  return {{dt, depthwise_nhwc_shape(ctx, xs, ws, b, nullptr)}};
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Tensor* B = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const DType dt = X.dtype();
  if (!dtype_is_float(dt)) ctx.unsupported(std::string("dtype ") + dtype_name(dt));
  if (W.dtype() != dt || (B && B->dtype() != dt)) ctx.invalid("X, W and B dtypes differ");
  const Shape bs = B ? shape_of(B->dims()) : Shape();
  std::vector<Axis> axes;
  Tensor Y(dt, shape_dims(depthwise_nhwc_shape(ctx, shape_of(X.dims()), shape_of(W.dims()), B ? &bs : nullptr, &axes)));
  const int64_t batch = X.dim(0), channels = X.dim(2);
  const linear::EpilogueActivation act = linear::epilogue_activation(ctx);
  if (dt == DType::kF32) {
    forward(X.data<float>(), W.data<float>(), B ? B->data<float>() : nullptr, Y.data<float>(), batch, channels,
            axes[0], axes[1], act);
  } else if (dt == DType::kF64) {
    forward(X.data<double>(), W.data<double>(), B ? B->data<double>() : nullptr, Y.data<double>(), batch,
            channels, axes[0], axes[1], act);
  } else {  // f16/bf16: float math, one rounding per output (as Conv)
    std::vector<float> x = widen<float>(X), w = widen<float>(W), y(size_t(Y.numel()));
    std::vector<float> bias = B ? widen<float>(*B) : std::vector<float>();
    forward(x.data(), w.data(), B ? bias.data() : nullptr, y.data(), batch, channels, axes[0], axes[1], act);
    narrow_into(y, Y);
  }
  return {Y};
}

}  // namespace

Shape depthwise_nhwc_shape(const OpContextBase& ctx, const Shape& x, const Shape& w, const Shape* b,
                           std::vector<Axis>* axes) {
  if (x.size() != 3) ctx.invalid("X must be [batch, tokens, channels], got " + shape_to_string(x));
  if (w.size() != 4) ctx.invalid("W must be [channels, 1, kh, kw], got " + shape_to_string(w));
  if (!ctx.attrs().has("height") || !ctx.attrs().has("width"))
    ctx.invalid("the height and width attributes (the image the tokens form) are required");
  const int64_t height = ctx.attrs().get_int("height"), width = ctx.attrs().get_int("width");
  if (height < 1 || width < 1)
    ctx.invalid("height " + std::to_string(height) + " and width " + std::to_string(width) + " must be positive");
  if (x[1].known() && x[1].value != height * width)
    ctx.invalid("X " + shape_to_string(x) + " has " + std::to_string(x[1].value) + " tokens, but height x width is " +
                std::to_string(height * width));
  if (w[1].known() && w[1].value != 1)
    ctx.invalid("W " + shape_to_string(w) + " must have one input channel per output channel (depthwise)");
  if (x[2].known() && w[0].known() && x[2].value != w[0].value)
    ctx.invalid("X has " + std::to_string(x[2].value) + " channels but W " + shape_to_string(w) + " has " +
                std::to_string(w[0].value));
  const Dim channels = x[2].known() ? x[2] : w[0];
  if (b) {
    if (b->size() != 1) ctx.invalid("B must be 1-D, got " + shape_to_string(*b));
    if ((*b)[0].known() && channels.known() && (*b)[0].value != channels.value)
      ctx.invalid("B " + shape_to_string(*b) + " does not match the " + dim_to_string(channels) + " channels");
  }
  Dims kernel;
  if (w[2].known() && w[3].known()) kernel = {w[2].value, w[3].value};
  for (int64_t k : kernel)
    if (k < 1) ctx.invalid("W " + shape_to_string(w) + " has an empty kernel");
  const WindowAttrs win = read_window(ctx, 2, kernel, false);
  Dim tokens;
  if (!win.kernel.empty()) {
    const Axis h = forward_axis(ctx, win, 0, height, false), v = forward_axis(ctx, win, 1, width, false);
    tokens = Dim(h.out * v.out);
    if (axes) *axes = {h, v};
  }
  return {x[0], tokens, channels};
}

void register_depthwise_nhwc(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kDepthwiseNhwcOp, .min_inputs = 2, .max_inputs = 3, .infer = infer,
         .cpu = cpu});
}

}  // namespace kiln::conv
