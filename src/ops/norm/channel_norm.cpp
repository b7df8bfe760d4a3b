// Per-channel normalizations of N x C x D1 x ... tensors:
//   InstanceNormalization: statistics per (n, c) over the spatial dims, scale/B per channel.
//   BatchNormalization: inference form with the running mean/var inputs, per channel.
//   GroupNormalization (opset 18): statistics per (n, group) over C/G channels x spatial,
//   scale/bias of shape [num_groups] (the opset 18-20 definition; opset 21 changed it to [C]).
#include "ops/norm/norm_common.h"
#include "ops/norm/norm_ops.h"

namespace kiln::norm {
namespace {

// Shared shape rule: output = X; X needs rank >= 2 when known; returns C when known.
Dim channel_dim(const InferContext& ctx) {
  const Shape* s = ctx.shape(0);
  if (!s) return Dim();
  if (s->size() < 2) ctx.invalid("X must have rank >= 2 (N x C x ...), got " + shape_to_string(*s));
  return (*s)[1];
}

void require_rank2(const KernelContext& ctx, const Tensor& x) {
  if (x.rank() < 2) ctx.invalid("X must have rank >= 2 (N x C x ...), got " + dims_to_string(x.dims()));
}

}  // namespace

std::vector<ValueType> instance_norm_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  require_same_dtype(ctx, 1);
  require_same_dtype(ctx, 2);
  Dim c = channel_dim(ctx);
  check_channel_param_shape(ctx, 1, c, "scale");
  check_channel_param_shape(ctx, 2, c, "B");
  return {ctx.type(0)};
}

std::vector<Tensor> instance_norm_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  require_rank2(ctx, x);
  int64_t n = x.dim(0), c = x.dim(1), spatial = x.numel() / std::max<int64_t>(n * c, 1);
  if (x.numel() == 0) spatial = 0;
  std::vector<double> scale = channel_param(ctx, 1, c, "scale");
  std::vector<double> bias = channel_param(ctx, 2, c, "B");
  double eps = ctx.attrs().get_float("epsilon", 1e-5f);
  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto affine = [&](int64_t blk, int64_t, double v) {
      size_t ch = size_t(blk % c);
      return v * scale[ch] + bias[ch];
    };
    normalize_blocks(x.data<T>(), y.data<T>(), n * c, spatial, eps, affine);
  });
  return {y};
}

std::vector<ValueType> batch_norm_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  bool training = ctx.opset() >= 14 && ctx.attrs().get_int("training_mode", 0) != 0;
  if (training) ctx.unsupported("training_mode=1 is not supported (inference only)");
  for (size_t i = 1; i < ctx.num_outputs(); ++i) {
    if (ctx.node.outputs[i].empty()) continue;
    if (ctx.opset() >= 14) ctx.invalid("outputs beyond Y exist only with training_mode=1");
    ctx.unsupported("training outputs (mean, var, saved_mean, saved_var) are not supported");
  }
  for (size_t i = 1; i < 5; ++i) {
    ctx.require_dtype(i, kFloatTypes);
    // Before opset 15 every input shares X's type; 15 lets scale/B and mean/var differ.
    if (ctx.opset() < 15) require_same_dtype(ctx, i);
  }
  if (ctx.opset() >= 15 && ctx.dtype(3) != ctx.dtype(4)) ctx.invalid("mean and var dtypes differ");
  if (ctx.opset() >= 15 && ctx.dtype(1) != ctx.dtype(2)) ctx.invalid("scale and B dtypes differ");
  Dim c = channel_dim(ctx);
  const char* names[] = {"", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i < 5; ++i) check_channel_param_shape(ctx, i, c, names[i]);
  std::vector<ValueType> out{ctx.type(0)};
  for (size_t i = 1; i < ctx.num_outputs(); ++i) out.push_back(ctx.type(0));  // omitted outputs
  return out;
}

std::vector<Tensor> batch_norm_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  require_rank2(ctx, x);
  if (ctx.opset() >= 14 && ctx.attrs().get_int("training_mode", 0) != 0)
    ctx.unsupported("training_mode=1 is not supported (inference only)");
  int64_t n = x.dim(0), c = x.dim(1);
  int64_t spatial = n * c == 0 ? 0 : x.numel() / (n * c);
  std::vector<double> scale = channel_param(ctx, 1, c, "scale");
  std::vector<double> bias = channel_param(ctx, 2, c, "B");
  std::vector<double> mean = channel_param(ctx, 3, c, "input_mean");
  std::vector<double> var = channel_param(ctx, 4, c, "input_var");
  double eps = ctx.attrs().get_float("epsilon", 1e-5f);
  // Fold into y = x * a + b per channel.
  std::vector<double> a(static_cast<size_t>(c)), b(static_cast<size_t>(c));
  for (size_t i = 0; i < size_t(c); ++i) {
    a[i] = scale[i] / std::sqrt(var[i] + eps);
    b[i] = bias[i] - mean[i] * a[i];
  }
  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    parallel_for(n * c, std::max<int64_t>(1, 16384 / std::max<int64_t>(spatial, 1)),
                 [&](int64_t b0, int64_t b1) {
                   for (int64_t blk = b0; blk < b1; ++blk) {
                     size_t ch = size_t(blk % c);
                     for (int64_t i = blk * spatial; i < (blk + 1) * spatial; ++i)
                       yp[i] = from_double<T>(to_double(xp[i]) * a[ch] + b[ch]);
                   }
                 });
  });
  std::vector<Tensor> out{y};
  for (size_t i = 1; i < ctx.num_outputs(); ++i) out.push_back(Tensor(x.dtype(), x.dims()));
  return out;
}

std::vector<ValueType> group_norm_infer(const InferContext& ctx) {
  if (ctx.opset() < 18) ctx.invalid("GroupNormalization needs opset >= 18");
  if (ctx.opset() >= 21) ctx.unsupported("GroupNormalization-21 (per-channel scale) is not supported");
  ctx.require_dtype(0, kFloatTypes);
  require_same_dtype(ctx, 1);
  require_same_dtype(ctx, 2);
  int64_t groups = ctx.attrs().get_int("num_groups");
  if (groups <= 0) ctx.invalid("num_groups must be positive");
  Dim c = channel_dim(ctx);
  if (c.known() && c.value % groups != 0)
    ctx.invalid("channels " + std::to_string(c.value) + " not divisible by num_groups " +
                std::to_string(groups));
  check_channel_param_shape(ctx, 1, Dim(groups), "scale");
  check_channel_param_shape(ctx, 2, Dim(groups), "bias");
  return {ctx.type(0)};
}

std::vector<Tensor> group_norm_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  require_rank2(ctx, x);
  int64_t groups = ctx.attrs().get_int("num_groups");
  int64_t n = x.dim(0), c = x.dim(1);
  if (groups <= 0 || c % groups != 0)
    ctx.invalid("channels " + std::to_string(c) + " not divisible by num_groups " +
                std::to_string(groups));
  std::vector<double> scale = channel_param(ctx, 1, groups, "scale");
  std::vector<double> bias = channel_param(ctx, 2, groups, "bias");
  double eps = ctx.attrs().get_float("epsilon", 1e-5f);
  int64_t len = n * groups == 0 ? 0 : x.numel() / (n * groups);
  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto affine = [&](int64_t blk, int64_t, double v) {
      size_t g = size_t(blk % groups);
      return v * scale[g] + bias[g];
    };
    normalize_blocks(x.data<T>(), y.data<T>(), n * groups, len, eps, affine);
  });
  return {y};
}

}  // namespace kiln::norm
