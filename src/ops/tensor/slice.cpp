// Slice (starts/ends/axes/steps as inputs), with ONNX's clamping rules and negative steps.
#include <algorithm>
#include <limits>

#include "ops/tensor/tensor_groups.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::tensor_ops {
namespace {

struct AxisSlice {
  int64_t start = 0, step = 1, count = 0;
};

// Negative starts/ends count from the end, then clamp into the axis ([0, dim] going forward,
// [-1, dim - 1] going backward).
AxisSlice slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step) {
  AxisSlice s;
  s.step = step;
  if (dim == 0) return s;
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    s.count = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    s.count = start > end ? (start - end - step - 1) / -step : 0;
  }
  s.start = start;
  return s;
}

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
};

// Checks lengths, steps and axes (normalized against rank; repeats are model errors).
void check_args(const OpContextBase& ctx, SliceArgs& a, int rank) {
  if (a.starts.size() != a.ends.size()) ctx.invalid("starts and ends differ in length");
  if (a.axes.empty() && !a.starts.empty() && a.starts.size() > size_t(rank))
    ctx.invalid("more starts than input dims");
  if (a.axes.empty())
    for (size_t i = 0; i < a.starts.size(); ++i) a.axes.push_back(int64_t(i));
  if (a.steps.empty()) a.steps.assign(a.starts.size(), 1);
  if (a.axes.size() != a.starts.size() || a.steps.size() != a.starts.size())
    ctx.invalid("starts, ends, axes and steps must have the same length");
  std::vector<bool> seen(size_t(std::max(rank, 0)), false);
  for (int64_t& ax : a.axes) {
    ax = normalize_axis(ctx, ax, rank);
    if (seen[size_t(ax)]) ctx.invalid("axis " + std::to_string(ax) + " is repeated");
    seen[size_t(ax)] = true;
  }
  for (int64_t st : a.steps)
    if (st == 0) ctx.invalid("steps must be nonzero");
}

std::vector<ValueType> slice_infer(const InferContext& ctx) {
  DType dt = ctx.dtype(0);
  for (size_t i = 1; i < 5; ++i)
    if (ctx.has_input(i)) require_index_type(ctx, i);
  const Shape* in = ctx.shape(0);
  if (!in) return {{dt, std::nullopt}};
  int rank = int(in->size());
  auto starts = constant_ints(ctx, 1), ends = constant_ints(ctx, 2);
  std::optional<std::vector<int64_t>> axes = std::vector<int64_t>{}, steps = std::vector<int64_t>{};
  if (ctx.has_input(3)) axes = constant_ints(ctx, 3);
  if (ctx.has_input(4)) steps = constant_ints(ctx, 4);
  if (!axes) return {{dt, unknown_shape(size_t(rank))}};
  Shape out = *in;
  if (!starts || !ends || !steps) {
    // Only the sliced axes are unknown; with no axes input that is a prefix of the axes.
    if (!axes->empty()) {
      for (int64_t ax : *axes) out[size_t(normalize_axis(ctx, ax, rank))] = Dim();
      return {{dt, out}};
    }
    auto n = known_length(ctx, 1);
    if (!n) n = known_length(ctx, 2);
    if (!n) return {{dt, unknown_shape(size_t(rank))}};
    for (int64_t i = 0; i < std::min<int64_t>(*n, rank); ++i) out[size_t(i)] = Dim();
    return {{dt, out}};
  }
  SliceArgs a{*starts, *ends, *axes, *steps};
  check_args(ctx, a, rank);
  for (size_t i = 0; i < a.axes.size(); ++i) {
    Dim& d = out[size_t(a.axes[i])];
    if (d.known()) {
      d = Dim(slice_axis(d.value, a.starts[i], a.ends[i], a.steps[i]).count);
    } else if (!(a.steps[i] == 1 && a.starts[i] == 0 &&
                 a.ends[i] >= std::numeric_limits<int32_t>::max())) {
      d = Dim();  // an unknown dim survives only a full forward slice
    }
  }
  return {{dt, out}};
}

std::vector<Tensor> slice_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  SliceArgs a{kernel_ints(ctx, 1, "starts"), kernel_ints(ctx, 2, "ends"), {}, {}};
  if (ctx.has_input(3)) a.axes = kernel_ints(ctx, 3, "axes");
  if (ctx.has_input(4)) a.steps = kernel_ints(ctx, 4, "steps");
  if (ctx.has_input(3) && a.axes.empty() && !a.starts.empty()) ctx.invalid("axes is empty");
  check_args(ctx, a, x.rank());
  Dims strides = contiguous_strides(x.dims());
  Dims out_dims = x.dims(), in_strides = strides;
  int64_t offset = 0;
  for (size_t i = 0; i < a.axes.size(); ++i) {
    size_t ax = size_t(a.axes[i]);
    AxisSlice s = slice_axis(x.dim(int(ax)), a.starts[i], a.ends[i], a.steps[i]);
    out_dims[ax] = s.count;
    offset += s.start * strides[ax];
    in_strides[ax] = strides[ax] * s.step;
  }
  Tensor out(x.dtype(), out_dims);
  strided_copy(dtype_size(x.dtype()), out.raw(), out_dims, x.raw(), offset, in_strides);
  return {out};
}

}  // namespace

void register_slice_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Slice", .min_inputs = 3, .max_inputs = 5, .infer = slice_infer,
         .cpu = slice_cpu});
}

}  // namespace kiln::tensor_ops
