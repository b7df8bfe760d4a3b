// Expand (broadcast to a shape) and Tile (repeat); both are strided copies with zero strides.
#include "ops/tensor/tensor_groups.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::tensor_ops {
namespace {

std::vector<ValueType> expand_infer(const InferContext& ctx) {
  ctx.require_dtype(1, {DType::kI64});
  const Shape* in = ctx.shape(0);
  auto target = constant_ints(ctx, 1);
  if (!target) {
    auto n = known_length(ctx, 1);
    if (!in || !n) return {{ctx.dtype(0), std::nullopt}};
    return {{ctx.dtype(0), unknown_shape(std::max(in->size(), size_t(*n)))}};
  }
  for (int64_t v : *target)
    if (v < 0) ctx.invalid("shape value " + std::to_string(v) + " is negative");
  if (!in) return {{ctx.dtype(0), std::nullopt}};
  return {{ctx.dtype(0), broadcast_shapes(ctx, *in, shape_of(*target))}};
}

std::vector<Tensor> expand_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Dims target = kernel_ints(ctx, 1, "shape");
  for (int64_t v : target)
    if (v < 0) ctx.invalid("shape value " + std::to_string(v) + " is negative");
  Dims od = broadcast_dims(ctx, x.dims(), target);
  checked_numel(ctx, od);
  Tensor out(x.dtype(), od);
  strided_copy(dtype_size(x.dtype()), out.raw(), od, x.raw(), 0, broadcast_strides(x.dims(), od));
  return {out};
}

void check_repeats(const OpContextBase& ctx, const std::vector<int64_t>& reps, size_t rank) {
  if (reps.size() != rank)
    ctx.invalid("repeats has " + std::to_string(reps.size()) + " values for rank " + std::to_string(rank));
  for (int64_t v : reps)
    if (v < 0) ctx.invalid("repeats must be non-negative");
}

std::vector<ValueType> tile_infer(const InferContext& ctx) {
  ctx.require_dtype(1, {DType::kI64});
  const Shape* in = ctx.shape(0);
  if (!in) return {{ctx.dtype(0), std::nullopt}};
  auto reps = constant_ints(ctx, 1);
  if (!reps) return {{ctx.dtype(0), unknown_shape(in->size())}};
  check_repeats(ctx, *reps, in->size());
  Shape out = *in;
  for (size_t i = 0; i < out.size(); ++i) {
    if ((*reps)[i] == 1) continue;
    out[i] = out[i].known() || (*reps)[i] == 0 ? Dim((*reps)[i] * (out[i].known() ? out[i].value : 0))
                                               : Dim();
  }
  return {{ctx.dtype(0), out}};
}

std::vector<Tensor> tile_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> reps = kernel_ints(ctx, 1, "repeats");
  check_repeats(ctx, reps, size_t(x.rank()));
  // Output viewed as [r0, d0, r1, d1, ...]: the repeat axes read with stride 0.
  Dims od, view, strides;
  Dims xs = contiguous_strides(x.dims());
  for (int i = 0; i < x.rank(); ++i) {
    od.push_back(x.dim(i) * reps[size_t(i)]);
    view.insert(view.end(), {reps[size_t(i)], x.dim(i)});
    strides.insert(strides.end(), {0, xs[size_t(i)]});
  }
  checked_numel(ctx, od);
  Tensor out(x.dtype(), od);
  strided_copy(dtype_size(x.dtype()), out.raw(), view, x.raw(), 0, strides);
  return {out};
}

}  // namespace

void register_expand_tile_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Expand", .min_inputs = 2, .max_inputs = 2, .infer = expand_infer,
         .cpu = expand_cpu});
  r.add({.domain = "", .name = "Tile", .min_inputs = 2, .max_inputs = 2, .infer = tile_infer,
         .cpu = tile_cpu});
}

}  // namespace kiln::tensor_ops
