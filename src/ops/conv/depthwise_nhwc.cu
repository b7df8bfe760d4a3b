// DepthwiseConvNHWC kernels (depthwise_nhwc_launch.h). Memory-bound: every input is needed by
// k_h*k_w outputs of its channel, but DRAM should see it once. The floor for SegFormer-B2's
// first MixFFN at 1024^2 ([1, 256*256, 256] fp16): 2 * 33.5 MB (X, Y) / 4.8 TB/s = 14.0 us on an
// H200; the target is >= 60% of that bandwidth (<= 23 us). fp32 math costs 9 FMAs per output
// (~9 us of the H200's FP32 rate at that shape), so the kernels keep other instructions per
// output low: weights are loaded once per thread into registers, channels move in 16-byte
// vectors (8 halves / 4 floats; consecutive lanes take consecutive vectors of one pixel, so a
// warp reads 512 contiguous bytes), and integer index math is 32-bit.
//
// Strip kernel (3x3, stride 1, dilation 1, any pads): a thread owns one channel vector and
// kStrip consecutive output pixels of one row. It walks the kStrip + 2 input columns once, reads
// the 3 rows of each, and adds each vector into the (up to) 3 outputs that tap it; an output is
// stored as soon as its last column was read, so only 3 accumulators are live. Threads of a
// block are consecutive rows of the same strip: rows they share hit L1, the strip halos L2.
//
// Direct kernel (any kernel, stride, dilation, pads): one thread per output pixel and channel
// vector; taps read through the cache.
#include <cstdint>

#include "kiln/status.h"
#include "ops/conv/depthwise_nhwc_launch.h"
#include "ops/linear/epilogue_math.cuh"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::conv {
namespace {

constexpr int kThreads = 256;
constexpr int kStrip = 8;  // output pixels per thread along a row (strip kernel)

// Weights of channels c0 .. c0+V-1 as wr[tap][k]. They are V * taps contiguous elements of w
// ([channels, taps]); with 16-byte vectors and an aligned w they are `taps` aligned vectors.
template <class T, int V, int kTaps>
__device__ __forceinline__ void load_weights(const T* w, int c0, bool w_vectors, float (&wr)[kTaps][V]) {
  float flat[kTaps * V];
  const T* src = w + c0 * kTaps;
  if (V * sizeof(T) == 16 && w_vectors) {
#pragma unroll
    for (int q = 0; q < kTaps; ++q) {
      float chunk[V];
      cuda::load_vec<T, V>(src + q * V, chunk);
#pragma unroll
      for (int k = 0; k < V; ++k) flat[q * V + k] = chunk[k];
    }
  } else {
#pragma unroll
    for (int i = 0; i < kTaps * V; ++i) flat[i] = cuda::load_f(src, i);
  }
#pragma unroll
  for (int k = 0; k < V; ++k)
#pragma unroll
    for (int t = 0; t < kTaps; ++t) wr[t][k] = flat[k * kTaps + t];
}

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

// Thread item = ((b * strips + strip) * out_h + oh) * vecs + cv.
template <class T, int V>
__global__ void __launch_bounds__(kThreads, 2)
    depthwise_nhwc_strip3(DepthwiseNhwcParams p, int vecs, int strips, int items, bool w_vectors, bool b_vectors) {
  const int item = int(blockIdx.x) * kThreads + int(threadIdx.x);
  if (item >= items) return;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const T* __restrict__ w = static_cast<const T*>(p.w);
  const T* __restrict__ b = static_cast<const T*>(p.b);
  T* __restrict__ y = static_cast<T*>(p.y);
  int rest = item / vecs;
  const int cv = item - rest * vecs;
  const int oh = rest % p.out_h;
  rest /= p.out_h;
  const int strip = rest % strips, n = rest / strips;
  const int c0 = cv * V, C = p.channels;

  float wr[9][V], bias[V];
  load_weights<T, V, 9>(w, c0, w_vectors, wr);
  load_bias<T, V>(b, c0, b_vectors, bias);

  const T* xb = x + n * (p.in_h * p.in_w) * C + c0;
  T* yrow = y + (n * (p.out_h * p.out_w) + oh * p.out_w) * C + c0;
  const int ow0 = strip * kStrip, ix0 = ow0 - p.p_w, iy0 = oh - p.p_h;
  bool row_ok[3];
#pragma unroll
  for (int i = 0; i < 3; ++i) row_ok[i] = iy0 + i >= 0 && iy0 + i < p.in_h;

  float acc[kStrip][V];
#pragma unroll
  for (int o = 0; o < kStrip; ++o)
#pragma unroll
    for (int k = 0; k < V; ++k) acc[o][k] = bias[k];
#pragma unroll
  for (int jj = 0; jj < kStrip + 2; ++jj) {  // input column ix0 + jj feeds outputs jj-2 .. jj
    const int ix = ix0 + jj;
    if (ix >= 0 && ix < p.in_w) {
#pragma unroll
      for (int i = 0; i < 3; ++i) {
        if (!row_ok[i]) continue;
        float v[V];
        cuda::load_vec<T, V>(xb + ((iy0 + i) * p.in_w + ix) * C, v);
#pragma unroll
        for (int j = 0; j < 3; ++j) {
          const int o = jj - j;
          if (o < 0 || o >= kStrip) continue;
#pragma unroll
          for (int k = 0; k < V; ++k) acc[o][k] = fmaf(wr[i * 3 + j][k], v[k], acc[o][k]);
        }
      }
    }
    const int o = jj - 2;  // its last column was just read
    if (o >= 0 && ow0 + o < p.out_w) {
#pragma unroll
      for (int k = 0; k < V; ++k) acc[o][k] = linear::activate_f(p.act, acc[o][k]);
      cuda::store_vec<T, V>(yrow + (ow0 + o) * C, acc[o]);
    }
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
  if (p.k_h == 3 && p.k_w == 3 && p.s_h == 1 && p.s_w == 1 && p.d_h == 1 && p.d_w == 1) {
    const int strips = (p.out_w + kStrip - 1) / kStrip;
    const int64_t items = int64_t(p.batch) * strips * p.out_h * vecs;
    KILN_ASSERT(items < (int64_t(1) << 31));
    depthwise_nhwc_strip3<T, V><<<blocks_for(items), kThreads, 0, stream>>>(p, vecs, strips, int(items),
                                                                             cuda::aligned16(p.w), b_vectors);
  } else {
    const int64_t items = int64_t(p.batch) * p.out_h * p.out_w * vecs;
    KILN_ASSERT(items < (int64_t(1) << 31));
    depthwise_nhwc_direct<T, V><<<blocks_for(items), kThreads, 0, stream>>>(p, vecs, int(items), b_vectors);
  }
}

template <class T> void launch_as(const DepthwiseNhwcParams& p, CudaStream stream) {
  constexpr int kVec = cuda::kVec16<T>;
  if (p.channels % kVec == 0 && cuda::aligned16(p.x) && cuda::aligned16(p.y)) launch_v<T, kVec>(p, stream);
  else launch_v<T, 1>(p, stream);
}

}  // namespace

void launch_depthwise_nhwc(DType dt, const DepthwiseNhwcParams& p, CudaStream stream) {
  if (p.batch == 0 || p.channels == 0 || p.out_h == 0 || p.out_w == 0) return;
  if (dt == DType::kF32) launch_as<float>(p, stream);
  else if (dt == DType::kF16) launch_as<__half>(p, stream);
  else KILN_ASSERT(!"DepthwiseConvNHWC dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::conv
