// kiln.Attention, fp16 on tensor cores without a mask: the flash kernel of attention_f16.cuh,
// instantiated here apart from its masked forms (attention_masked_f16.cu) so each file
// compiles in reasonable time.
#include "ops/attention/attention_f16.cuh"

namespace kiln::attention {

void launch_attention_f16(const AttentionParams& p, cudaStream_t stream) {
  if (p.mask.kind != MaskKind::kNone) return launch_attention_f16_masked(p, stream);
  flash::launch_padded<MaskKind::kNone>(p, stream);
}

}  // namespace kiln::attention
