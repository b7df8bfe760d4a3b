// Im2ColTokens (im2col_tokens.h): shape inference and the CPU reference. The op only moves
// elements, so the reference copies them by size (every float type's zero is all-zero bits).
#include "ops/conv/im2col_tokens.h"

#include <cstdint>
#include <string>

#include "ops/conv/conv_ops.h"
#include "ops/op_util.h"

namespace kiln::conv {
namespace {

// U: an unsigned integer as wide as one element.
template <class U>
void gather(const U* x, U* y, int64_t batch, int64_t channels, const Axis& h, const Axis& v, bool tokens) {
  const int64_t taps = h.k * v.k;
  parallel_for(batch * h.out, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / h.out, oy = row % h.out;
      for (int64_t ox = 0; ox < v.out; ++ox) {
        U* yp = y + (row * v.out + ox) * taps * channels;
        for (int64_t i = 0; i < h.k; ++i)
          for (int64_t j = 0; j < v.k; ++j) {
            U* dst = yp + (i * v.k + j) * channels;
            const int64_t ih = oy * h.s - h.pb + i * h.d, iw = ox * v.s - v.pb + j * v.d;
            if (ih < 0 || ih >= h.in || iw < 0 || iw >= v.in) {
              for (int64_t c = 0; c < channels; ++c) dst[c] = 0;
            } else if (tokens) {
              const U* src = x + ((b * h.in + ih) * v.in + iw) * channels;
              for (int64_t c = 0; c < channels; ++c) dst[c] = src[c];
            } else {
              const U* src = x + (b * channels * h.in + ih) * v.in + iw;  // channel c at c·H·W
              for (int64_t c = 0; c < channels; ++c) dst[c] = src[c * h.in * v.in];
            }
          }
      }
    }
  });
}

std::vector<ValueType> infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  const Shape* x = ctx.shape(0);
  if (!x) ctx.invalid("X's rank must be known (3: tokens, 4: NCHW)");
  bool tokens = false;
  return {{ctx.dtype(0), im2col_tokens_shape(ctx, *x, nullptr, &tokens)}};
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  if (!dtype_is_float(X.dtype())) ctx.unsupported(std::string("dtype ") + dtype_name(X.dtype()));
  std::vector<Axis> axes;
  bool tokens = false;
  Tensor Y(X.dtype(), shape_dims(im2col_tokens_shape(ctx, shape_of(X.dims()), &axes, &tokens)));
  const int64_t channels = tokens ? X.dim(2) : X.dim(1);
  const auto run = [&](auto unit) {
    using U = decltype(unit);
    gather(static_cast<const U*>(X.raw()), static_cast<U*>(Y.raw()), X.dim(0), channels, axes[0], axes[1], tokens);
  };
  switch (dtype_size(X.dtype())) {
    case 2: run(uint16_t()); break;
    case 4: run(uint32_t()); break;
    case 8: run(uint64_t()); break;
    default: ctx.unsupported(std::string("dtype ") + dtype_name(X.dtype()));
  }
  return {Y};
}

}  // namespace

Shape im2col_tokens_shape(const OpContextBase& ctx, const Shape& x, std::vector<Axis>* axes, bool* tokens) {
  if (x.size() != 3 && x.size() != 4)
    ctx.invalid("X must be tokens [batch, height*width, channels] or an image [batch, channels, height, width], got " +
                shape_to_string(x));
  *tokens = x.size() == 3;
  if (!ctx.attrs().has("kernel_shape")) ctx.invalid("the kernel_shape attribute is required");
  const WindowAttrs win = read_window(ctx, 2, {}, false);
  Dim height, width, channels;
  if (*tokens) {
    if (!ctx.attrs().has("height") || !ctx.attrs().has("width"))
      ctx.invalid("tokens X needs the height and width attributes (the image the tokens form)");
    const int64_t h = ctx.attrs().get_int("height"), w = ctx.attrs().get_int("width");
    if (h < 1 || w < 1)
      ctx.invalid("height " + std::to_string(h) + " and width " + std::to_string(w) + " must be positive");
    if (x[1].known() && x[1].value != h * w)
      ctx.invalid("X " + shape_to_string(x) + " has " + std::to_string(x[1].value) + " tokens, but height x width is " +
                  std::to_string(h * w));
    height = Dim(h), width = Dim(w), channels = x[2];
  } else {
    if (ctx.attrs().has("height") || ctx.attrs().has("width"))
      ctx.invalid("height and width are for tokens X; an NCHW X " + shape_to_string(x) + " has its own");
    channels = x[1], height = x[2], width = x[3];
  }
  Dim rows;
  if (height.known() && width.known()) {
    const Axis h = forward_axis(ctx, win, 0, height.value, false), v = forward_axis(ctx, win, 1, width.value, false);
    rows = Dim(h.out * v.out);
    if (axes) *axes = {h, v};
  }
  const Dim row_len = channels.known() ? Dim(win.kernel[0] * win.kernel[1] * channels.value) : Dim();
  return {x[0], rows, row_len};
}

void register_im2col_tokens(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kIm2ColTokensOp, .min_inputs = 1, .max_inputs = 1, .infer = infer, .cpu = cpu});
}

}  // namespace kiln::conv
