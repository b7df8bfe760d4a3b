// Two-operand Einsum on the GPU as a batched GEMM: labels in both inputs and the output are
// batch, in A and the output only M, in B and the output only N, in both inputs only K
// (contracted). Each operand is permuted into [batch, M, K] / [batch, K, N] by a strided copy,
// one strided-batched GEMM runs, and the [batch, M, N] result is permuted into the output
// order; operands and result already in GEMM order are used in place. Repeated labels (diagonals), labels summed out of a single operand and other operand
// counts have no CUDA kernel yet.
#include <cuda_runtime_api.h>

#include <algorithm>

#include "ops/linear/einsum_equation.h"
#include "ops/linear/linear_cuda.h"
#include "ops/op_util.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/strided_copy.h"

namespace kiln::linear {
namespace {

// Strides `from` visit memory in row-major order of dims: the permuted tensor is the tensor itself.
bool is_identity(const Dims& dims, const Dims& from) {
  const Dims c = contiguous_strides(dims);
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] > 1 && from[i] != c[i]) return false;
  return true;
}

// t as a contiguous tensor whose dims are t's labels in `order` (labels absent from t get size 1
// and stride 0): t itself when already in that order (Mask2Former's mask einsum), else a copy.
DeviceTensor permute_to(CudaKernelContext& ctx, const DeviceTensor& t, const std::vector<int>& labels,
                        const std::vector<int>& order, const std::vector<int64_t>& sizes) {
  Dims ts = contiguous_strides(t.dims), dims, from;
  for (int label : order) {
    auto it = std::find(labels.begin(), labels.end(), label);
    dims.push_back(sizes[size_t(label)]);
    from.push_back(it == labels.end() ? 0 : ts[size_t(it - labels.begin())]);
  }
  if (is_identity(dims, from)) {
    DeviceTensor view = t;
    view.dims = dims;
    return view;
  }
  DeviceTensor out = ctx.scratch(t.dtype, dims);
  if (out.numel() == 0) return out;
  cuda::StridedLayout l = cuda::make_layout(dims, {contiguous_strides(dims), from});
  cuda::strided_copy(t.data(), out.data(), dtype_size(t.dtype), l, ctx.stream());
  return out;
}

}  // namespace

void einsum_cuda(CudaKernelContext& ctx) {
  if (ctx.num_inputs() != 2) ctx.unsupported("Einsum of other than two operands has no CUDA kernel yet");
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& a = ctx.input(0);
  const DeviceTensor& b = ctx.input(1);
  if (b.dtype != a.dtype) ctx.invalid("operands have different types");
  EinsumEquation eq = parse_einsum(ctx, ctx.attrs().get_string("equation"), {a.rank(), b.rank()});
  std::vector<int64_t> sizes = einsum_label_sizes(ctx, eq, {a.dims, b.dims});
  const auto& la = eq.inputs[0];
  const auto& lb = eq.inputs[1];
  auto has = [](const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); };
  for (const auto* l : {&la, &lb})
    for (size_t i = 0; i < l->size(); ++i)
      if (std::count(l->begin(), l->end(), (*l)[i]) > 1) ctx.unsupported("repeated Einsum labels have no CUDA kernel yet");
  std::vector<int> batch, m, n, k;
  for (int x = 0; x < eq.num_labels; ++x) {
    const bool in_a = has(la, x), in_b = has(lb, x), in_o = has(eq.output, x);
    if (!in_a && !in_b) continue;
    if (in_a && in_b && in_o) batch.push_back(x);
    else if (in_a && in_o) m.push_back(x);
    else if (in_b && in_o) n.push_back(x);
    else if (in_a && in_b) k.push_back(x);
    else ctx.unsupported("an Einsum label summed out of one operand has no CUDA kernel yet");
  }
  auto product = [&](const std::vector<int>& ls) {
    int64_t p = 1;
    for (int x : ls) p *= sizes[size_t(x)];
    return p;
  };
  const int64_t nb = product(batch), nm = product(m), nn = product(n), nk = product(k);
  std::vector<int> order_a = batch, order_b = batch, order_c = batch;
  order_a.insert(order_a.end(), m.begin(), m.end());
  order_a.insert(order_a.end(), k.begin(), k.end());
  order_b.insert(order_b.end(), k.begin(), k.end());
  order_b.insert(order_b.end(), n.begin(), n.end());
  order_c.insert(order_c.end(), m.begin(), m.end());
  order_c.insert(order_c.end(), n.begin(), n.end());
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  Dims c_dims;
  for (int x : order_c) c_dims.push_back(sizes[size_t(x)]);
  // [batch, M, N] → the output's label order: the GEMM writes the output itself when that is the
  // identity, else a scratch result permuted afterwards.
  Dims cs = contiguous_strides(c_dims), from;
  for (int x : eq.output) from.push_back(cs[size_t(std::find(order_c.begin(), order_c.end(), x) - order_c.begin())]);
  const bool direct = is_identity(y.dims, from);
  DeviceTensor c = direct ? y : ctx.scratch(a.dtype, c_dims);
  if (nk == 0) {
    CUDA_CHECK(cudaMemsetAsync(c.data(), 0, c.nbytes(), ctx.stream()));
  } else {
    DeviceTensor pa = permute_to(ctx, a, la, order_a, sizes), pb = permute_to(ctx, b, lb, order_b, sizes);
    GemmCall g;
    g.dtype = a.dtype;
    g.m = nm, g.n = nn, g.k = nk;
    g.a = pa.data(), g.lda = nk, g.stride_a = nm * nk;
    g.b = pb.data(), g.ldb = nn, g.stride_b = nk * nn;
    g.c = c.data(), g.ldc = nn, g.stride_c = nm * nn;
    g.batch = nb;
    gemm_lt(ctx.session, g);
  }
  if (direct) return;
  cuda::StridedLayout l = cuda::make_layout(y.dims, {contiguous_strides(y.dims), from});
  cuda::strided_copy(c.data(), y.data(), dtype_size(y.dtype), l, ctx.stream());
}

}  // namespace kiln::linear
