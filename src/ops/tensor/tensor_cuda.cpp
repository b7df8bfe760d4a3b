// Host side of the tensor family's CUDA kernels: every op here is a view (alias) or one
// strided copy per input, with offsets and strides computed from the node's constants.
#include "ops/tensor/tensor_cuda.h"

#include <algorithm>
#include <cstring>

#include <cuda_runtime_api.h>

#include "ops/op_util.h"
#include "ops/tensor/tensor_util.h"
#include "runtime/cuda/cuda_check.h"
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

void tile_cuda(CudaKernelContext& ctx) {
  // out viewed as [r0, d0, r1, d1, ...]: each input axis repeated r times, input strides 0 on
  // the repeat axes.
  const DeviceTensor& x = ctx.input(0);
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  Dims xs = contiguous_strides(x.dims), ys = contiguous_strides(y.dims), dims, out_s, in_s;
  for (int i = 0; i < x.rank(); ++i) {
    const int64_t d = x.dims[size_t(i)], r = y.dims[size_t(i)] / std::max<int64_t>(d, 1);
    dims.insert(dims.end(), {r, d});
    out_s.insert(out_s.end(), {d * ys[size_t(i)], ys[size_t(i)]});
    in_s.insert(in_s.end(), {0, xs[size_t(i)]});
  }
  cuda::StridedLayout l = cuda::make_layout(dims, {out_s, in_s});
  cuda::strided_copy(x.data(), y.data(), dtype_size(x.dtype), l, ctx.stream());
}

void pad_cuda(CudaKernelContext& ctx) {
  const DeviceTensor& x = ctx.input(0);
  const std::string mode = ctx.attrs().get_string("mode", "constant");
  PadGeometry g;
  g.mode = mode == "constant" ? 0 : mode == "edge" ? 1 : mode == "wrap" ? 2 : mode == "reflect" ? 3 : -1;
  if (g.mode < 0) ctx.invalid("unknown pad mode '" + mode + "'");
  const int rank = x.rank();
  if (rank > kMaxPadRank) ctx.unsupported("Pad of rank > 8 has no CUDA kernel");
  std::vector<int64_t> pads = ints_of(ctx, 1, "Pad's pads"), axes;
  if (ctx.has_input(3)) axes = ints_of(ctx, 3, "Pad's axes");
  else
    for (int i = 0; i < rank; ++i) axes.push_back(i);
  if (pads.size() != 2 * axes.size()) ctx.invalid("pads must hold 2 values per axis");
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  Dims xs = contiguous_strides(x.dims);
  g.rank = rank;
  for (int i = 0; i < rank; ++i) {
    g.out_dims[i] = y.dims[size_t(i)];
    g.in_dims[i] = x.dims[size_t(i)];
    g.in_strides[i] = xs[size_t(i)];
  }
  for (size_t i = 0; i < axes.size(); ++i) g.begin[normalize_axis(ctx, axes[i], rank)] = pads[i];
  if (x.numel() == 0 && g.mode != 0) ctx.invalid("cannot pad an empty axis in this mode");
  uint64_t fill = 0;
  if (ctx.has_input(2) && g.mode == 0) {
    const Tensor& c = ctx.require_constant(2, "Pad's constant_value");
    if (c.dtype() != x.dtype || c.numel() != 1) ctx.invalid("constant_value must be one value of data's dtype");
    std::memcpy(&fill, c.raw(), dtype_size(x.dtype));
  }
  launch_pad(x.data(), y.data(), dtype_size(x.dtype), g, fill, ctx.stream());
}

struct GatherState : KernelState {
  DeviceTensor flag;  // int32, set by the kernel when an index is out of range
};

void gather_cuda(CudaKernelContext& ctx) {
  const DeviceTensor& x = ctx.input(0);
  const DeviceTensor& ind = ctx.input(1);
  if (ind.dtype != DType::kI64 && ind.dtype != DType::kI32) ctx.invalid("indices must be int32 or int64");
  if (x.rank() == 0) ctx.invalid("data must have rank >= 1");
  const int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  const int64_t dim = x.dims[size_t(axis)];
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < x.rank(); ++i)
    if (i < axis) outer *= x.dims[size_t(i)];
    else if (i > axis) inner *= x.dims[size_t(i)];
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  if (const Tensor* c = ctx.host_constant(1))  // constant indices: checked here, named precisely
    for (int64_t v : c->to_int64_vector())
      if (v < -dim || v >= dim)
        ctx.invalid("index " + std::to_string(v) + " is out of range for a dim of size " + std::to_string(dim));
  // The flag outlives the run: runtime indices are checked once the run is over (capturable).
  bool fresh = false;
  GatherState& st = ctx.state<GatherState>(&fresh);
  if (fresh) st.flag = device_empty(DType::kI32, {1}, ctx.stream());
  CUDA_CHECK(cudaMemsetAsync(st.flag.data(), 0, sizeof(int32_t), ctx.stream()));
  launch_gather(x.data(), dtype_size(x.dtype), ind.data(), ind.dtype == DType::kI64, y.data(), ind.numel(), dim,
                inner, y.numel(), st.flag.ptr<int>(), ctx.stream());
  if (!ctx.host_constant(1))
    ctx.session.add_deferred_check(st.flag.ptr<int32_t>(), ctx.node.describe() + ": an index is out of range for a dim of size " +
                                                               std::to_string(dim));
}

// The output's dims come from inference (static in a plan); the shape input is not read.
void constant_of_shape_cuda(CudaKernelContext& ctx) {
  const Tensor v = constant_of_shape_value(ctx);
  if (v.numel() != 1) ctx.invalid("value must hold exactly one element");
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.dtype != v.dtype()) ctx.invalid("the output type differs from value's");
  uint64_t bits = 0;
  std::memcpy(&bits, v.raw(), dtype_size(v.dtype()));
  launch_fill(y.data(), dtype_size(y.dtype), y.numel(), bits, ctx.stream());
}

}  // namespace kiln::tensor_ops
