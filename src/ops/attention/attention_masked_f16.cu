// kiln.Attention, fp16 on tensor cores with a bool or an fp16 additive mask: the masked
// instantiations of attention_f16.cuh.
#include "ops/attention/attention_f16.cuh"

namespace kiln::attention {

void launch_attention_f16_masked(const AttentionParams& p, cudaStream_t stream) {
  if (p.mask.kind == MaskKind::kBool) flash::launch_padded<MaskKind::kBool>(p, stream);
  else flash::launch_padded<MaskKind::kAdditive>(p, stream);
}

}  // namespace kiln::attention
