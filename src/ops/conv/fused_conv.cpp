// kiln.FusedConv (fused_conv.h): shape inference and the CPU reference.
#include "ops/conv/fused_conv.h"

#include <type_traits>

#include "ops/conv/conv_kernels.h"
#include "ops/conv/conv_like.h"
#include "ops/conv/conv_ops.h"
#include "ops/linear/linear_ops.h"

namespace kiln::conv {
namespace {

// Equal rank and no two known dims that differ.
bool may_equal(const Shape& a, const Shape& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].known() && b[i].known() && a[i].value != b[i].value) return false;
  return true;
}

std::vector<ValueType> infer(const InferContext& ctx) {
  linear::epilogue_activation(ctx);
  if (!ctx.has_input(2)) ctx.invalid("B is required (zeros when the convolution has no bias)");
  std::vector<ValueType> y = infer_conv_like(ctx, conv_shape, true);
  if (ctx.has_input(3)) {
    if (ctx.dtype(3) != y[0].dtype)
      ctx.invalid(std::string("Z is ") + dtype_name(ctx.dtype(3)) + ", Y is " + dtype_name(y[0].dtype));
    const Shape* z = ctx.shape(3);
    if (z && y[0].shape && !may_equal(*z, *y[0].shape))
      ctx.invalid("Z " + shape_to_string(*z) + " must have Y's shape " + shape_to_string(*y[0].shape));
  }
  return y;
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const linear::EpilogueActivation act = linear::epilogue_activation(ctx);
  if (!ctx.has_input(2)) ctx.invalid("B is required (zeros when the convolution has no bias)");
  const Tensor* Z = ctx.has_input(3) ? &ctx.input(3) : nullptr;
  auto forward = [](const auto* x, const auto* w, const auto* b, auto* y, int64_t n, int64_t c, int64_t m,
                    int64_t group, const Geom3& g) { conv_forward(x, w, b, y, n, c, m, group, g); };
  auto finish = [&](auto* y, int64_t n) {
    using C = std::remove_pointer_t<decltype(y)>;
    if (Z && Z->numel() != n)
      ctx.invalid("Z " + dims_to_string(Z->dims()) + " does not have Y's " + std::to_string(n) + " elements");
    const std::vector<C> z = Z ? widen<C>(*Z) : std::vector<C>();
    for (int64_t i = 0; i < n; ++i) y[i] = linear::activate(Z ? C(y[i] + z[size_t(i)]) : y[i], act);
  };
  std::vector<Tensor> y = run_conv_like(ctx, conv_shape, forward, true, true, finish);
  if (Z && Z->dims() != y[0].dims())
    ctx.invalid("Z " + dims_to_string(Z->dims()) + " must have Y's shape " + dims_to_string(y[0].dims()));
  if (Z && Z->dtype() != y[0].dtype())
    ctx.invalid(std::string("Z is ") + dtype_name(Z->dtype()) + ", Y is " + dtype_name(y[0].dtype()));
  return y;
}

}  // namespace

void register_fused_conv(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kFusedConvOp, .min_inputs = 3, .max_inputs = 4, .infer = infer, .cpu = cpu});
}

}  // namespace kiln::conv
