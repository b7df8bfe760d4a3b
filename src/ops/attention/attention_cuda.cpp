// Host side of kiln.Attention on the GPU: checks shapes, picks the kernel.
//   fp16, d and dv <= 128  → flash-attention on tensor cores (attention.cu)
//   fp32                   → scores materialized in scratch: cuBLASLt GEMM (scale as alpha),
//                            Softmax in place, cuBLASLt GEMM. fp32 has no tensor-core flash
//                            kernel here, and the CUDA-core one ran SegFormer-B2 at 33 ms
//                            against 25 ms unfused; up to kMaxScores bytes of scores
//   otherwise              → CUDA-core kernel with fp32 math (attention_generic.cu)
// No mask yet (Mask2Former's masked attention will add it); a mask input is kUnsupported.
#include <string>

#include "ops/attention/attention_cuda.h"
#include "ops/attention/attention_launch.h"
#include "ops/attention/attention_ops.h"
#include "ops/linear/linear_cuda.h"
#include "ops/reduce/reduce_cuda.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::attention {
namespace {

constexpr int64_t kMaxScores = int64_t(1) << 30;

// softmax(scale Q K^T) V with the scores in the node's scratch.
void attention_materialized(CudaKernelContext& ctx, const AttentionParams& p, DType dt) {
  DeviceTensor s = ctx.scratch(dt, {p.batch, p.nq, p.nk});
  linear::GemmCall g;
  g.dtype = dt;
  g.trans_b = true;
  g.m = p.nq, g.n = p.nk, g.k = p.d;
  g.a = p.q, g.lda = p.d, g.stride_a = int64_t(p.nq) * p.d;
  g.b = p.k, g.ldb = p.d, g.stride_b = int64_t(p.nk) * p.d;
  g.c = s.data(), g.ldc = p.nk, g.stride_c = int64_t(p.nq) * p.nk;
  g.batch = p.batch;
  g.alpha = p.scale;
  linear::gemm_lt(ctx.session, g);
  reduce::launch_softmax(dt, false, s.data(), s.data(), p.batch * p.nq, p.nk, 1, ctx.stream());
  linear::GemmCall o;
  o.dtype = dt;
  o.m = p.nq, o.n = p.dv, o.k = p.nk;
  o.a = s.data(), o.lda = p.nk, o.stride_a = int64_t(p.nq) * p.nk;
  o.b = p.v, o.ldb = p.dv, o.stride_b = int64_t(p.nk) * p.dv;
  o.c = p.o, o.ldc = p.dv, o.stride_c = int64_t(p.nq) * p.dv;
  o.batch = p.batch;
  linear::gemm_lt(ctx.session, o);
  ctx.library = "cuBLASLt+kiln";
}

}  // namespace

void attention_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  if (ctx.has_input(3)) ctx.unsupported("the CUDA kernel has no mask input yet");
  const DeviceTensor &q = ctx.input(0), &k = ctx.input(1), &v = ctx.input(2);
  const int r = q.rank();
  if (r < 2 || k.rank() != r || v.rank() != r) ctx.invalid("Q, K and V must have the same rank >= 2");
  for (int i = 0; i + 2 < r; ++i)
    if (k.dims[size_t(i)] != q.dims[size_t(i)] || v.dims[size_t(i)] != q.dims[size_t(i)])
      ctx.invalid("batch dims of Q, K and V differ");
  if (k.dtype != q.dtype || v.dtype != q.dtype) ctx.invalid("Q, K and V dtypes differ");
  const int64_t nq = q.dims[size_t(r - 2)], d = q.dims[size_t(r - 1)], nk = k.dims[size_t(r - 2)],
                dv = v.dims[size_t(r - 1)];
  if (k.dims[size_t(r - 1)] != d || v.dims[size_t(r - 2)] != nk) ctx.invalid("Q, K, V shapes do not fit");
  if (nq > 0x7fffffff || nk > 0x7fffffff || d > 0x7fffffff || dv > 0x7fffffff)
    ctx.unsupported("sequence lengths and head dims beyond 2^31 are not supported");
  if (nk == 0 && nq * dv * numel_of(Dims(q.dims.begin(), q.dims.end() - 2)) > 0)
    ctx.unsupported("attention over zero keys has no defined value");
  DeviceTensor& o = ctx.alloc_output(0);
  if (o.numel() == 0) return;
  AttentionParams p;
  p.q = q.data();
  p.k = k.data();
  p.v = v.data();
  p.o = o.data();
  p.batch = o.numel() / (nq * dv);
  p.nq = int(nq);
  p.nk = int(nk);
  p.d = int(d);
  p.dv = int(dv);
  p.scale = attention_scale(ctx, d);
  const bool f16 = q.dtype == DType::kF16;
  if (f16 && d <= 128 && dv <= 128) return launch_attention_f16(p, ctx.stream());
  if (!f16 && p.batch * nq * nk * int64_t(sizeof(float)) <= kMaxScores && p.batch <= 0x7fffffff)
    return attention_materialized(ctx, p, q.dtype);
  if (attention_generic_smem(p.d, p.dv) > 200 * 1024)
    ctx.unsupported("head dims d " + std::to_string(d) + ", dv " + std::to_string(dv) +
                    " are too wide for the CUDA attention kernel (its tiles exceed shared memory)");
  launch_attention_generic(p, f16, ctx.stream());
}

}  // namespace kiln::attention
