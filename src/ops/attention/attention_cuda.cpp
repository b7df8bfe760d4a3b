// Host side of kiln.Attention on the GPU: checks shapes, picks the kernel.
//   fp16, d and dv <= 128  → flash-attention on tensor cores (attention.cu)
//   fp32, or wider fp16    → CUDA-core kernel with fp32 math (attention_generic.cu)
// No mask yet (Mask2Former's masked attention will add it); a mask input is kUnsupported.
#include <string>

#include "ops/attention/attention_cuda.h"
#include "ops/attention/attention_launch.h"
#include "ops/attention/attention_ops.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::attention {

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
  if (attention_generic_smem(p.d, p.dv) > 200 * 1024)
    ctx.unsupported("head dims d " + std::to_string(d) + ", dv " + std::to_string(dv) +
                    " are too wide for the CUDA attention kernel (its tiles exceed shared memory)");
  launch_attention_generic(p, f16, ctx.stream());
}

}  // namespace kiln::attention
