// DepthwiseConvNHWC's direct kernel (depthwise_nhwc_launch.h) for every geometry but 3x3 at
// stride 1 and dilation 1, which has its own tiled kernel (depthwise_nhwc_tile.cu, with the byte
// counts of SegFormer's MixFFN). One thread per output pixel and channel vector; channels move in
// 16-byte vectors (8 halves / 4 floats; consecutive lanes take consecutive vectors of one pixel,
// so a warp reads 512 contiguous bytes) when C and the pointers allow, else one element at a
// time; taps read through the cache, and integer index math is 32-bit.
#include <cstdint>

#include "kiln/status.h"
#include "ops/conv/depthwise_nhwc_launch.h"
#include "ops/linear/epilogue_math.cuh"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::conv {
namespace {

constexpr int kThreads = 256;

template <class T, int V> __device__ __forceinline__ void load_bias(const T* b, int c0, bool b_vectors, float (&f)[V]) {
  if (!b) {
#pragma unroll
    for (int k = 0; k < V; ++k) f[k] = 0.f;
  } else if (V * sizeof(T) == 16 && b_vectors) {
    cuda::load_vec<T, V>(b + c0, f);
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) f[k] = cuda::load_f(b, c0 + k);
  }
}

// Thread item = (b * out_hw + pixel) * vecs + cv.
template <class T, int V>
__global__ void __launch_bounds__(kThreads)
    depthwise_nhwc_direct(DepthwiseNhwcParams p, int vecs, int items, bool b_vectors) {
  const int item = int(blockIdx.x) * kThreads + int(threadIdx.x);
  if (item >= items) return;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const T* __restrict__ w = static_cast<const T*>(p.w);
  const T* __restrict__ b = static_cast<const T*>(p.b);
  T* __restrict__ y = static_cast<T*>(p.y);
  const int out_hw = p.out_h * p.out_w, taps = p.k_h * p.k_w;
  const int rest = item / vecs, cv = item - rest * vecs;
  const int n = rest / out_hw, pixel = rest - n * out_hw;
  const int oh = pixel / p.out_w, ow = pixel - oh * p.out_w;
  const int c0 = cv * V, C = p.channels;
  const T* xb = x + n * (p.in_h * p.in_w) * C + c0;
  float acc[V];
  load_bias<T, V>(b, c0, b_vectors, acc);
  for (int i = 0; i < p.k_h; ++i) {
    const int ih = oh * p.s_h - p.p_h + i * p.d_h;
    if (ih < 0 || ih >= p.in_h) continue;
    for (int j = 0; j < p.k_w; ++j) {
      const int iw = ow * p.s_w - p.p_w + j * p.d_w;
      if (iw < 0 || iw >= p.in_w) continue;
      float v[V];
      cuda::load_vec<T, V>(xb + (ih * p.in_w + iw) * C, v);
      const int t = i * p.k_w + j;
#pragma unroll
      for (int k = 0; k < V; ++k) acc[k] = fmaf(cuda::load_f(w, (c0 + k) * taps + t), v[k], acc[k]);
    }
  }
#pragma unroll
  for (int k = 0; k < V; ++k) acc[k] = linear::activate_f(p.act, acc[k]);
  cuda::store_vec<T, V>(y + int64_t(rest) * C + c0, acc);
}

unsigned blocks_for(int64_t items) { return unsigned((items + kThreads - 1) / kThreads); }

template <class T, int V> void launch_v(const DepthwiseNhwcParams& p, CudaStream stream) {
  const int vecs = p.channels / V;
  const bool b_vectors = p.b && cuda::aligned16(p.b);
  const int64_t items = int64_t(p.batch) * p.out_h * p.out_w * vecs;
  KILN_ASSERT(items < (int64_t(1) << 31));
  depthwise_nhwc_direct<T, V><<<blocks_for(items), kThreads, 0, stream>>>(p, vecs, int(items), b_vectors);
}

template <class T> void launch_as(const DepthwiseNhwcParams& p, CudaStream stream) {
  constexpr int kVec = cuda::kVec16<T>;
  if (p.channels % kVec == 0 && cuda::aligned16(p.x) && cuda::aligned16(p.y)) launch_v<T, kVec>(p, stream);
  else launch_v<T, 1>(p, stream);
}

}  // namespace

void launch_depthwise_nhwc(DType dt, const DepthwiseNhwcParams& p, CudaStream stream) {
  if (p.batch == 0 || p.channels == 0 || p.out_h == 0 || p.out_w == 0) return;
  if (p.k_h == 3 && p.k_w == 3 && p.s_h == 1 && p.s_w == 1 && p.d_h == 1 && p.d_w == 1) {
    launch_depthwise_nhwc_3x3(dt, p, stream);
  } else if (dt == DType::kF32) launch_as<float>(p, stream);
  else if (dt == DType::kF16) launch_as<__half>(p, stream);
  else KILN_ASSERT(!"DepthwiseConvNHWC dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::conv
