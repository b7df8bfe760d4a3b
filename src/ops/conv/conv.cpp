// ONNX Conv (opsets 11-20 share one definition): shape inference and the CPU kernel.
#include <optional>

#include "ops/conv/conv_kernels.h"
#include "ops/conv/conv_ops.h"
#include "ops/conv/float_buffer.h"

namespace kiln::conv {
namespace {

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

std::vector<ValueType> conv_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  const DType dt = ctx.dtype(0);
  for (size_t i = 1; i < 3; ++i)
    if (ctx.has_input(i) && ctx.dtype(i) != dt)
      ctx.invalid("input " + std::to_string(i) + " is " + dtype_name(ctx.dtype(i)) + ", X is " +
                  dtype_name(dt));
  const Shape* x = ctx.shape(0);
  const Shape* w = ctx.shape(1);
  const Shape* b = ctx.has_input(2) ? ctx.shape(2) : nullptr;
  if (!x && !w) return {{dt, std::nullopt}};
  // Fill an unknown-rank side with unknown dims so one checker serves both.
  Shape xs = x ? *x : Shape(w->size()), ws = w ? *w : Shape(x->size());
  return {{dt, conv_shape(ctx, xs, ws, b, nullptr)}};
}

std::vector<Tensor> conv_cpu(const KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Tensor* B = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const DType dt = X.dtype();
  if (!dtype_is_float(dt)) ctx.unsupported(std::string("dtype ") + dtype_name(dt));
  if (W.dtype() != dt || (B && B->dtype() != dt)) ctx.invalid("X, W and B dtypes differ");
  Shape bs = B ? shape_of(B->dims()) : Shape();
  std::vector<Axis> axes;
  Shape out = conv_shape(ctx, shape_of(X.dims()), shape_of(W.dims()), B ? &bs : nullptr, &axes);
  Tensor Y(dt, shape_dims(out));
  const Geom3 g = to_geom3(axes);
  const int64_t N = X.dim(0), C = X.dim(1), M = W.dim(0), group = ctx.attrs().get_int("group", 1);
  if (dt == DType::kF32) {
    conv_forward<float>(X.data<float>(), W.data<float>(), B ? B->data<float>() : nullptr,
                        Y.data<float>(), N, C, M, group, g);
  } else if (dt == DType::kF64) {
    conv_forward<double>(X.data<double>(), W.data<double>(), B ? B->data<double>() : nullptr,
                         Y.data<double>(), N, C, M, group, g);
  } else {
    std::vector<float> x = widen<float>(X), w = widen<float>(W), y(size_t(Y.numel()));
    std::vector<float> b = B ? widen<float>(*B) : std::vector<float>();
    conv_forward<float>(x.data(), w.data(), B ? b.data() : nullptr, y.data(), N, C, M, group, g);
    narrow_into(y, Y);
  }
  return {Y};
}

}  // namespace

void register_conv(OpRegistry& r) {
  r.add({.domain = "", .name = "Conv", .min_inputs = 2, .max_inputs = 3, .infer = conv_infer,
         .cpu = conv_cpu});
}

}  // namespace kiln::conv
