// Merges the key splits of a masked attention launch (attention_split.h): per output row, the
// splits' (m, l, unnormalized sums) as the online softmax would have merged them in one block —
// O = Σ_s acc_s·2^(m_s − M) / Σ_s l_s·2^(m_s − M), M = max_s m_s — one thread per element.
// A split whose keys were all masked has m = -inf and weighs nothing; a row with every key
// masked (M = -inf) is NaN, as in the kernels that store O themselves.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "ops/attention/attention_launch.h"
#include "ops/attention/attention_mask.cuh"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::attention {
namespace {

template <class T> __global__ void combine_splits(AttentionParams p) {
  const int64_t total = p.batch * p.nq * p.dv;  // elements of one split's sums
  const float* ml = p.partial + int64_t(p.splits) * total;
  const int64_t rows = p.batch * p.nq;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / p.dv, b = row / p.nq;
    const int c = int(i % p.dv), q = int(row % p.nq);
    float mmax = -INFINITY;
    for (int s = 0; s < p.splits; ++s) mmax = fmaxf(mmax, ml[2 * (s * rows + row)]);
    float out = __int_as_float(0x7fc00000);  // NaN: every key of the row masked
    if (mmax != -INFINITY) {
      float l = 0.f, o = 0.f;
      for (int s = 0; s < p.splits; ++s) {
        const float w = exp2f(ml[2 * (s * rows + row)] - mmax);
        l += ml[2 * (s * rows + row) + 1] * w;
        o += p.partial[s * total + i] * w;
      }
      out = o * inverse_sum(l);
    }
    cuda::store_f(static_cast<T*>(p.o) + p.so.at(b, p.heads, q), c, out);
  }
}

}  // namespace

void launch_attention_combine(const AttentionParams& p, bool f16, cudaStream_t stream) {
  const int64_t total = p.batch * p.nq * p.dv;
  const unsigned blocks = cuda::grid_for(total);
  if (f16) combine_splits<__half><<<blocks, cuda::kThreads, 0, stream>>>(p);
  else combine_splits<float><<<blocks, cuda::kThreads, 0, stream>>>(p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::attention
