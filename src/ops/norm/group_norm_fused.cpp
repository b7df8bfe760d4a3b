// kiln.GroupNorm (group_norm_fused.h): shape inference and the CPU reference.
#include "ops/norm/group_norm_fused.h"

#include <string>
#include <vector>

#include "ops/linear/epilogue.h"
#include "ops/linear/linear_ops.h"
#include "ops/norm/norm_common.h"
#include "ops/registry.h"

namespace kiln::norm {
namespace {

int64_t num_groups(const OpContextBase& ctx) {
  const int64_t g = ctx.attrs().get_int("num_groups", 0);
  if (g <= 0) ctx.invalid("num_groups must be positive, got " + std::to_string(g));
  return g;
}

std::vector<ValueType> infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  linear::epilogue_activation(ctx);
  const int64_t groups = num_groups(ctx);
  for (size_t i = 1; i < 3; ++i) require_same_dtype(ctx, i);
  const Shape* x = ctx.shape(0);
  Dim c;
  if (x) {
    if (x->size() < 2) ctx.invalid("X must have rank >= 2 (N x C x ...), got " + shape_to_string(*x));
    c = (*x)[1];
    if (c.known() && c.value % groups != 0)
      ctx.invalid("channels " + std::to_string(c.value) + " not divisible by num_groups " + std::to_string(groups));
  }
  check_channel_param_shape(ctx, 1, c, "scale");
  check_channel_param_shape(ctx, 2, c, "B");
  if (ctx.has_input(3)) {
    require_same_dtype(ctx, 3);
    const Shape* z = ctx.shape(3);
    bool conflict = x && z && z->size() != x->size();
    for (size_t i = 0; x && z && !conflict && i < x->size(); ++i) conflict = dims_conflict((*z)[i], (*x)[i]);
    if (conflict) ctx.invalid("Z " + shape_to_string(*z) + " must have X's shape " + shape_to_string(*x));
  }
  return {ctx.type(0)};
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const linear::EpilogueActivation act = linear::epilogue_activation(ctx);
  const int64_t groups = num_groups(ctx);
  if (x.rank() < 2) ctx.invalid("X must have rank >= 2 (N x C x ...), got " + dims_to_string(x.dims()));
  const int64_t n = x.dim(0), c = x.dim(1);
  if (c % groups != 0)
    ctx.invalid("channels " + std::to_string(c) + " not divisible by num_groups " + std::to_string(groups));
  const std::vector<double> scale = channel_param(ctx, 1, c, "scale");
  const std::vector<double> bias = channel_param(ctx, 2, c, "B");
  const Tensor* z = ctx.has_input(3) ? &ctx.input(3) : nullptr;
  if (z && (z->dims() != x.dims() || z->dtype() != x.dtype()))
    ctx.invalid("Z " + dims_to_string(z->dims()) + " must have X's shape " + dims_to_string(x.dims()) + " and type");
  const std::vector<double> zd = z ? tensor_doubles(*z) : std::vector<double>();
  const int64_t planes = n * groups, len = planes == 0 ? 0 : x.numel() / planes;
  const int64_t spatial = c == 0 ? 0 : x.numel() / std::max<int64_t>(n * c, 1);
  const double eps = ctx.attrs().get_float("epsilon", 1e-5f);
  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto affine = [&](int64_t plane, int64_t i, double v) {
      const size_t ch = size_t((plane % groups) * (c / groups) + i / spatial);
      double out = v * scale[ch] + bias[ch];
      if (z) out += zd[size_t(plane * len + i)];
      return linear::activate(out, act);
    };
    normalize_blocks(x.data<T>(), y.data<T>(), planes, len, eps, affine);
  });
  return {y};
}

}  // namespace

void register_group_norm(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kGroupNormOp, .min_inputs = 3, .max_inputs = 4, .infer = infer, .cpu = cpu});
}

}  // namespace kiln::norm
