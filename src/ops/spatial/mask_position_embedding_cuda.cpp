// Host side of kiln.MaskPositionEmbedding on the GPU: attribute and shape checks, the divisors
// uploaded once per plan (node state), one launch.
#include <string>

#include "ops/spatial/mask_position_embedding.h"
#include "ops/spatial/mask_position_embedding_launch.h"
#include "ops/spatial/spatial_cuda.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::spatial {
namespace {

struct DivisorState : KernelState {
  DeviceTensor divisors;
};

}  // namespace

void mask_position_embedding_cuda(CudaKernelContext& ctx) {
  const MaskPositionParams p = mask_position_params(ctx);
  const DeviceTensor& mask = ctx.input(0);
  if (mask.dtype != DType::kBool || mask.rank() != 3) ctx.invalid("the mask must be bool [B, H, W]");
  const int64_t H = mask.dims[1], W = mask.dims[2];
  const int64_t n = p.axis == 1 ? H : W;
  if (n > 0 && (p.axis == 1 ? W : H) == 0) ctx.invalid("the mask " + dims_to_string(mask.dims) + " has no first row or column to read");
  if (n > kMaskPositionMaxN)
    ctx.unsupported("positions beyond " + std::to_string(kMaskPositionMaxN) + " along the mask's axis have no CUDA kernel (got " + std::to_string(n) + ")");
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  bool fresh = false;
  DivisorState& s = ctx.state<DivisorState>(&fresh);
  if (fresh) {
    const int64_t k = int64_t(p.divisors.size());
    s.divisors = to_device(Tensor::from_vector<float>({k}, p.divisors), ctx.stream());
  }
  MaskPositionArgs a;
  a.mask = static_cast<const bool*>(mask.data());
  a.divisors = static_cast<const float*>(s.divisors.data());
  a.out = static_cast<float*>(y.data());
  a.batch = mask.dims[0];
  a.n = int(n);
  a.step = p.axis == 1 ? int(W) : 1;
  a.plane = H * W;
  a.k = int(p.divisors.size());
  a.offset = p.offset;
  a.scale = p.scale;
  launch_mask_position_embedding(a, ctx.stream());
}

}  // namespace kiln::spatial
