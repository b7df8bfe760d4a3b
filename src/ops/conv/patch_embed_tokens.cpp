// PatchEmbedTokens (patch_embed_tokens.h): type and shape inference and the CPU reference.
#include "ops/conv/patch_embed_tokens.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <string>

#include "ops/conv/conv_ops.h"
#include "ops/conv/float_buffer.h"
#include "ops/norm/norm_ops.h"
#include "ops/op_util.h"

namespace kiln::conv {
namespace {

// Y's dtype: B's, else W's; X is W's type or float32, B W's or float32 with float16 W.
DType output_dtype(const OpContextBase& ctx, DType x, DType w, const DType* b) {
  if (w != DType::kF32 && w != DType::kF16) ctx.invalid(std::string("W is ") + dtype_name(w) + ", not float32 or float16");
  if (x != w && x != DType::kF32)
    ctx.invalid(std::string("X is ") + dtype_name(x) + ", W is " + dtype_name(w) + " (X must be W's type or float32)");
  if (!b || *b == w) return w;
  if (w == DType::kF16 && *b == DType::kF32) return *b;
  ctx.invalid(std::string("B is ") + dtype_name(*b) + ", W is " + dtype_name(w) +
              " (B must be W's type, or float32 with float16 W)");
}

std::vector<ValueType> infer(const InferContext& ctx) {
  DType b = DType::kF32;
  if (ctx.has_input(2)) b = ctx.dtype(2);
  const ValueType y = patch_embed_tokens_type(ctx, ctx.dtype(0), ctx.dtype(1), ctx.has_input(2) ? &b : nullptr,
                                              ctx.shape(0), ctx.shape(1), ctx.has_input(2) ? ctx.shape(2) : nullptr,
                                              nullptr);
  patch_embed_norm_infer(ctx, y.dtype);
  return {y};
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const Tensor &X = ctx.input(0), &W = ctx.input(1);
  const Tensor* B = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const DType bt = B ? B->dtype() : DType::kF32;
  std::vector<Axis> axes;
  const Shape xs = shape_of(X.dims()), ws = shape_of(W.dims()), bs = B ? shape_of(B->dims()) : Shape();
  const ValueType yt =
      patch_embed_tokens_type(ctx, X.dtype(), W.dtype(), B ? &bt : nullptr, &xs, &ws, B ? &bs : nullptr, &axes);
  Tensor Y(yt.dtype, shape_dims(*yt.shape));
  const Axis &h = axes[0], &v = axes[1];
  const int64_t batch = X.dim(0), C = X.dim(1), Co = W.dim(1), P = h.out * v.out;
  std::vector<double> x = widen<double>(X), w = widen<double>(W), bias = B ? widen<double>(*B) : std::vector<double>();
  if (X.dtype() != W.dtype())  // float32 X read by a float16 op: rounded as a Cast would
    for (double& e : x) e = to_double(from_double<f16>(e));
  std::vector<double> y(size_t(batch * P * Co));
  parallel_for(batch * h.out, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(Co));
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / h.out, oy = row % h.out;
      for (int64_t ox = 0; ox < v.out; ++ox) {
        for (int64_t o = 0; o < Co; ++o) acc[size_t(o)] = B ? bias[size_t(o)] : 0.0;
        for (int64_t i = 0; i < h.k; ++i) {
          const int64_t ih = oy * h.s - h.pb + i * h.d;
          if (ih < 0 || ih >= h.in) continue;
          for (int64_t j = 0; j < v.k; ++j) {
            const int64_t iw = ox * v.s - v.pb + j * v.d;
            if (iw < 0 || iw >= v.in) continue;
            for (int64_t c = 0; c < C; ++c) {
              const double xv = x[size_t(((b * C + c) * h.in + ih) * v.in + iw)];
              const double* wr = &w[size_t(((i * v.k + j) * C + c) * Co)];
              for (int64_t o = 0; o < Co; ++o) acc[size_t(o)] += xv * wr[o];
            }
          }
        }
        std::copy(acc.begin(), acc.end(), y.begin() + (row * v.out + ox) * Co);
      }
    }
  });
  narrow_into(y, Y);
  return {patch_embed_norm_epilogue(ctx, Y, ws)};
}

}  // namespace

ValueType patch_embed_tokens_type(const OpContextBase& ctx, DType x, DType w, const DType* b, const Shape* xs,
                                  const Shape* ws, const Shape* bs, std::vector<Axis>* axes) {
  const DType y = output_dtype(ctx, x, w, b);
  if (xs && xs->size() != 4) ctx.invalid("X must be an image [batch, channels, height, width], got " + shape_to_string(*xs));
  if (ws && ws->size() != 2) ctx.invalid("W must be [kh*kw*channels, out_channels], got " + shape_to_string(*ws));
  if (bs && bs->size() != 1) ctx.invalid("B must be [out_channels], got " + shape_to_string(*bs));
  if (!ctx.attrs().has("kernel_shape")) ctx.invalid("the kernel_shape attribute is required");
  const WindowAttrs win = read_window(ctx, 2, {}, false);
  const int64_t taps = win.kernel[0] * win.kernel[1];
  if (xs && ws && (*xs)[1].known() && (*ws)[0].known() && (*ws)[0].value != taps * (*xs)[1].value)
    ctx.invalid("W " + shape_to_string(*ws) + " must have kh*kw*channels = " + std::to_string(taps * (*xs)[1].value) +
                " rows for X " + shape_to_string(*xs));
  if (ws && bs && (*ws)[1].known() && (*bs)[0].known() && (*ws)[1].value != (*bs)[0].value)
    ctx.invalid("B " + shape_to_string(*bs) + " does not match W's out_channels in " + shape_to_string(*ws));
  if (!xs) return {y, std::nullopt};
  Dim rows;
  if ((*xs)[2].known() && (*xs)[3].known()) {
    const Axis h = forward_axis(ctx, win, 0, (*xs)[2].value, false), v = forward_axis(ctx, win, 1, (*xs)[3].value, false);
    rows = Dim(h.out * v.out);
    if (axes) *axes = {h, v};
  }
  return {y, Shape{(*xs)[0], rows, ws ? (*ws)[1] : Dim()}};
}

void patch_embed_norm_check(const OpContextBase& ctx, DType y, const Shape* ws, const ValueType& scale,
                            const ValueType* lb) {
  for (const auto& [what, t] : {std::pair{"Scale", &scale}, std::pair{"LB", lb}}) {
    if (!t) continue;
    if (t->dtype != y)
      ctx.invalid(std::string(what) + " is " + dtype_name(t->dtype) + ", Y is " + dtype_name(y) + " (they must match)");
    if (!t->shape) continue;
    const Shape& s = *t->shape;
    if (s.size() != 1 || (ws && (*ws)[1].known() && s[0].known() && s[0].value != (*ws)[1].value))
      ctx.invalid(std::string(what) + " " + shape_to_string(s) + " must be [out_channels]" +
                  (ws ? " of W " + shape_to_string(*ws) : std::string()));
  }
}

void patch_embed_norm_infer(const InferContext& ctx, DType y) {
  if (ctx.has_input(3)) patch_embed_norm_check(ctx, y, ctx.shape(1), ctx.type(3), ctx.has_input(4) ? &ctx.type(4) : nullptr);
  else if (ctx.has_input(4)) ctx.invalid("LB (input 4) needs Scale (input 3)");
}

Tensor patch_embed_norm_epilogue(const KernelContext& ctx, const Tensor& y, const Shape& ws) {
  if (!ctx.has_input(3)) {
    if (ctx.has_input(4)) ctx.invalid("LB (input 4) needs Scale (input 3)");
    return y;
  }
  const ValueType st{ctx.input(3).dtype(), shape_of(ctx.input(3).dims())};
  std::optional<ValueType> lt;
  if (ctx.has_input(4)) lt = ValueType{ctx.input(4).dtype(), shape_of(ctx.input(4).dims())};
  patch_embed_norm_check(ctx, y.dtype(), &ws, st, lt ? &*lt : nullptr);
  const std::vector<double> scale = widen<double>(ctx.input(3));
  const std::vector<double> lb = ctx.has_input(4) ? widen<double>(ctx.input(4)) : std::vector<double>();
  return norm::layer_norm_last_axis(ctx, y, scale, lb, ctx.attrs().get_float("epsilon", 1e-5f), y.dtype());
}

void register_patch_embed_tokens(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kPatchEmbedTokensOp, .min_inputs = 2, .max_inputs = 5, .infer = infer,
         .cpu = cpu});
}

}  // namespace kiln::conv
