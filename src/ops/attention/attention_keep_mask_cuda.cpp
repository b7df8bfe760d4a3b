// Host side of kiln.AttentionKeepMask on the GPU: checks, one launch.
#include <string>

#include "ops/attention/attention_cuda.h"
#include "ops/attention/attention_keep_mask.h"
#include "ops/attention/attention_keep_mask_launch.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::attention {

void attention_keep_mask_cuda(CudaKernelContext& ctx) {
  const KeepMaskParams p = keep_mask_params(ctx);
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& x = ctx.input(0);
  if (x.rank() < 3) ctx.invalid("the logits must be [B, Q, keys...], got " + dims_to_string(x.dims));
  const int64_t B = x.dims[0], Q = x.dims[1];
  int64_t K = 1;
  for (int i = 2; i < x.rank(); ++i) K *= x.dims[size_t(i)];
  if (K > 0x7fffffff || p.repeats > 0x7fffffff) ctx.unsupported("more than 2^31 keys or repeats");
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  KeepMaskArgs a;
  a.x = x.data();
  a.f16 = x.dtype == DType::kF16;
  a.y = static_cast<bool*>(y.data());
  a.batch = B;
  a.queries = Q;
  a.keys = int(K);
  a.repeats = int(p.repeats);
  a.threshold = p.threshold;
  launch_attention_keep_mask(a, ctx.stream());
}

}  // namespace kiln::attention
