// kiln.AttentionKeepMask on the GPU: a block per (row, chunk of kKeysPerBlock keys). Each block
// first learns whether the row's mask excludes every key, scanning the row a block-width at a
// time and stopping at the first kept key (__syncthreads_or: usually in the first step; a row
// excluded whole is scanned to its end by each of its blocks, from L2), then writes its chunk
// into every head copy. One block per row left SMs idle and each thread ~60 keys deep: 50 µs for
// Mask2Former Swin-T's 100 × 15,200 keys × 8 copies on an H100. sigmoid is the Sigmoid kernel's
// 1 / (1 + expf(−x)), so each decision is the one the unfused graph made on the GPU.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "ops/attention/attention_keep_mask_launch.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::attention {
namespace {

constexpr int kThreads = 256, kKeysPerBlock = 4 * kThreads;

template <class T>
__device__ __forceinline__ bool excluded(const T* x, int64_t i, float threshold) {
  return 1.f / (1.f + expf(-cuda::load_f(x, i))) < threshold;
}

template <class T>
__global__ void __launch_bounds__(kThreads) keep_mask(KeepMaskArgs a, int64_t chunks) {
  const T* x = static_cast<const T*>(a.x);
  const int64_t copy = a.queries * a.keys;  // from one head copy to the next
  for (int64_t tile = blockIdx.x; tile < a.batch * a.queries * chunks; tile += gridDim.x) {
    const int64_t row = tile / chunks;
    const int begin = int(tile % chunks) * kKeysPerBlock;
    const T* xr = x + row * a.keys;
    bool all_excluded = true;
    for (int64_t k0 = 0; k0 < a.keys; k0 += kThreads) {
      const int64_t k = k0 + threadIdx.x;
      if (__syncthreads_or(k < a.keys && !excluded(xr, k, a.threshold))) {
        all_excluded = false;
        break;
      }
    }
    const int64_t b = row / a.queries, q = row % a.queries;
    bool* y = a.y + (b * a.repeats * a.queries + q) * a.keys;
    const int end = a.keys - begin < kKeysPerBlock ? a.keys : begin + kKeysPerBlock;
    for (int k = begin + int(threadIdx.x); k < end; k += kThreads) {
      const bool keep = all_excluded || !excluded(xr, k, a.threshold);
      for (int r = 0; r < a.repeats; ++r) y[r * copy + k] = keep;
    }
  }
}

}  // namespace

void launch_attention_keep_mask(const KeepMaskArgs& a, cudaStream_t stream) {
  const int64_t chunks = (a.keys + kKeysPerBlock - 1) / kKeysPerBlock;
  const int64_t tiles = a.batch * a.queries * chunks;
  const int blocks = int(tiles < 65535 * 8 ? tiles : 65535 * 8);
  if (a.f16) keep_mask<__half><<<blocks, kThreads, 0, stream>>>(a, chunks);
  else keep_mask<float><<<blocks, kThreads, 0, stream>>>(a, chunks);
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::attention
