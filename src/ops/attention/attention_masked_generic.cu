// kiln.Attention on CUDA cores with a bool mask or an additive one of the storage type: the
// masked instantiations of attention_generic.cuh.
#include "ops/attention/attention_generic.cuh"

namespace kiln::attention {

void launch_attention_generic_masked(const AttentionParams& p, bool f16, cudaStream_t stream) {
  using generic::launch;
  if (p.mask.kind == MaskKind::kBool)
    f16 ? launch<__half, MaskKind::kBool>(p, stream) : launch<float, MaskKind::kBool>(p, stream);
  else
    f16 ? launch<__half, MaskKind::kAdditive>(p, stream) : launch<float, MaskKind::kAdditive>(p, stream);
}

}  // namespace kiln::attention
