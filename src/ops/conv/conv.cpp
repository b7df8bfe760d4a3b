// ONNX Conv (opsets 11-20 share one definition): shape inference and the CPU kernel.
#include <optional>

#include "ops/conv/conv_like.h"
#include "ops/conv/conv_kernels.h"
#include "ops/conv/conv_ops.h"
#include "ops/conv/float_buffer.h"

namespace kiln::conv {

// Checks X/W/B shapes (as far as known) and returns the output shape. `axes` receives the
// resolved geometry when every needed dim is known.
Shape conv_shape(const OpContextBase& ctx, const Shape& x, const Shape& w, const Shape* b,
                 std::vector<Axis>* axes) {
  const int n = spatial_rank(ctx, int(x.size()), "X");
  if (w.size() != x.size())
    ctx.invalid("W " + shape_to_string(w) + " and X " + shape_to_string(x) + " differ in rank");
  const int64_t group = ctx.attrs().get_int("group", 1);
  if (group < 1) ctx.invalid("group must be positive, got " + std::to_string(group));
  if (x[1].known() && w[1].known() && x[1].value != w[1].value * group)
    ctx.invalid("X has " + std::to_string(x[1].value) + " channels but W " + shape_to_string(w) +
                " with group " + std::to_string(group) + " expects " +
                std::to_string(w[1].value * group));
  if (w[0].known() && w[0].value % group != 0)
    ctx.invalid("W's " + std::to_string(w[0].value) + " output channels do not divide into " +
                std::to_string(group) + " groups");
  if (b) {
    if (b->size() != 1) ctx.invalid("B must be 1-D, got " + shape_to_string(*b));
    if ((*b)[0].known() && w[0].known() && (*b)[0].value != w[0].value)
      ctx.invalid("B " + shape_to_string(*b) + " does not match W's output channels " +
                  std::to_string(w[0].value));
  }
  Dims wk;
  for (int i = 0; i < n; ++i) wk.push_back(w[size_t(2 + i)].known() ? w[size_t(2 + i)].value : -1);
  for (int64_t k : wk)
    if (k < 0) wk.clear();
  for (int64_t k : wk)
    if (k < 1) ctx.invalid("W " + shape_to_string(w) + " has an empty kernel");
  WindowAttrs win = read_window(ctx, n, wk, false);
  Shape out = {x[0], w[0]};
  bool known = !win.kernel.empty();
  for (int i = 0; i < n; ++i) {
    out.push_back(forward_dim(ctx, win, i, x[size_t(2 + i)], false));
    known = known && x[size_t(2 + i)].known();
  }
  if (axes && known)
    for (int i = 0; i < n; ++i) axes->push_back(forward_axis(ctx, win, i, x[size_t(2 + i)].value, false));
  return out;
}

namespace {

std::vector<ValueType> conv_infer(const InferContext& ctx) {
  return infer_conv_like(ctx, conv_shape, true);
}

std::vector<Tensor> conv_cpu(const KernelContext& ctx) {
  auto forward = [](const auto* x, const auto* w, const auto* b, auto* y, int64_t n, int64_t c,
                    int64_t m, int64_t group, const Geom3& g) { conv_forward(x, w, b, y, n, c, m, group, g); };
  return run_conv_like(ctx, conv_shape, forward, true, true);
}

}  // namespace

void register_conv(OpRegistry& r) {
  r.add({.domain = "", .name = "Conv", .min_inputs = 2, .max_inputs = 3, .infer = conv_infer,
         .cpu = conv_cpu});
}

}  // namespace kiln::conv
