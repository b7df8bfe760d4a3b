// kiln.AttentionKeepMask on the GPU: a block per (b, q) row of keys. It reads the row once to
// learn whether the mask excludes every key (__syncthreads_or), then again (from L2) to write the
// row into each of its head copies. sigmoid is the Sigmoid kernel's 1 / (1 + expf(−x)), so each
// decision is the one the unfused graph made on the GPU. Mask2Former Swin-T at 800×1216: 100
// rows of at most 15,200 keys, a few MB each way.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "ops/attention/attention_keep_mask_launch.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::attention {
namespace {

constexpr int kThreads = 256;

template <class T>
__device__ __forceinline__ bool excluded(const T* x, int64_t i, float threshold) {
  return 1.f / (1.f + expf(-cuda::load_f(x, i))) < threshold;
}

template <class T>
__global__ void __launch_bounds__(kThreads) keep_mask(KeepMaskArgs a) {
  const T* x = static_cast<const T*>(a.x);
  for (int64_t row = blockIdx.x; row < a.batch * a.queries; row += gridDim.x) {
    const T* xr = x + row * a.keys;
    int keeps_some = 0;
    for (int k = threadIdx.x; k < a.keys && !keeps_some; k += kThreads) keeps_some = !excluded(xr, k, a.threshold);
    const bool all_excluded = !__syncthreads_or(keeps_some);
    const int64_t b = row / a.queries, q = row % a.queries;
    bool* y = a.y + (b * a.repeats * a.queries + q) * a.keys;
    const int64_t copy = a.queries * a.keys;  // from one head copy to the next
    for (int k = threadIdx.x; k < a.keys; k += kThreads) {
      const bool keep = all_excluded || !excluded(xr, k, a.threshold);
      for (int r = 0; r < a.repeats; ++r) y[r * copy + k] = keep;
    }
  }
}

}  // namespace

void launch_attention_keep_mask(const KeepMaskArgs& a, cudaStream_t stream) {
  const int64_t rows = a.batch * a.queries;
  const int blocks = int(rows < 65535 ? rows : 65535);
  if (a.f16) keep_mask<__half><<<blocks, kThreads, 0, stream>>>(a);
  else keep_mask<float><<<blocks, kThreads, 0, stream>>>(a);
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::attention
