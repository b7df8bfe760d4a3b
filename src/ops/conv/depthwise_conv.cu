// Depthwise convolution kernels. cuDNN's NCHW depthwise kernels reach ~10% of HBM bandwidth on
// SegFormer's MixFFN 3x3 convs; a depthwise conv reads each input once and does 9 FMAs per
// output, so it should run at the memory floor.
//
// Tiled kernel (square K in {3,5,7}, stride 1, dilation 1): a block of 256 threads owns a
// TH x TW tile of output of one (n, c) plane. It copies the input rows and columns the tile
// needs (tile + K-1 halo) into shared memory in 16-byte vectors whenever rows are 16-byte
// aligned (the smem row starts at the aligned column at or before the first one needed, so
// vectors land aligned there too), then each thread computes R vertically adjacent outputs of
// one column, reusing each value it reads from shared memory for up to K outputs.
//
// Direct kernel (any kernel, stride, dilation, pads): one thread per output, taps read through
// the cache. Index math within a plane is 32-bit (the host checks extents).
#include "kiln/status.h"
#include "ops/conv/depthwise_conv.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::conv {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxGridY = 65535;

template <class T> __device__ __forceinline__ float to_f(T v) {
  if constexpr (std::is_same_v<T, __half>) return __half2float(v);
  else return v;
}
template <class T> __device__ __forceinline__ T zero() {
  if constexpr (std::is_same_v<T, __half>) return __float2half(0.f);
  else return T(0);
}

template <class T, int K, int TW, int R>
__global__ void __launch_bounds__(kThreads, K == 3 ? 4 : 2) depthwise_tiled(DepthwiseParams p, int tiles_w, bool vectors) {
  constexpr int kVec = 16 / int(sizeof(T));          // elements per 16-byte vector
  constexpr int kThreadRows = kThreads / TW;
  constexpr int TH = kThreadRows * R;                 // output rows per tile
  constexpr int IH = TH + K - 1;                      // input rows per tile
  // Input columns per tile (TW + K - 1) plus up to kVec - 1 before the first needed one, in whole
  // vectors; one more vector of padding staggers banks between rows.
  constexpr int kChunks = (TW + K - 1 + 2 * (kVec - 1)) / kVec;
  constexpr int IWS = (kChunks + 1) * kVec;
  __shared__ __align__(16) T tile[IH * IWS];

  const T* __restrict__ x = static_cast<const T*>(p.x);
  const T* __restrict__ w = static_cast<const T*>(p.w);
  const T* __restrict__ b = static_cast<const T*>(p.b);
  T* __restrict__ y = static_cast<T*>(p.y);

  const int tile_y = int(blockIdx.x) / tiles_w, tile_x = int(blockIdx.x) - tile_y * tiles_w;
  const int oh0 = tile_y * TH, ow0 = tile_x * TW;
  const int iy0 = oh0 - p.p_h, ix0 = ow0 - p.p_w;
  const int a0 = ix0 & ~(kVec - 1);  // floor to a vector boundary (also for negative ix0)
  const int shift = ix0 - a0;
  const int tx = int(threadIdx.x) % TW, trow = int(threadIdx.x) / TW;
  const int in_hw = p.in_h * p.in_w, out_hw = p.out_h * p.out_w;

  for (int plane = blockIdx.y; plane < p.planes; plane += gridDim.y) {
    const T* xp = x + int64_t(plane) * in_hw;
    // Weights and bias first: their latency overlaps the tile's.
    const int c = plane % p.channels;
    float wr[K * K];
#pragma unroll
    for (int i = 0; i < K * K; ++i) wr[i] = cuda::load_f(w, int64_t(c) * (K * K) + i);
    const float bias = b ? cuda::load_f(b, c) : 0.f;
    if (vectors) {
      // in_w is a multiple of kVec and x is 16-byte aligned: a vector is wholly inside or
      // wholly outside a row. All of a thread's loads are issued before any shared store.
      constexpr int kItems = IH * kChunks, kIters = (kItems + kThreads - 1) / kThreads;
      uint4 v[kIters];
#pragma unroll
      for (int it = 0; it < kIters; ++it) {
        const int i = int(threadIdx.x) + it * kThreads;
        const int r = i / kChunks, gy = iy0 + r, gx = a0 + (i - r * kChunks) * kVec;
        v[it] = make_uint4(0, 0, 0, 0);
        if (i < kItems && gy >= 0 && gy < p.in_h && gx >= 0 && gx < p.in_w)
          v[it] = *reinterpret_cast<const uint4*>(xp + gy * p.in_w + gx);
      }
#pragma unroll
      for (int it = 0; it < kIters; ++it) {
        const int i = int(threadIdx.x) + it * kThreads;
        const int r = i / kChunks;
        if (i < kItems) *reinterpret_cast<uint4*>(tile + r * IWS + (i - r * kChunks) * kVec) = v[it];
      }
    } else {
      constexpr int kCols = kChunks * kVec;
      for (int i = threadIdx.x; i < IH * kCols; i += kThreads) {
        const int r = i / kCols, col = i - r * kCols;
        const int gy = iy0 + r, gx = a0 + col;
        tile[r * IWS + col] = gy >= 0 && gy < p.in_h && gx >= 0 && gx < p.in_w ? xp[gy * p.in_w + gx] : zero<T>();
      }
    }
    __syncthreads();

    float acc[R];
#pragma unroll
    for (int r = 0; r < R; ++r) acc[r] = bias;
    const T* src = tile + trow * R * IWS + shift + tx;
#pragma unroll
    for (int ir = 0; ir < R + K - 1; ++ir)
#pragma unroll
      for (int j = 0; j < K; ++j) {
        const float v = to_f(src[ir * IWS + j]);
#pragma unroll
        for (int i = 0; i < K; ++i)
          if (ir - i >= 0 && ir - i < R) acc[ir - i] = fmaf(v, wr[i * K + j], acc[ir - i]);
      }
    const int ow = ow0 + tx;
    if (ow < p.out_w) {
      T* yp = y + int64_t(plane) * out_hw;
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int oh = oh0 + trow * R + r;
        if (oh < p.out_h) cuda::store_f(yp, oh * p.out_w + ow, acc[r]);
      }
    }
    __syncthreads();  // the next plane overwrites the tile
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads) depthwise_direct(DepthwiseParams p) {
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const T* __restrict__ w = static_cast<const T*>(p.w);
  const T* __restrict__ b = static_cast<const T*>(p.b);
  T* __restrict__ y = static_cast<T*>(p.y);
  const int in_hw = p.in_h * p.in_w, out_hw = p.out_h * p.out_w, taps = p.k_h * p.k_w;
  for (int plane = blockIdx.y; plane < p.planes; plane += gridDim.y) {
    const int c = plane % p.channels;
    const T* xp = x + int64_t(plane) * in_hw;
    const T* wp = w + int64_t(c) * taps;
    T* yp = y + int64_t(plane) * out_hw;
    const float bias = b ? cuda::load_f(b, c) : 0.f;
    for (int o = blockIdx.x * kThreads + threadIdx.x; o < out_hw; o += gridDim.x * kThreads) {
      const int oh = o / p.out_w, ow = o - oh * p.out_w;
      const int iy = oh * p.s_h - p.p_h, ix = ow * p.s_w - p.p_w;
      float acc = bias;
      for (int i = 0; i < p.k_h; ++i) {
        const int gy = iy + i * p.d_h;
        if (gy < 0 || gy >= p.in_h) continue;
        for (int j = 0; j < p.k_w; ++j) {
          const int gx = ix + j * p.d_w;
          if (gx >= 0 && gx < p.in_w) acc = fmaf(cuda::load_f(xp, gy * p.in_w + gx), cuda::load_f(wp, i * p.k_w + j), acc);
        }
      }
      cuda::store_f(yp, o, acc);
    }
  }
}

template <class T, int K, int TW, int R>
void launch_tiled(const DepthwiseParams& p, CudaStream stream) {
  constexpr int TH = kThreads / TW * R;
  const int tiles_w = (p.out_w + TW - 1) / TW, tiles_h = (p.out_h + TH - 1) / TH;
  const int64_t tiles = int64_t(tiles_w) * tiles_h;
  KILN_ASSERT(tiles <= 0x7fffffff);
  const bool vectors = p.in_w % (16 / int(sizeof(T))) == 0 && cuda::aligned16(p.x);
  const dim3 grid(unsigned(tiles), unsigned(p.planes < kMaxGridY ? p.planes : kMaxGridY));
  depthwise_tiled<T, K, TW, R><<<grid, kThreads, 0, stream>>>(p, tiles_w, vectors);
}

// Tile width follows the output width so narrow planes (late SegFormer stages) waste few threads.
template <class T, int K> void launch_tiled_k(const DepthwiseParams& p, CudaStream stream) {
  if (p.out_w > 32) launch_tiled<T, K, 64, 8>(p, stream);
  else if (p.out_w > 16) launch_tiled<T, K, 32, 4>(p, stream);
  else launch_tiled<T, K, 16, 2>(p, stream);
}

template <class T> void launch_as(const DepthwiseParams& p, CudaStream stream) {
  const bool unit = p.s_h == 1 && p.s_w == 1 && p.d_h == 1 && p.d_w == 1 && p.k_h == p.k_w;
  if (unit && p.k_h == 3) return launch_tiled_k<T, 3>(p, stream);
  if (unit && p.k_h == 5) return launch_tiled_k<T, 5>(p, stream);
  if (unit && p.k_h == 7) return launch_tiled_k<T, 7>(p, stream);
  const dim3 grid(cuda::grid_for(int64_t(p.out_h) * p.out_w, kThreads),
                  unsigned(p.planes < kMaxGridY ? p.planes : kMaxGridY));
  depthwise_direct<T><<<grid, kThreads, 0, stream>>>(p);
}

}  // namespace

void launch_depthwise_conv(DType dt, const DepthwiseParams& p, CudaStream stream) {
  if (p.planes == 0 || p.out_h == 0 || p.out_w == 0) return;
  if (dt == DType::kF32) launch_as<float>(p, stream);
  else if (dt == DType::kF16) launch_as<__half>(p, stream);
  else KILN_ASSERT(!"depthwise conv dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::conv
