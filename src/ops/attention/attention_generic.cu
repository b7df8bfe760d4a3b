// kiln.Attention on CUDA cores without a mask: the kernel of attention_generic.cuh, instantiated
// here apart from its masked forms (attention_masked_generic.cu).
#include "ops/attention/attention_generic.cuh"

namespace kiln::attention {

size_t attention_generic_smem(int d, int dv) { return generic::smem_floats(d, dv) * sizeof(float); }

void launch_attention_generic(const AttentionParams& p, bool f16, cudaStream_t stream) {
  if (p.mask.kind != MaskKind::kNone) return launch_attention_generic_masked(p, f16, stream);
  f16 ? generic::launch<__half, MaskKind::kNone>(p, stream) : generic::launch<float, MaskKind::kNone>(p, stream);
}

}  // namespace kiln::attention
