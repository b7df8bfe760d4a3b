// kiln.MaskPositionEmbedding on the GPU: a block per batch item. Its threads load the n 0/1 valid
// flags into shared memory, one thread sums them in order (integers below 2^24: exact in float,
// the order does not matter but one pass is simplest), then every thread writes (position,
// frequency) pairs. IEEE float subtract, divide and multiply round as the CPU reference does;
// sinf/cosf (no fast math) are within 2 ulp of its correctly rounded sin and cos.
#include <cuda_runtime.h>

#include "ops/spatial/mask_position_embedding_launch.h"
#include "runtime/cuda/cuda_check.h"

namespace kiln::spatial {
namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) mask_position_embedding(MaskPositionArgs a) {
  extern __shared__ float c[];  // running counts, then positions
  for (int64_t b = blockIdx.x; b < a.batch; b += gridDim.x) {
    const bool* m = a.mask + b * a.plane;
    __syncthreads();  // the previous item's readers are done
    for (int i = threadIdx.x; i < a.n; i += kThreads) c[i] = m[int64_t(i) * a.step] ? 0.f : 1.f;
    __syncthreads();
    if (threadIdx.x == 0)
      for (int i = 1; i < a.n; ++i) c[i] += c[i - 1];
    __syncthreads();
    const float last = c[a.n - 1];
    __syncthreads();  // every thread has read `last` before positions overwrite the counts
    for (int i = threadIdx.x; i < a.n; i += kThreads) c[i] = __fmul_rn(__fdiv_rn(__fsub_rn(c[i], a.offset), last), a.scale);
    __syncthreads();
    float* out = a.out + b * int64_t(a.n) * 2 * a.k;
    const int64_t total = int64_t(a.n) * a.k;
    for (int64_t t = threadIdx.x; t < total; t += kThreads) {
      const int i = int(t / a.k), k = int(t % a.k);
      const float x = __fdiv_rn(c[i], a.divisors[k]);
      float s, co;
      sincosf(x, &s, &co);
      out[2 * t] = s;
      out[2 * t + 1] = co;
    }
  }
}

}  // namespace

void launch_mask_position_embedding(const MaskPositionArgs& a, cudaStream_t stream) {
  const int blocks = int(a.batch < 65535 ? a.batch : 65535);
  mask_position_embedding<<<blocks, kThreads, size_t(a.n) * sizeof(float), stream>>>(a);
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::spatial
