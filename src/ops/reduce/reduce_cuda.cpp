// Host side of Softmax / LogSoftmax on the GPU: the [outer, n, inner] view for the opset.
#include "ops/reduce/reduce_cuda.h"

#include "ops/op_util.h"
#include "ops/reduce/reduce_axes.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::reduce {
namespace {

void softmax_any(CudaKernelContext& ctx, bool log) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& x = ctx.input(0);
  const int rank = x.rank();
  int64_t outer = 1, n = 1, inner = 1;
  if (ctx.opset() >= 13) {
    const int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", -1), rank);
    for (int i = 0; i < rank; ++i) (i < axis ? outer : i == axis ? n : inner) *= x.dims[size_t(i)];
  } else {  // coerced to 2-D at axis
    const int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 1), rank);
    for (int i = 0; i < rank; ++i) (i < axis ? outer : n) *= x.dims[size_t(i)];
  }
  DeviceTensor& y = ctx.alloc_output(0);
  launch_softmax(x.dtype, log, x.data(), y.data(), outer, n, inner, ctx.stream());
}

// True when the reduced axes of dims, size-1 axes ignored, are adjacent: x is [outer, n, inner].
bool as_one_run(const Dims& dims, const std::vector<bool>& reduced, int64_t* outer, int64_t* inner) {
  int first = -1, last = -1;
  for (int i = 0; i < int(dims.size()); ++i)
    if (reduced[size_t(i)] && dims[size_t(i)] != 1) {
      if (first < 0) first = i;
      last = i;
    }
  if (first < 0) return false;
  for (int i = first; i <= last; ++i)
    if (!reduced[size_t(i)] && dims[size_t(i)] != 1) return false;
  *outer = *inner = 1;
  for (int i = 0; i < first; ++i) *outer *= dims[size_t(i)];
  for (int i = last + 1; i < int(dims.size()); ++i) *inner *= dims[size_t(i)];
  return true;
}

void reduce_any(CudaKernelContext& ctx, int op) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16, DType::kI64, DType::kI32});
  const DeviceTensor& x = ctx.input(0);
  ReduceParams p = reduce_params(ctx);
  std::vector<int64_t> axes;
  if (!p.axes_from_input) axes = ctx.attrs().get_ints("axes", {});
  else if (ctx.has_input(1)) axes = ctx.require_constant(1, "the Reduce axes").to_int64_vector();
  std::vector<bool> mask = reduced_mask(ctx, axes, x.rank(), p.noop_with_empty_axes);
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  Dims xs = contiguous_strides(x.dims), kd, ks, rd, rs;
  for (int i = 0; i < x.rank(); ++i) {
    (mask[size_t(i)] ? rd : kd).push_back(x.dims[size_t(i)]);
    (mask[size_t(i)] ? rs : ks).push_back(xs[size_t(i)]);
  }
  const int64_t n_red = numel_of(rd);
  if (n_red == 0 && op >= 1) ctx.invalid("reducing an empty axis has no defined value for this op");
  int64_t outer = 1, inner = 1;
  if (as_one_run(x.dims, mask, &outer, &inner)) {
    launch_reduce_run(op, x.dtype, x.data(), y.data(), outer, n_red, inner, ctx.stream());
    return;
  }
  cuda::StridedLayout kept = cuda::make_layout(kd, {ks}), red = cuda::make_layout(rd, {rs});
  launch_reduce(op, x.dtype, x.data(), y.data(), kept, red, y.numel(), n_red, ctx.stream());
}

}  // namespace

void reduce_sum_cuda(CudaKernelContext& ctx) { reduce_any(ctx, 0); }
void reduce_mean_cuda(CudaKernelContext& ctx) { reduce_any(ctx, 1); }
void reduce_max_cuda(CudaKernelContext& ctx) { reduce_any(ctx, 2); }
void reduce_min_cuda(CudaKernelContext& ctx) { reduce_any(ctx, 3); }

void softmax_cuda(CudaKernelContext& ctx) { softmax_any(ctx, false); }
void log_softmax_cuda(CudaKernelContext& ctx) { softmax_any(ctx, true); }

void cumsum_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16, DType::kF64, DType::kI64, DType::kI32});
  const DeviceTensor& x = ctx.input(0);
  const Tensor& at = ctx.require_constant(1, "CumSum's axis");
  if (at.numel() != 1) ctx.invalid("axis must hold one value");
  const int axis = normalize_axis(ctx, at.at_int(0), x.rank());
  int64_t outer = 1, n = 1, inner = 1;
  for (int i = 0; i < x.rank(); ++i) (i < axis ? outer : i == axis ? n : inner) *= x.dims[size_t(i)];
  DeviceTensor& y = ctx.alloc_output(0);
  launch_cumsum(x.dtype, x.data(), y.data(), outer, n, inner, ctx.attrs().get_int("exclusive", 0) != 0,
                ctx.attrs().get_int("reverse", 0) != 0, ctx.stream());
}

}  // namespace kiln::reduce
