// Mask2Former's mask probabilities on the GPU: the mask logits of some queries resized
// bilinearly and through the portable sigmoid, one thread per output pixel.
#include "io/portable_sigmoid.h"
#include "kiln/status.h"
#include "runtime/cuda/post/bilinear_blend.cuh"

namespace kiln::post {
namespace {

// Grid: x over the output pixels (grid-stride), y over the queries.
template <class T>
__global__ void mask_probs_kernel(const T* __restrict__ logits, int h, int w, const int32_t* __restrict__ queries,
                                  DeviceTaps ty, DeviceTaps tx, int out_h, int out_w, float* __restrict__ probs) {
  const int j = blockIdx.y;
  const int64_t q = queries ? queries[j] : j;
  const T* plane = logits + q * h * w;
  float* out = probs + int64_t(j) * out_h * out_w;
  const int64_t n = int64_t(out_h) * out_w;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int y = int(i / out_w), x = int(i - int64_t(y) * out_w);
    out[i] = portable_sigmoid(blend(plane, w, ty, tx, y, x));
  }
}

}  // namespace

void launch_mask_probs(DType mask_type, const void* mask_logits, int h, int w, const int32_t* queries, int count,
                       DeviceTaps ty, DeviceTaps tx, int out_h, int out_w, float* probs, CudaStream stream) {
  KILN_ASSERT(count >= 1 && count <= 65535 && int64_t(out_h) * out_w < (int64_t(1) << 31) &&
              (mask_type == DType::kF32 || mask_type == DType::kF16));
  unsigned blocks = cuda::grid_for(int64_t(out_h) * out_w);
  blocks = blocks > 1024 ? 1024 : blocks;
  const dim3 grid(blocks, unsigned(count));
  if (mask_type == DType::kF16)
    mask_probs_kernel<__half><<<grid, cuda::kThreads, 0, stream>>>(static_cast<const __half*>(mask_logits), h, w,
                                                                   queries, ty, tx, out_h, out_w, probs);
  else
    mask_probs_kernel<float><<<grid, cuda::kThreads, 0, stream>>>(static_cast<const float*>(mask_logits), h, w,
                                                                  queries, ty, tx, out_h, out_w, probs);
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::post
