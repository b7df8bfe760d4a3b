// kiln.Attention, fp16 on tensor cores without a mask: the warpgroup-MMA kernel of
// attention_wgmma.cu on Hopper where it applies, else the 32-rows-per-warp kernel of
// attention_f16_wide.cuh where its 128-row grid fills the GPU, else the 16-rows-per-warp kernel
// of attention_f16.cuh (twice the blocks, for small launches), instantiated here apart from its
// masked forms (attention_masked_f16.cu) so each file compiles in reasonable time.
#include "ops/attention/attention_f16_wide.cuh"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::attention {

bool attention_f16_uses_wide(const AttentionParams& p) {
  if (p.mask.kind != MaskKind::kNone || p.splits != 1 || (p.d > p.dv ? p.d : p.dv) > 64 || !(p.scale > 0.f))
    return false;
  const int64_t blocks = (int64_t(p.nq) + wide::kBM - 1) / wide::kBM * p.batch;
  return blocks >= cuda_sm_count();
}

void launch_attention_f16(const AttentionParams& p, cudaStream_t stream) {
  if (p.mask.kind != MaskKind::kNone) return launch_attention_f16_masked(p, stream);
  if (attention_f16_uses_wgmma(p)) return launch_attention_f16_wgmma(p, stream);
  if (attention_f16_uses_wide(p)) return wide::launch_padded(p, stream);
  flash::launch_padded<MaskKind::kNone>(p, stream);
}

}  // namespace kiln::attention
