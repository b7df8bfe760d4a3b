// DepthwiseConvNHWC's 3x3 stride-1 kernel (any pads, any channels; depthwise_nhwc_launch.h),
// shaped by the bytes it must move. SegFormer-B2's MixFFN at 1024^2, fp16, batch 8: stage 0 is
// [8, 256*256, 256] in and out, 2 * 268.4 MB = 536.9 MB, so 0.179 ms at the H100's ~3.0 TB/s
// device-copy rate; stage 1 [8, 128*128, 512] and stage 2 [8, 64*64, 1280] move the same 268.4 MB
// and 167.8 MB (0.089, 0.056 ms); stage 3 [8, 32*32, 2048] 67.1 MB (0.022 ms). Batch 1 is an
// eighth of each (stage 0: 67.1 MB, 22 us).
//
// Time other than memory. Per output element: 9 FMAs, 2.5 fp16 -> fp32 conversions (see the walk
// below), 0.6 shared loads and about 12 instructions of GELU (gelu_erf_fast.h; erff would be ~27)
// and ~2 more: ~26 issue slots. 134M outputs at stage 0 b8 over 132 SMs x 128 lanes x 1.755 GHz:
// ~0.12 ms, two thirds of the memory floor, so the two overlap when enough blocks are resident.
// fp32 keeps erff (~38 slots) against twice the bytes.
//
// Memory in flight (Little: ~3 TB/s x ~0.7 us ~ 2 MB over 132 SMs, ~16 KB per SM): a block loads
// its whole input tile, rows + 2 by 18 pixels by 64 channels, with cp.async, 16 bytes per copy,
// all issued before any waits: 23 KB (fp16) per block; at 80 registers (ptxas, sm_90a) 6 blocks
// fit an SM, up to 138 KB of tiles. Taps outside the image are zero-filled by the copy itself,
// so the arithmetic has no bounds tests (unlike the reference, which skips them, a NaN or inf
// weight on a border tap then gives NaN). fp32: 46 KB tiles, 92 registers, 4 blocks per SM.
//
// Work: a thread owns 4 channels and 2 adjacent output columns and walks the tile's input rows
// top to bottom: each row's 4 pixels (shared memory, 8 or 16 bytes each) feed the 2 columns of
// the up to 3 output rows that tap it, and an output row is finished (bias, activation, stored)
// once its last input row is in. Input pixels are converted 4 times per 2 x rows outputs
// ((rows + 2) * 4 / (2 * rows) = 2.5 per output at 8 rows), weights sit in 36 registers.
// A warp is 16 channel quads x 2 column pairs: its shared loads and its stores are 128 contiguous
// bytes per pixel (fp16), whole sectors.
//
// Predicted (to be measured): stage 0 b8 ~0.20-0.22 ms (80-90% of 3.0 TB/s); stages 1-2 b8 at the
// same rate; batch 1 ~65-80% for stages 0-2, stage 3 b1 (8.4 MB, 2.8 us floor) launch-latency bound.
#include <cstdint>

#include "kiln/status.h"
#include "ops/attention/mma_f16.cuh"
#include "ops/conv/depthwise_nhwc_launch.h"
#include "ops/elementwise/gelu_erf_fast.h"
#include "ops/linear/epilogue_math.cuh"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::conv {
namespace {

constexpr int kSlice = 64;              // channels per block
constexpr int kQuads = kSlice / 4;      // a thread computes 4 channels
constexpr int kTileW = 16;              // output columns per block
constexpr int kPairs = kTileW / 2;      // a thread computes 2 columns
constexpr int kThreads = kQuads * kPairs;  // 128
constexpr int kInW = kTileW + 2;


// Fills the tile with input pixels (iy0 .., ix0 ..) x channels (c0 ..); taps outside the image
// and channels past C read zero. V = 16-byte copies (C % V == 0, x aligned) or 1 (any C, any x).
template <class T, int V, int kRows>
__device__ __forceinline__ void load_tile(T* tile, const T* xb, int iy0, int ix0, int c0, const DepthwiseNhwcParams& p) {
  constexpr int kChunks = kSlice / V, kStep = kThreads / kChunks;  // a thread keeps its chunk
  static_assert(kThreads % kChunks == 0);
  const int ch = (int(threadIdx.x) % kChunks) * V, c = c0 + ch;
  const bool c_ok = c < p.channels;
#pragma unroll 4
  for (int pix = int(threadIdx.x) / kChunks; pix < (kRows + 2) * kInW; pix += kStep) {
    const int r = pix / kInW, iy = iy0 + r, ix = ix0 + pix - r * kInW;
    const bool ok = c_ok && iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
    const T* src = ok ? xb + (iy * p.in_w + ix) * p.channels + c : xb;
    if constexpr (V * sizeof(T) == 16) {
      attention::cp_async16(tile + pix * kSlice + ch, src, ok ? 16 : 0);
    } else {
      tile[pix * kSlice + ch] = ok ? *src : T(0.f);
    }
  }
  if constexpr (V * sizeof(T) == 16) attention::cp_async_commit();
}

// 4 channels of one tile pixel as floats.
template <class T> __device__ __forceinline__ void read4(const T* s, float (&f)[4]) {
  if constexpr (sizeof(T) == 2) {
    const uint2 u = *reinterpret_cast<const uint2*>(s);
    const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&u.x));
    const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&u.y));
    f[0] = a.x, f[1] = a.y, f[2] = b.x, f[3] = b.y;
  } else {
    const float4 v = *reinterpret_cast<const float4*>(s);
    f[0] = v.x, f[1] = v.y, f[2] = v.z, f[3] = v.w;
  }
}

// Weights of channels c .. c+3 as wr[tap][channel]: 36 contiguous elements of w ([C, 9]) at c * 9,
// a multiple of 72 bytes (fp16) or 144 (fp32) from w, so 9 vector loads when w is aligned.
template <class T>
__device__ __forceinline__ void load_weights(const T* w, int c, int nc, bool w_vec, float (&wr)[9][4]) {
  float flat[36];
  if (nc == 4 && w_vec) {
#pragma unroll
    for (int q = 0; q < 9; ++q) read4<T>(w + c * 9 + q * 4, *reinterpret_cast<float(*)[4]>(flat + q * 4));
  } else {
#pragma unroll
    for (int i = 0; i < 36; ++i) flat[i] = i / 9 < nc ? cuda::load_f(w, c * 9 + i) : 0.f;
  }
#pragma unroll
  for (int k = 0; k < 4; ++k)
#pragma unroll
    for (int t = 0; t < 9; ++t) wr[t][k] = flat[k * 9 + t];
}

// The activation on 4 values: one branch per group. fp16 outputs take the short erf GELU
// (error <= 4.3e-7, under fp16's rounding); fp32 keeps erff.
template <class T> __device__ __forceinline__ void activate4(linear::EpilogueActivation act, float (&v)[4]) {
  if (act == linear::EpilogueActivation::kNone) return;
  if (sizeof(T) == 2 && act == linear::EpilogueActivation::kGelu) {
#pragma unroll
    for (int k = 0; k < 4; ++k) v[k] = ew::gelu_erf_fast(v[k]);
  } else {
#pragma unroll
    for (int k = 0; k < 4; ++k) v[k] = linear::activate_f(act, v[k]);
  }
}

// Stores 4 channels c .. c+3 of one output pixel; `n` of them are < C (4 on the vector path).
template <class T, bool kVec> __device__ __forceinline__ void store4(T* y, const float (&v)[4], int n) {
  if constexpr (kVec) {
    if constexpr (sizeof(T) == 2) {
      uint2 u;
      *reinterpret_cast<__half2*>(&u.x) = __floats2half2_rn(v[0], v[1]);
      *reinterpret_cast<__half2*>(&u.y) = __floats2half2_rn(v[2], v[3]);
      *reinterpret_cast<uint2*>(y) = u;
    } else {
      *reinterpret_cast<float4*>(y) = make_float4(v[0], v[1], v[2], v[3]);
    }
  } else {
#pragma unroll
    for (int k = 0; k < 4; ++k)
      if (k < n) cuda::store_f(y, k, v[k]);
  }
}

// Block = (n, row tile, column tile, channel slice) with the slice fastest, so consecutive blocks
// read whole pixels (all channels) and a row tile's halo rows are still in L2 from its neighbour.
template <class T, int V, int kRows>
__global__ void __launch_bounds__(kThreads)
    depthwise_nhwc_tile3(DepthwiseNhwcParams p, int slices, int col_tiles, int row_tiles, bool w_vec) {
  __shared__ __align__(16) T tile[(kRows + 2) * kInW * kSlice];  // 23 KB at 8 rows in fp16
  int rest = int(blockIdx.x);
  const int slice = rest % slices;
  rest /= slices;
  const int ct = rest % col_tiles;
  rest /= col_tiles;
  const int rt = rest % row_tiles, n = rest / row_tiles;
  const int C = p.channels, c_base = slice * kSlice;
  const int oy0 = rt * kRows, ox0 = ct * kTileW;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const T* xb = x + n * (p.in_h * p.in_w) * C;
  load_tile<T, V, kRows>(tile, xb, oy0 - p.p_h, ox0 - p.p_w, c_base, p);

  // While the copies fly: this thread's weights (as wr[tap][channel]) and bias.
  const int quad = int(threadIdx.x) % kQuads, pair = int(threadIdx.x) / kQuads;
  const int c = c_base + quad * 4, nc = min(4, C - c);  // nc <= 0: a quad past C
  const T* __restrict__ w = static_cast<const T*>(p.w);
  const T* __restrict__ b = static_cast<const T*>(p.b);
  float wr[9][4], bias[4];
  load_weights<T>(w, c, nc, w_vec, wr);
#pragma unroll
  for (int k = 0; k < 4; ++k) bias[k] = b && k < nc ? cuda::load_f(b, c + k) : 0.f;
  if constexpr (V * sizeof(T) == 16) attention::cp_async_wait<0>();
  __syncthreads();

  T* __restrict__ y = static_cast<T*>(p.y);
  const int ox = ox0 + pair * 2;
  const bool col_ok[2] = {ox < p.out_w && nc > 0, ox + 1 < p.out_w && nc > 0};
  T* yp = y + ((n * p.out_h + oy0) * p.out_w + ox) * C + c;
  const T* sp = tile + pair * 2 * kSlice + quad * 4;
  float acc[3][2][4];  // output row o lives in acc[o % 3]
#pragma unroll
  for (int r = 0; r < kRows + 2; ++r) {  // input row r taps output rows r-2 .. r (tap rows 2 .. 0)
    float v[4][4];
#pragma unroll
    for (int j = 0; j < 4; ++j) read4<T>(sp + (r * kInW + j) * kSlice, v[j]);
    if (r < kRows) {
#pragma unroll
      for (int q = 0; q < 2; ++q)
#pragma unroll
        for (int k = 0; k < 4; ++k) acc[r % 3][q][k] = bias[k];
    }
#pragma unroll
    for (int i = 0; i < 3; ++i) {
      const int o = r - i;
      if (o < 0 || o >= kRows) continue;
#pragma unroll
      for (int q = 0; q < 2; ++q)
#pragma unroll
        for (int jj = 0; jj < 3; ++jj)
#pragma unroll
          for (int k = 0; k < 4; ++k) acc[o % 3][q][k] = fmaf(wr[i * 3 + jj][k], v[q + jj][k], acc[o % 3][q][k]);
    }
    const int o = r - 2;  // its last input row was just read
    if (o >= 0 && oy0 + o < p.out_h) {
#pragma unroll
      for (int q = 0; q < 2; ++q) {
        activate4<T>(p.act, acc[o % 3][q]);
        if (col_ok[q]) store4<T, V != 1>(yp + (o * p.out_w + q) * C, acc[o % 3][q], nc);
      }
    }
  }
}

template <class T, int V, int kRows> void launch_rows(const DepthwiseNhwcParams& p, CudaStream stream) {
  const int slices = (p.channels + kSlice - 1) / kSlice, col_tiles = (p.out_w + kTileW - 1) / kTileW;
  const int row_tiles = (p.out_h + kRows - 1) / kRows;
  const int64_t blocks = int64_t(p.batch) * row_tiles * col_tiles * slices;
  KILN_ASSERT(blocks < (int64_t(1) << 31));
  depthwise_nhwc_tile3<T, V, kRows><<<unsigned(blocks), kThreads, 0, stream>>>(p, slices, col_tiles, row_tiles,
                                                                                 cuda::aligned16(p.w));
}

// 8 output rows per block, or 4 when 8 would leave fewer than ~8 blocks per SM (small images,
// batch 1: more blocks put more SMs' loads in flight at once).
template <class T, int V> void launch_v(const DepthwiseNhwcParams& p, CudaStream stream) {
  const int64_t tall = int64_t(p.batch) * ((p.out_h + 7) / 8) * ((p.out_w + kTileW - 1) / kTileW) *
                       ((p.channels + kSlice - 1) / kSlice);
  if (tall >= 8 * int64_t(cuda_sm_count())) launch_rows<T, V, 8>(p, stream);
  else launch_rows<T, V, 4>(p, stream);
}

template <class T> void launch_as(const DepthwiseNhwcParams& p, CudaStream stream) {
  constexpr int kVec = cuda::kVec16<T>;
  if (p.channels % kVec == 0 && cuda::aligned16(p.x) && cuda::aligned16(p.y)) launch_v<T, kVec>(p, stream);
  else launch_v<T, 1>(p, stream);
}

}  // namespace

void launch_depthwise_nhwc_3x3(DType dt, const DepthwiseNhwcParams& p, CudaStream stream) {
  if (dt == DType::kF32) launch_as<float>(p, stream);
  else if (dt == DType::kF16) launch_as<__half>(p, stream);
  else KILN_ASSERT(!"DepthwiseConvNHWC dtype");
}

}  // namespace kiln::conv
