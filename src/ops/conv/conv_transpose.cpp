// ONNX ConvTranspose (opsets 11-20 share one definition): shape inference and CPU kernel.
// Output extent: s * (in - 1) + output_padding + (k - 1) * d + 1 - pad_begin - pad_end, where
// output_shape or SAME auto_pad fix the output and derive the pads instead.
#include "ops/conv/conv_like.h"
#include "ops/conv/conv_kernels.h"
#include "ops/conv/conv_ops.h"
#include "ops/conv/float_buffer.h"

namespace kiln::conv {
namespace {

int64_t floor_half(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

struct TransposeAttrs {
  WindowAttrs win;
  Dims output_padding;  // n
  Dims output_shape;    // n, or empty
};

TransposeAttrs read_transpose(const OpContextBase& ctx, int n, const Dims& wk) {
  TransposeAttrs t;
  t.win = read_window(ctx, n, wk, false);
  t.output_padding = ctx.attrs().get_ints("output_padding", Dims(size_t(n), 0));
  if (t.output_padding.size() != size_t(n))
    ctx.invalid("output_padding must have " + std::to_string(n) + " values");
  for (int64_t p : t.output_padding)
    if (p < 0) ctx.invalid("output_padding must be non-negative");
  if (ctx.attrs().has("output_shape")) {
    t.output_shape = ctx.attrs().get_ints("output_shape");
    // Accepted with or without the leading N, C dims, as exporters write both.
    if (t.output_shape.size() == size_t(n + 2))
      t.output_shape.erase(t.output_shape.begin(), t.output_shape.begin() + 2);
    if (t.output_shape.size() != size_t(n))
      ctx.invalid("output_shape must have " + std::to_string(n) + " values");
    for (int64_t v : t.output_shape)
      if (v < 1) ctx.invalid("output_shape values must be positive");
  }
  return t;
}

Axis transpose_axis(const OpContextBase& ctx, const TransposeAttrs& t, int i, int64_t in) {
  const WindowAttrs& w = t.win;
  Axis a;
  a.in = in;
  a.k = w.kernel[size_t(i)];
  a.s = w.strides[size_t(i)];
  a.d = w.dilations[size_t(i)];
  if (in < 1) ctx.invalid("spatial axis " + std::to_string(i) + " is empty");
  const int64_t full = a.s * (in - 1) + t.output_padding[size_t(i)] + a.extent();
  if (!t.output_shape.empty() || w.auto_pad == AutoPad::kSameUpper ||
      w.auto_pad == AutoPad::kSameLower) {
    a.out = t.output_shape.empty() ? in * a.s : t.output_shape[size_t(i)];
    // The spec splits odd padding toward the end for SAME_UPPER, toward the start otherwise
    // (floor division, so a negative total grows the output at the matching side).
    const int64_t total = full - a.out;
    a.pb = w.auto_pad == AutoPad::kSameUpper ? floor_half(total) : total - floor_half(total);
    a.pe = total - a.pb;
  } else {
    if (w.auto_pad == AutoPad::kNotSet) {
      a.pb = w.pads[size_t(i)];
      a.pe = w.pads[size_t(i + w.n)];
    }
    a.out = full - a.pb - a.pe;
    if (a.out < 1)
      ctx.invalid("pads leave no output on spatial axis " + std::to_string(i));
  }
  return a;
}

Shape transpose_shape(const OpContextBase& ctx, const Shape& x, const Shape& w, const Shape* b,
                      std::vector<Axis>* axes) {
  const int n = spatial_rank(ctx, int(x.size()), "X");
  if (w.size() != x.size())
    ctx.invalid("W " + shape_to_string(w) + " and X " + shape_to_string(x) + " differ in rank");
  const int64_t group = ctx.attrs().get_int("group", 1);
  if (group < 1) ctx.invalid("group must be positive, got " + std::to_string(group));
  if (x[1].known() && w[0].known() && x[1].value != w[0].value)
    ctx.invalid("X has " + std::to_string(x[1].value) + " channels but W " + shape_to_string(w) +
                " expects " + std::to_string(w[0].value));
  if (w[0].known() && w[0].value % group != 0)
    ctx.invalid("W's " + std::to_string(w[0].value) + " input channels do not divide into " +
                std::to_string(group) + " groups");
  Dim m = w[1].known() ? Dim(w[1].value * group) : Dim();
  if (b) {
    if (b->size() != 1) ctx.invalid("B must be 1-D, got " + shape_to_string(*b));
    if ((*b)[0].known() && m.known() && (*b)[0].value != m.value)
      ctx.invalid("B " + shape_to_string(*b) + " does not match the output channels " +
                  std::to_string(m.value));
  }
  Dims wk;
  for (int i = 0; i < n; ++i) wk.push_back(w[size_t(2 + i)].known() ? w[size_t(2 + i)].value : -1);
  for (int64_t k : wk)
    if (k < 0) wk.clear();
  for (int64_t k : wk)
    if (k < 1) ctx.invalid("W " + shape_to_string(w) + " has an empty kernel");
  TransposeAttrs t = read_transpose(ctx, n, wk);
  Shape out = {x[0], m};
  for (int i = 0; i < n; ++i) {
    const Dim& in = x[size_t(2 + i)];
    if (!t.win.kernel.empty() && in.known()) {
      Axis a = transpose_axis(ctx, t, i, in.value);
      out.push_back(a.out);
      if (axes) axes->push_back(a);
    } else {
      out.push_back(!t.output_shape.empty() ? Dim(t.output_shape[size_t(i)]) : Dim());
    }
  }
  return out;
}

std::vector<ValueType> conv_transpose_infer(const InferContext& ctx) {
  return infer_conv_like(ctx, transpose_shape, false);
}

std::vector<Tensor> conv_transpose_cpu(const KernelContext& ctx) {
  auto forward = [](const auto* x, const auto* w, const auto* b, auto* y, int64_t n, int64_t c,
                    int64_t m, int64_t group, const Geom3& g) { conv_transpose_forward(x, w, b, y, n, c, m, group, g); };
  return run_conv_like(ctx, transpose_shape, forward, false, false);
}

}  // namespace

void register_conv_transpose(OpRegistry& r) {
  r.add({.domain = "", .name = "ConvTranspose", .min_inputs = 2, .max_inputs = 3,
         .infer = conv_transpose_infer, .cpu = conv_transpose_cpu});
}

}  // namespace kiln::conv
