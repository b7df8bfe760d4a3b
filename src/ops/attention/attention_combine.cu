// Merges the key splits of an attention launch (attention_split.h; masked launches, and small
// grids on the wgmma kernel): per output row, the splits' (m, l, unnormalized sums) as the
// online softmax would have merged them in one block —
// O = Σ_s acc_s·2^(m_s − M) / Σ_s l_s·2^(m_s − M), M = max_s m_s.
// A split whose keys were all masked has m = -inf and weighs nothing; a row with every key
// masked (M = -inf) is NaN, as in the kernels that store O themselves.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "ops/attention/attention_launch.h"
#include "ops/attention/attention_mask.cuh"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::attention {
namespace {

// One thread per row and kCols consecutive columns: the row's (m, l) pairs are read once per
// kCols outputs, the sums as one vector load per split where dv allows, and the index math is
// in I (32 bits where the launch fits: 64-bit division is emulated and cost more than the loads).
template <class T, int kCols, class I> __global__ void combine_splits(AttentionParams p) {
  const I rows = I(p.batch) * I(p.nq), groups = I((p.dv + kCols - 1) / kCols), dv = I(p.dv);
  const I total = rows * dv;  // elements of one split's sums
  const float* ml = p.partial + int64_t(p.splits) * int64_t(total);
  for (I i = I(blockIdx.x) * I(blockDim.x) + I(threadIdx.x); i < rows * groups; i += I(gridDim.x) * I(blockDim.x)) {
    const I row = i / groups, c0 = (i % groups) * kCols;
    const I b = row / I(p.nq), q = row % I(p.nq);
    float mmax = -INFINITY;
    for (int s = 0; s < p.splits; ++s) mmax = fmaxf(mmax, ml[2 * (int64_t(s) * rows + row)]);
    float o[kCols] = {}, l = 0.f;
    if (mmax != -INFINITY) {
      for (int s = 0; s < p.splits; ++s) {
        const float w = exp2f(ml[2 * (int64_t(s) * rows + row)] - mmax);
        l += ml[2 * (int64_t(s) * rows + row) + 1] * w;
        const float* src = p.partial + int64_t(s) * total + int64_t(row) * dv + c0;
        if constexpr (kCols == 4) {
          const float4 v = *reinterpret_cast<const float4*>(src);
          o[0] += v.x * w, o[1] += v.y * w, o[2] += v.z * w, o[3] += v.w * w;
        } else {
          o[0] += src[0] * w;
        }
      }
    }
    // NaN where every key of the row was masked (M = -inf), as the unsplit kernels store.
    const float inv = mmax == -INFINITY ? __int_as_float(0x7fc00000) : inverse_sum(l);
    T* orow = static_cast<T*>(p.o) + p.so.at(b, p.heads, q);
#pragma unroll
    for (int k = 0; k < kCols; ++k) cuda::store_f(orow, c0 + k, o[k] * inv);
  }
}

template <class T> void launch_combine(const AttentionParams& p, cudaStream_t stream) {
  const bool vec = p.dv % 4 == 0;
  const int64_t threads = p.batch * p.nq * (vec ? p.dv / 4 : p.dv);
  const int64_t elements = int64_t(p.splits) * p.batch * p.nq * (p.dv + 2);
  const unsigned blocks = cuda::grid_for(threads);
  if (elements < (int64_t(1) << 31)) {
    if (vec) combine_splits<T, 4, int32_t><<<blocks, cuda::kThreads, 0, stream>>>(p);
    else combine_splits<T, 1, int32_t><<<blocks, cuda::kThreads, 0, stream>>>(p);
  } else {
    if (vec) combine_splits<T, 4, int64_t><<<blocks, cuda::kThreads, 0, stream>>>(p);
    else combine_splits<T, 1, int64_t><<<blocks, cuda::kThreads, 0, stream>>>(p);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_attention_combine(const AttentionParams& p, bool f16, cudaStream_t stream) {
  if (f16) launch_combine<__half>(p, stream);
  else launch_combine<float>(p, stream);
}

}  // namespace kiln::attention
