// Mask2Former's semantic and panoptic maps on the GPU from its probabilities at r x r: the
// semantic argmax over class scores, the panoptic owner of each pixel with its segment counts,
// and owner → segment id. One thread per output pixel; the CPU reference's comparisons.
#include "kiln/status.h"
#include "runtime/cuda/post/bilinear_blend.cuh"

namespace kiln::post {
namespace {

__global__ void class_argmax_kernel(const float* __restrict__ scores, int classes, int r, bool resample, DeviceTaps ty,
                                    DeviceTaps tx, int height, int width, int32_t* __restrict__ labels) {
  const int64_t rr = int64_t(r) * r;
  const int64_t n = int64_t(height) * width;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int y = int(i / width), x = int(i - int64_t(y) * width);
    int best = 0;
    float best_v = 0;
    for (int c = 0; c < classes; ++c) {
      const float* plane = scores + c * rr;
      const float v = resample ? blend(plane, r, ty, tx, y, x) : plane[i];
      if (c == 0 || v > best_v) best = c, best_v = v;  // the first maximum, as torch.argmax
    }
    labels[i] = best;
  }
}

// Per-block counters in shared memory (2 * kept), added to the global ones once per block. Warps
// step through the pixels together (the last step masks lanes off), so each warp adds its
// threshold count per query and its owner counts per owner with one atomic: neighbouring pixels
// mostly agree, and per-pixel atomics on one counter would serialize.
__global__ void panoptic_owners_kernel(const float* __restrict__ probs, const float* __restrict__ weights, int kept,
                                       int r, bool resample, DeviceTaps ty, DeviceTaps tx, int height, int width,
                                       float mask_threshold, int32_t* __restrict__ owner,
                                       unsigned long long* __restrict__ owned, unsigned long long* __restrict__ original) {
  extern __shared__ unsigned counts[];  // [0, kept): owned; [kept, 2 kept): original
  for (int j = threadIdx.x; j < 2 * kept; j += blockDim.x) counts[j] = 0;
  __syncthreads();
  const int64_t rr = int64_t(r) * r, n = int64_t(height) * width;
  const int lane = threadIdx.x & 31;
  for (int64_t base = int64_t(blockIdx.x) * blockDim.x; base < n; base += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = base + threadIdx.x;
    const bool valid = i < n;
    const int y = valid ? int(i / width) : 0, x = valid ? int(i - int64_t(y) * width) : 0;
    int best = 0;
    float best_v = 0;
    for (int j = 0; j < kept; ++j) {
      const float* plane = probs + j * rr;
      const float v = valid ? __fmul_rn(resample ? blend(plane, r, ty, tx, y, x) : plane[i], weights[j]) : 0.f;
      if (j == 0 || v > best_v) best = j, best_v = v;
      const unsigned above = __ballot_sync(0xffffffffu, valid && v >= mask_threshold);
      if (lane == 0 && above) atomicAdd(&counts[kept + j], unsigned(__popc(above)));
    }
    if (valid) owner[i] = best;
    const unsigned same = __match_any_sync(0xffffffffu, valid ? best : -1);
    if (valid && lane == __ffs(same) - 1) atomicAdd(&counts[best], unsigned(__popc(same)));
  }
  __syncthreads();
  for (int j = threadIdx.x; j < kept; j += blockDim.x) {
    if (counts[j]) atomicAdd(&owned[j], (unsigned long long)counts[j]);
    if (counts[kept + j]) atomicAdd(&original[j], (unsigned long long)counts[kept + j]);
  }
}

__global__ void owner_ids_kernel(const int32_t* __restrict__ owner, const int32_t* __restrict__ id_of, int64_t n,
                                 int32_t* __restrict__ ids) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    ids[i] = id_of[owner[i]];
}

}  // namespace

void launch_class_argmax(const float* scores, int classes, int r, bool resample, DeviceTaps ty, DeviceTaps tx,
                         int height, int width, int32_t* labels, CudaStream stream) {
  KILN_ASSERT(classes >= 1 && int64_t(height) * width < (int64_t(1) << 31) && (resample || (height == r && width == r)));
  class_argmax_kernel<<<cuda::grid_for(int64_t(height) * width), cuda::kThreads, 0, stream>>>(
      scores, classes, r, resample, ty, tx, height, width, labels);
  CUDA_CHECK_LAUNCH();
}

void launch_panoptic_owners(const float* probs, const float* weights, int kept, int r, bool resample, DeviceTaps ty,
                            DeviceTaps tx, int height, int width, float mask_threshold, int32_t* owner,
                            unsigned long long* owned, unsigned long long* original, CudaStream stream) {
  KILN_ASSERT(kept >= 1 && kept <= kMaxPanopticQueries && int64_t(height) * width < (int64_t(1) << 31) &&
              (resample || (height == r && width == r)));
  // Enough blocks to fill the GPU, few enough that the per-block counters stay cheap to flush.
  unsigned blocks = cuda::grid_for(int64_t(height) * width);
  blocks = blocks > 1024 ? 1024 : blocks;
  panoptic_owners_kernel<<<blocks, cuda::kThreads, 2 * size_t(kept) * sizeof(unsigned), stream>>>(
      probs, weights, kept, r, resample, ty, tx, height, width, mask_threshold, owner, owned, original);
  CUDA_CHECK_LAUNCH();
}

void launch_owner_ids(const int32_t* owner, const int32_t* id_of, int64_t n, int32_t* ids, CudaStream stream) {
  if (n == 0) return;
  owner_ids_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(owner, id_of, n, ids);
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::post
