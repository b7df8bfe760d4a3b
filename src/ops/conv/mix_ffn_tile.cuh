// What the two MixFFN kernels share (mix_ffn.cu on mma.sync, mix_ffn_wgmma.cu on Hopper's
// warpgroup MMAs): the 8 x 16 output tile and its 10 x 18 halo, the LayerNorm of the halo
// tokens, the depthwise conv of one chunk of hidden channels with its activation, and the
// residual epilogue. The shared-memory layouts of the LayerNorm's rows (A) and the conv's output
// (G) differ between the kernels, so those two steps take where to store as a functor.
#pragma once
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "ops/attention/mma_f16.cuh"
#include "ops/conv/dwconv_mma.cuh"
#include "ops/conv/mix_ffn_launch.h"
#include "ops/elementwise/gelu_erf_fast.h"
#include "ops/linear/epilogue_math.cuh"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::conv::mix {

using attention::pack_half2;
using linear::EpilogueActivation;

constexpr int kTileH = 8, kTileW = 16, kTokens = kTileH * kTileW;
constexpr int kHaloW = kTileW + 2, kHalo = (kTileH + 2) * kHaloW, kHaloRows = 192;
constexpr int kChunk = 64;  // hidden channels a step
// H, fc1's output of one chunk: [kHaloRows][kHLd] fp16, rows padded by 8 halves so that the 8
// rows one fragment store (or ldmatrix) touches fall in distinct banks.
constexpr int kHLd = kChunk + 8;
// A chunk's vectors in shared memory (halves): the conv's taps [64][9] at 0, its bias at kBd,
// fc1's bias at kB1.
constexpr int kBd = kChunk * 9, kB1 = kBd + kChunk, kVecs = kB1 + kChunk;

// Warps per block: 8, or 16 at C = 128, where one block fills an SM (its shared memory) and the
// fc2 sums of 128 x 128 would not fit 8 warps' registers beside fc1's.
template <int C> constexpr int kWarps = C == 128 ? 16 : 8;

template <class T> struct Io;
template <> struct Io<float> {
  static __device__ __forceinline__ float2 load2(const float* p) { return *reinterpret_cast<const float2*>(p); }
  static __device__ __forceinline__ void store2(float* p, float a, float b) {
    *reinterpret_cast<float2*>(p) = make_float2(a, b);
  }
};
template <> struct Io<__half> {
  static __device__ __forceinline__ float2 load2(const __half* p) {
    return __half22float2(*reinterpret_cast<const __half2*>(p));
  }
  static __device__ __forceinline__ void store2(__half* p, float a, float b) {
    *reinterpret_cast<__half2*>(p) = __floats2half2_rn(a, b);
  }
};

// Four consecutive values in one load: 16 bytes of fp32 through the shared load_vec, 8 of fp16.
template <class T> __device__ __forceinline__ void load4(const T* p, float (&v)[4]) {
  if constexpr (std::is_same_v<T, float>) {
    cuda::load_vec<float, 4>(p, v);
  } else {
    const uint2 u = *reinterpret_cast<const uint2*>(p);
    const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&u.x));
    const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&u.y));
    v[0] = a.x, v[1] = a.y, v[2] = b.x, v[3] = b.y;
  }
}

struct Tile {
  int b, y0, x0;  // image, first output row and column
};

__device__ __forceinline__ Tile block_tile() {
  return {int(blockIdx.z), int(blockIdx.y) * kTileH, int(blockIdx.x) * kTileW};
}

// Halo row r (of kHaloRows) as a token index, or -1 outside the image (or past kHalo). P: any
// launch parameters with the image's height and width (MixFfnParams, DwConvMatMulParams).
template <class P> __device__ __forceinline__ int64_t halo_token(const P& p, const Tile& t, int r) {
  if (r >= kHalo) return -1;
  const int y = t.y0 - 1 + r / kHaloW, x = t.x0 - 1 + r % kHaloW;
  if (y < 0 || y >= p.height || x < 0 || x >= p.width) return -1;
  return (int64_t(t.b) * p.height + y) * p.width + x;
}

// Chunk k's conv taps and its two biases into `vecs` (kVecs halves), 16 bytes a copy.
__device__ __forceinline__ void fetch_vecs(const MixFfnParams& p, int k, __half* vecs) {
  const int i = threadIdx.x;
  if (i < kBd / 8) attention::cp_async16(vecs + i * 8, static_cast<const __half*>(p.wd) + k * kBd + i * 8, 16);
  else if (i < kB1 / 8)
    attention::cp_async16(vecs + i * 8, static_cast<const __half*>(p.bd) + k * kChunk + i * 8 - kBd, 16);
  else if (i < kVecs / 8)
    attention::cp_async16(vecs + i * 8, static_cast<const __half*>(p.b1) + k * kChunk + i * 8 - kB1, 16);
}

// Each halo row's token index (-1 outside the image), made once per tile by a block of
// kBlockThreads: MixFFN's LayerNorm and fc1 epilogue, DwConvMatMul's copies of H.
template <int kBlockThreads, class P> __device__ __forceinline__ void halo_tokens(const P& p, const Tile& t, int* tok) {
  for (int r = threadIdx.x; r < kHaloRows; r += kBlockThreads) tok[r] = int(halo_token(p, t, r));
}

// Step 1: LayerNorm of the halo tokens, fp16, handed to store(row, c0, four halves as uint2). A
// row is C / 4 lanes holding 4 channels each (16-byte loads of fp32), so a warp normalizes
// 128 / C rows at once; the loads of 1 / kRounds of the halo are issued before any is reduced
// (more rounds, fewer registers).
template <int C, class T, int kRounds, class Store>
__device__ void layer_norm_halo(const MixFfnParams& p, const int* tok, Store store) {
  constexpr int kLanes = C / 4, kRows = 32 / kLanes, kStep = kWarps<C> * kRows, kBatch = kHaloRows / (kRounds * kStep);
  static_assert(kHaloRows % (kStep * kBatch) == 0);
  const int lane = threadIdx.x % 32, c0 = lane % kLanes * 4;
  const int first = threadIdx.x / 32 * kRows + lane / kLanes;
  const T* x = static_cast<const T*>(p.x);
  float gamma[4], beta[4];
  for (int i = 0; i < 4; ++i) {
    gamma[i] = __half2float(static_cast<const __half*>(p.scale)[c0 + i]);
    beta[i] = __half2float(static_cast<const __half*>(p.shift)[c0 + i]);
  }
  for (int r0 = first; r0 < kHaloRows; r0 += kStep * kBatch) {
    float v[kBatch][4];
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      const int tk = tok[r0 + k * kStep];
      if (tk >= 0) load4<T>(x + int64_t(tk) * C + c0, v[k]);
      else
        for (int i = 0; i < 4; ++i) v[k][i] = 0.f;
    }
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      float s = (v[k][0] + v[k][1]) + (v[k][2] + v[k][3]);
#pragma unroll
      for (int o = kLanes / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
      const float mean = s * (1.f / C);
      float q = 0.f;
      for (int i = 0; i < 4; ++i) q += (v[k][i] - mean) * (v[k][i] - mean);
#pragma unroll
      for (int o = kLanes / 2; o > 0; o >>= 1) q += __shfl_xor_sync(0xffffffffu, q, o);
      const float inv = rsqrtf(q * (1.f / C) + p.epsilon);
      const bool inside = tok[r0 + k * kStep] >= 0;
      float y[4];
      for (int i = 0; i < 4; ++i) y[i] = inside ? (v[k][i] - mean) * inv * gamma[i] + beta[i] : 0.f;
      store(r0 + k * kStep, c0, make_uint2(pack_half2(y[0], y[1]), pack_half2(y[2], y[3])));
    }
  }
}

__device__ __forceinline__ float activate(EpilogueActivation act, float v) {
  return act == EpilogueActivation::kGelu ? ew::gelu_erf_fast(v) : linear::activate_f(act, v);
}

// Step 2: the depthwise conv of one chunk on the tensor cores (dwconv_mma.cuh), H (padded rows,
// kHLd) to G through store(token, channel c (even), the half2 of channels c and c + 1), for a
// block of kBlockWarps warps (also dwconv_matmul_wgmma.cu's). Warp w takes channels
// [16 (w % 4), +16) of kRows output rows from (w / 4) kRows.
template <int kBlockWarps, class Store>
__device__ __forceinline__ void dwconv_chunk_warps(EpilogueActivation act, const __half* vecs, const __half* h,
                                                   Store store) {
  constexpr int kGroups = kChunk / 16, kRows = kTileH * kGroups / kBlockWarps;
  static_assert(kTileW == 16 && kRows * kBlockWarps == kTileH * kGroups);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int c0 = warp % kGroups * 16, oy0 = warp / kGroups * kRows;
  dw::DiagTaps w;
  w.load(vecs, vecs + kBd, c0);
  const __half* lane_row = h + (lane % 16) * kHLd + c0 + 8 * (lane / 16);
  // The warp's rows together, sharing their input rows' loads: in pairs 0.388 -> 0.374 ms at
  // B2 stage 0 b8 (c175 -> c182), all four 0.368 (c183); stage 1 (two rows) 0.278 -> 0.263.
  float acc[kRows][2][4];
  dw::conv_rows<kRows>(w, acc, [&](int i, int j) { return lane_row + ((oy0 + i) * kHaloW + j) * kHLd; });
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int oy = oy0 + r;
#pragma unroll
    for (int n = 0; n < 2; ++n)
#pragma unroll
      for (int hh = 0; hh < 2; ++hh)
        store(oy * kTileW + g + 8 * hh, c0 + 8 * n + 2 * t,
              pack_half2(activate(act, acc[r][n][2 * hh]), activate(act, acc[r][n][2 * hh + 1])));
  }
}

template <int C, class Store>
__device__ __forceinline__ void dwconv_chunk(const MixFfnParams& p, const __half* vecs, const __half* h, Store store) {
  dwconv_chunk_warps<kWarps<C>>(EpilogueActivation(p.activation), vecs, h, store);
}

// Step 3: Y = fc2 sums + B2 + X for output token m of the tile (skipped outside the image),
// channels c and c + 1.
template <class T> struct Residual {
  const MixFfnParams& p;
  Tile t;
  __device__ __forceinline__ void operator()(int m, int c, float a0, float a1) const {
    const int oy = t.y0 + m / kTileW, ox = t.x0 + m % kTileW;
    if (oy >= p.height || ox >= p.width) return;
    const int64_t at = ((int64_t(t.b) * p.height + oy) * p.width + ox) * p.channels + c;
    const float2 r = Io<T>::load2(static_cast<const T*>(p.x) + at), bias = Io<T>::load2(static_cast<const T*>(p.b2) + c);
    Io<T>::store2(static_cast<T*>(p.y) + at, a0 + bias.x + r.x, a1 + bias.y + r.y);
  }
};

}  // namespace kiln::conv::mix
