// Host side of MatMul and Gemm on the GPU: batch broadcasting and bias, then gemm_lt.
#include <cuda_runtime_api.h>

#include "ops/linear/linear_cuda.h"
#include "ops/op_util.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/strided_copy.h"

namespace kiln::linear {
namespace {

void zero(CudaKernelContext& ctx, DeviceTensor& y) {
  if (y.nbytes()) CUDA_CHECK(cudaMemsetAsync(y.data(), 0, y.nbytes(), ctx.stream()));
}

const char* at_elements(const void* p, int64_t elements, DType dt) {
  return static_cast<const char*>(p) + elements * int64_t(dtype_size(dt));
}

}  // namespace

void matmul_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& a = ctx.input(0);
  const DeviceTensor& b = ctx.input(1);
  if (b.dtype != a.dtype) ctx.invalid("A and B have different types");
  if (a.rank() == 0 || b.rank() == 0) ctx.invalid("MatMul inputs must have rank >= 1");
  // 1-D operands: a row vector on the left, a column vector on the right.
  Dims ad = a.rank() == 1 ? Dims{1, a.dims[0]} : a.dims;
  Dims bd = b.rank() == 1 ? Dims{b.dims[0], 1} : b.dims;
  const int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  if (bd[bd.size() - 2] != k) ctx.invalid("inner dimensions differ: " + dims_to_string(a.dims) + " x " + dims_to_string(b.dims));
  Dims a_batch(ad.begin(), ad.end() - 2), b_batch(bd.begin(), bd.end() - 2);
  Dims batch = broadcast_dims(ctx, a_batch, b_batch);
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  if (k == 0) return zero(ctx, y);

  GemmCall g;
  g.dtype = a.dtype;
  g.m = m, g.n = n, g.k = k;
  g.lda = k, g.ldb = n, g.ldc = n;
  const int64_t total = numel_of(batch);
  bool b_shared = true;
  for (int64_t d : b_batch) b_shared = b_shared && d == 1;
  if (b_shared && numel_of(a_batch) == total) {
    // B is one matrix for every batch: fold A's batches into M, one GEMM.
    g.m = m * total;
    g.a = a.data(), g.b = b.data(), g.c = y.data();
    return gemm_lt(ctx.session, g);
  }
  // Batch offsets in elements; a layout collapses them to as few strided runs as possible.
  Dims sa = broadcast_strides(a_batch, batch), sb = broadcast_strides(b_batch, batch);
  for (auto& s : sa) s *= m * k;
  for (auto& s : sb) s *= k * n;
  Dims sc = contiguous_strides(batch);
  for (auto& s : sc) s *= m * n;
  cuda::StridedLayout l = cuda::make_layout(batch, {sc, sa, sb});
  // The innermost collapsed dim runs as one strided-batched call; outer ones loop.
  const int last = l.rank - 1;
  g.batch = l.dims[last];
  g.stride_c = l.strides[0][last], g.stride_a = l.strides[1][last], g.stride_b = l.strides[2][last];
  if (total == 1) g.batch = 1;
  const int64_t outer = total / g.batch;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t off[3] = {0, 0, 0}, rest = o;
    for (int d = last - 1; d >= 0; --d) {
      int64_t idx = rest % l.dims[d];
      rest /= l.dims[d];
      for (int op = 0; op < 3; ++op) off[op] += idx * l.strides[op][d];
    }
    g.c = const_cast<char*>(at_elements(y.data(), off[0], y.dtype));
    g.a = at_elements(a.data(), off[1], a.dtype);
    g.b = at_elements(b.data(), off[2], b.dtype);
    gemm_lt(ctx.session, g);
  }
}

void gemm_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& a = ctx.input(0);
  const DeviceTensor& b = ctx.input(1);
  if (b.dtype != a.dtype) ctx.invalid("A and B have different types");
  if (a.rank() != 2 || b.rank() != 2) ctx.invalid("Gemm inputs must be 2-D");
  GemmCall g;
  g.dtype = a.dtype;
  g.trans_a = ctx.attrs().get_int("transA", 0) != 0;
  g.trans_b = ctx.attrs().get_int("transB", 0) != 0;
  g.m = g.trans_a ? a.dims[1] : a.dims[0];
  g.k = g.trans_a ? a.dims[0] : a.dims[1];
  g.n = g.trans_b ? b.dims[0] : b.dims[1];
  if ((g.trans_b ? b.dims[1] : b.dims[0]) != g.k) ctx.invalid("inner dimensions differ");
  g.alpha = ctx.attrs().get_float("alpha", 1.f);
  g.beta = ctx.attrs().get_float("beta", 1.f);
  g.lda = a.dims[1], g.ldb = b.dims[1], g.ldc = g.n;
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  const bool has_c = ctx.has_input(2) && g.beta != 0.f;
  if (has_c) {
    const DeviceTensor& c = ctx.input(2);
    if (c.dtype != a.dtype) ctx.invalid("C has a different type");
    cuda::StridedLayout l = cuda::make_layout(y.dims, {contiguous_strides(y.dims), broadcast_strides(c.dims, y.dims)});
    cuda::strided_copy(c.data(), y.data(), dtype_size(y.dtype), l, ctx.stream());
  } else {
    g.beta = 0.f;
  }
  if (g.k == 0) {
    if (!has_c) zero(ctx, y);
    else if (g.beta != 1.f) ctx.unsupported("Gemm with K = 0 and beta != 1 has no CUDA kernel");
    return;
  }
  g.a = a.data(), g.b = b.data(), g.c = y.data();
  gemm_lt(ctx.session, g);
}

}  // namespace kiln::linear
