// Host side of kiln.HeadScores on the GPU: per batch item one strided-batched cuBLASLt GEMM over
// the heads, reading Q and K in their token layout (row stride N·D, head h at offset h·D) and
// writing S [N, L, J] contiguously; scale is the GEMM's alpha. fp32 math (TF32 only where the
// session allows it, as MatMul), fp16 storage for fp16.
#include <cuda_runtime.h>

#include "ops/attention/attention_cuda.h"
#include "ops/attention/head_scores.h"
#include "ops/linear/linear_cuda.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::attention {

void head_scores_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor &q = ctx.input(0), &k = ctx.input(1);
  if (k.dtype != q.dtype) ctx.invalid("Q and K must have one dtype");
  const HeadScoresDims s = head_scores_dims(ctx, q.dims, k.dims);
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  if (s.head_dim == 0) {  // empty sums
    CUDA_CHECK(cudaMemsetAsync(y.data(), 0, y.nbytes(), ctx.stream()));
    return;
  }
  const int64_t esize = int64_t(dtype_size(q.dtype)), row = s.heads * s.head_dim;
  linear::GemmCall g;
  g.dtype = q.dtype;
  g.m = s.rows, g.n = s.keys, g.k = s.head_dim;
  g.lda = row, g.stride_a = s.head_dim;
  g.trans_b = true;  // K's rows [J, D] are B's columns
  g.ldb = row, g.stride_b = s.head_dim;
  g.ldc = s.keys, g.stride_c = s.rows * s.keys;
  g.batch = s.heads;
  g.alpha = ctx.attrs().get_float("scale", 1.f);
  for (int64_t b = 0; b < s.batch; ++b) {
    g.a = static_cast<const char*>(q.data()) + b * s.rows * row * esize;
    g.b = static_cast<const char*>(k.data()) + b * s.keys * row * esize;
    g.c = static_cast<char*>(y.data()) + b * s.heads * s.rows * s.keys * esize;
    linear::gemm_lt(ctx.session, g);
  }
  ctx.library = "cuBLASLt";
}

}  // namespace kiln::attention
