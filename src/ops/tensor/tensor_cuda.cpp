// Host side of the tensor family's CUDA kernels: every op here is a view (alias) or one
// strided copy per input, with offsets and strides computed from the node's constants.
#include "ops/tensor/tensor_cuda.h"

#include <algorithm>

#include "ops/op_util.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/strided_copy.h"

namespace kiln::tensor_ops {
namespace {

const char* at_bytes(const DeviceTensor& t, int64_t elements) {
  return static_cast<const char*>(t.data()) + elements * int64_t(dtype_size(t.dtype));
}

std::vector<int64_t> ints_of(const CudaKernelContext& ctx, size_t i, const char* what) {
  const Tensor& t = ctx.require_constant(i, what);
  if (t.dtype() != DType::kI64 && t.dtype() != DType::kI32) ctx.invalid(std::string(what) + " must be integers");
  return t.to_int64_vector();
}

}  // namespace

void alias_cuda(CudaKernelContext& ctx) {
  ctx.set_output(0, ctx.input(0).reshaped(ctx.output_dims(0)));
}

void transpose_cuda(CudaKernelContext& ctx) {
  const DeviceTensor& x = ctx.input(0);
  const int rank = x.rank();
  std::vector<int64_t> perm = ctx.attrs().get_ints("perm", {});
  if (perm.empty())
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
  if (int(perm.size()) != rank) ctx.invalid("perm has the wrong length");
  DeviceTensor& y = ctx.alloc_output(0);
  Dims in_strides = contiguous_strides(x.dims);
  Dims from(static_cast<size_t>(rank));
  for (int i = 0; i < rank; ++i) from[size_t(i)] = in_strides[size_t(normalize_axis(ctx, perm[size_t(i)], rank))];
  cuda::StridedLayout l = cuda::make_layout(y.dims, {contiguous_strides(y.dims), from});
  cuda::strided_copy(x.data(), y.data(), dtype_size(x.dtype), l, ctx.stream());
}

void slice_cuda(CudaKernelContext& ctx) {
  const DeviceTensor& x = ctx.input(0);
  const int rank = x.rank();
  std::vector<int64_t> starts = ints_of(ctx, 1, "Slice starts"), ends = ints_of(ctx, 2, "Slice ends");
  std::vector<int64_t> axes, steps;
  if (ctx.has_input(3)) axes = ints_of(ctx, 3, "Slice axes");
  if (ctx.has_input(4)) steps = ints_of(ctx, 4, "Slice steps");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size() || ends.size() != starts.size())
    ctx.invalid("starts, ends, axes and steps must have the same length");
  Dims in_strides = contiguous_strides(x.dims), from = in_strides;
  int64_t offset = 0;
  for (size_t k = 0; k < starts.size(); ++k) {
    int a = normalize_axis(ctx, axes[k], rank);
    int64_t dim = x.dims[size_t(a)], start = starts[k], step = steps[k];
    if (step == 0) ctx.invalid("steps must be nonzero");
    if (start < 0) start += dim;
    start = step > 0 ? std::clamp<int64_t>(start, 0, dim) : std::clamp<int64_t>(start, 0, dim - 1);
    offset += start * in_strides[size_t(a)];
    from[size_t(a)] = step * in_strides[size_t(a)];
  }
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  cuda::StridedLayout l = cuda::make_layout(y.dims, {contiguous_strides(y.dims), from});
  cuda::strided_copy(at_bytes(x, offset), y.data(), dtype_size(x.dtype), l, ctx.stream());
}

void concat_cuda(CudaKernelContext& ctx) {
  DeviceTensor& y = ctx.alloc_output(0);
  const int rank = y.rank();
  const int axis = normalize_axis(ctx, ctx.attrs().get_int("axis"), rank);
  Dims out_strides = contiguous_strides(y.dims);
  int64_t at = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    const DeviceTensor& x = ctx.input(i);
    if (x.dtype != y.dtype) ctx.invalid("inputs have different types");
    if (x.numel() > 0) {
      cuda::StridedLayout l = cuda::make_layout(x.dims, {out_strides, contiguous_strides(x.dims)});
      char* dst = static_cast<char*>(y.data()) + at * out_strides[size_t(axis)] * int64_t(dtype_size(y.dtype));
      cuda::strided_copy(x.data(), dst, dtype_size(x.dtype), l, ctx.stream());
    }
    at += x.rank() == rank ? x.dims[size_t(axis)] : 0;
  }
}

void expand_cuda(CudaKernelContext& ctx) {
  const DeviceTensor& x = ctx.input(0);
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  cuda::StridedLayout l = cuda::make_layout(y.dims, {contiguous_strides(y.dims), broadcast_strides(x.dims, y.dims)});
  cuda::strided_copy(x.data(), y.data(), dtype_size(x.dtype), l, ctx.stream());
}

}  // namespace kiln::tensor_ops
