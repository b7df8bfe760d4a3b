// ResizeSumConv on the GPU: SegFormer's decode-head sum (bilinear upsampling of token maps, an
// identity input, Relu) and the 1x1 conv after it, both on tensor cores, so neither the resized
// maps nor the [B, C, H, W] sum reach memory.
//
// Floor, SegFormer-B2's head at 1024² in fp16, batch 8, 19 classes: stage 0's tokens at the
// output size (805 MB) and stages 1-3 (201 + 50 + 13 MB) read, the fp32 logits written (40 MB):
// 1.11 GB, 0.37 ms at ~3.0 TB/s. ResizeSum alone ran at 39% of that, issue-bound on its fp32
// blends (~87 instructions an output, ncu), and a first fused version that kept its per-thread
// sum was as slow (768 M instructions at batch 8): here the sum is a matrix product too.
//
// The sum as a GEMM. An upsampled input's contribution to output pixel p of row oy is
// Σ_r Σ_c wy_r · wx(p, c) · X[iy_r, c]: per source row r, A_r [pixels][source columns] ·
// B_r [source columns][channels], with A_r holding each pixel's two column weights (times wy_r).
// For upsampling, 16 consecutive output pixels read at most 16 consecutive source columns
// (resize_sum_conv_layout checks it: the band), so an m16 tile of pixels is one k16 step per
// input and row: 6 mma.sync a warp and chunk for B2's three inputs.
// A's fragments depend only on the tile (oy, x0): made once a tile, in registers (fp16 weights
// wy·wx, exact for SegFormer's 2x/4x/8x taps). The identity input is added from shared memory.
// Non-finite source values spread within the band (0 · inf), unlike the unfused graph.
//
// Per tile (64 pixels of one output row), per 64-channel chunk n, in blocks of 8 warps, two an
// SM (a first version of 16 warps on 128-pixel tiles, one an SM, ran at 34% of the copy rate:
// its warps stalled on each other at the barriers with nothing else to issue):
//   wait for chunk n's copies (an mbarrier a buffer pair); barrier; thread 0 starts chunk n + 1's
//   (TMA boxes, runtime/cuda/tensor_map.h: each banded input's source rows of nonzero weight,
//   `cols` columns from the tile's first, the identity's 64 pixels, W's chunk), double-buffered;
//   columns past a tile's span are read too, and a window may run into the next row's (or the
//   padding): finite values, which A's zero weights ignore;
//   warp (m, h) of 4 x 2: S[16 m .., 32 h ..] = Σ A · B + identity, Relu, rounded to fp16 as the
//   unfused graph stores it;
//   up to 64 outputs (nt <= 2): the same warp multiplies S, still in its registers, by W_chunk's
//   32 columns h: acc[16 m .., all outputs] += S · W_chunk[:, 32 h ..]ᵀ, partial over the two
//   channel halves, added at the tile's end (finish_tile). Keeping S out of shared memory took
//   the barrier between sum and conv with it: 25% of the stall samples waited there (c122);
//   more outputs: S to A [64][64]; barrier; warp (wm, wn) of 2 x 4: acc[32 wm .., 8 nt wn ..] +=
//   A · W_chunkᵀ (4 nt n8 tiles of sums a warp would not fit in its registers).
// After the last chunk, acc + bias goes from the fragments to NCHW. Every shared tile has rows of
// 128 B with 16-byte chunk j at j ^ (row % 8), so ldmatrix's 8 rows and the fragments' half2
// accesses fall in distinct banks.
// Count per 64-pixel chunk (B2): 8 TMA boxes or fewer (2 x 3 source rows, where their weight is
// not 0, the identity or x0 and Wp, W), 48 mma.sync for the sum and 8 x 8 for the conv. The
// cp.async version spent most of its 690 M instructions (batch 8, c87_ncu.txt) on the ~1.7 k
// 16-byte copies' addresses a chunk.
#include <cuda_fp16.h>

#include <type_traits>

#include "kiln/status.h"
#include "ops/attention/mma_f16.cuh"
#include "ops/spatial/resize_sum_conv_launch.h"
#include "ops/spatial/resize_sum_conv_tile.cuh"
#include "runtime/cuda/kernel_util.cuh"
#include "runtime/cuda/resident_grid.cuh"
#include "runtime/cuda/tensor_map.cuh"

namespace kiln::spatial {
namespace {

using attention::ldmatrix_x4;
using attention::ldmatrix_x4_trans;
using attention::mma16816;
using attention::pack_half2;
using namespace rsc;

constexpr int kThreads = 256;

// The sum's A fragments for this warp's m16 tile (pixels 16 m ..) of tile tl: per banded input
// and source row, weights wy_r · wx(p, c) for columns c = base .. base + 15 (base: the tile's
// first pixel's first tap), and base's offset kb in the staged columns.
struct SumWeights {
  uint32_t a[kRscMaxBanded][2][4];
  int kb[kRscMaxBanded];
};
__device__ __forceinline__ void sum_weights(const ResizeSumConvParams& p, const Tile& tl, SumWeights& sw) {
  const int lane = int(threadIdx.x % 32), m = int(threadIdx.x / 32) % 4, t4 = lane % 4;
  const int m0 = tl.x0 + 16 * m;
#pragma unroll
  for (int i = 0; i < kRscMaxBanded; ++i) {
    if (i >= p.banded) break;
    const RscSource& s = p.in[i];
    const int lo = s.col_index[2 * tl.x0], base = m0 < p.width ? s.col_index[2 * m0] : lo;
    sw.kb[i] = base - lo;
    const ColumnTaps taps(s, m0, p.width);
    auto at = [&](int h, int k) { return taps.at(h, base + k); };  // pixel row h (g or g + 8), column base + k
    const float2 wy = reinterpret_cast<const float2*>(s.row_weight)[tl.oy];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float v = r ? wy.y : wy.x;
      // a0 (g, 2t), a1 (g + 8, 2t), a2 (g, 2t + 8), a3 (g + 8, 2t + 8), each with column + 1 high.
#pragma unroll
      for (int f = 0; f < 4; ++f) {
        const int h = f & 1, k = 2 * t4 + (f >> 1) * 8;
        sw.a[i][r][f] = pack_half2(v * at(h, k), v * at(h, k + 1));
      }
    }
  }
}

// S = the chunk's sum for this warp's 16 pixels x 32 channels, Relu, as fp16 pairs: sf[nt][h] is
// pixel 16 m + g + 8 h, channels 32 h32 + 8 nt + 2 t, + 1 (the mma accumulator layout). Projected,
// S starts as the identity's x0 · wp[:, chunk] + bp, rounded to fp16 as FusedMatMul stores it.
__device__ __forceinline__ void sum_chunk(const ResizeSumConvParams& p, const SumWeights& sw, const char* stage,
                                          const __half* ident, const __half* x0, const __half* wp, int ch,
                                          uint32_t (&sf)[4][2]) {
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32), m = warp % 4, h32 = warp / 4;
  float s[4][4] = {};
  if (p.projected) {
#pragma unroll
    for (int ks = 0; ks < kCk / 16; ++ks) {
      uint32_t af[4];
      ldmatrix_x4(af, x0 + swz(16 * m + (lane & 15), 2 * ks + (lane >> 4)));
#pragma unroll
      for (int np = 0; np < 2; ++np) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, wp + swz(16 * ks + ((lane >> 3) & 1) * 8 + (lane & 7), h32 * 4 + np * 2 + (lane >> 4)));
        mma16816(s[2 * np], af, b[0], b[1]);
        mma16816(s[2 * np + 1], af, b[2], b[3]);
      }
    }
    const __half* bp = static_cast<const __half*>(p.bp) + ch * kCk + h32 * 32 + 2 * (lane % 4);
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
      const float2 bias = __half22float2(*reinterpret_cast<const __half2*>(bp + 8 * nt));
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const float2 r = __half22float2(__floats2half2_rn(s[nt][2 * h] + bias.x, s[nt][2 * h + 1] + bias.y));
        s[nt][2 * h] = r.x, s[nt][2 * h + 1] = r.y;
      }
    }
  }
#pragma unroll
  for (int i = 0; i < kRscMaxBanded; ++i) {
    if (i >= p.banded) break;
    const __half* cols = reinterpret_cast<const __half*>(stage + p.in[i].off);
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const __half* rows = cols + r * p.in[i].cols * kCk;
      const int k = sw.kb[i] + ((lane >> 3) & 1) * 8 + (lane & 7);
#pragma unroll
      for (int np = 0; np < 2; ++np) {  // channels 32 h32 + 16 np .. + 15: two n8 tiles
        uint32_t b[4];
        ldmatrix_x4_trans(b, rows + swz(k, h32 * 4 + np * 2 + (lane >> 4)));
        mma16816(s[2 * np], sw.a[i][r], b[0], b[1]);
        mma16816(s[2 * np + 1], sw.a[i][r], b[2], b[3]);
      }
    }
  }
  const int g = lane / 4, t4 = lane % 4;
#pragma unroll
  for (int nt = 0; nt < 4; ++nt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int px = 16 * m + g + 8 * h, at = swz(px, h32 * 4 + nt) + 2 * t4;
      float v0 = s[nt][2 * h], v1 = s[nt][2 * h + 1];
      if (p.ident) {
        const float2 e = __half22float2(*reinterpret_cast<const __half2*>(ident + at));
        v0 += e.x, v1 += e.y;
      }
      if (p.relu) v0 = fmaxf(v0, 0.f), v1 = fmaxf(v1, 0.f);
      sf[nt][h] = pack_half2(v0, v1);
    }
}

// The sum to A [64][64] in shared memory, for conv_chunk.
__device__ __forceinline__ void store_sum(const uint32_t (&sf)[4][2], __half* a) {
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32), m = warp % 4, h32 = warp / 4;
  const int g = lane / 4, t4 = lane % 4;
#pragma unroll
  for (int nt = 0; nt < 4; ++nt)
#pragma unroll
    for (int h = 0; h < 2; ++h)
      *reinterpret_cast<uint32_t*>(a + swz(16 * m + g + 8 * h, h32 * 4 + nt) + 2 * t4) = sf[nt][h];
}

// kNt <= kRscRegisterNt: the conv straight from the sum's registers, no A round trip and no
// barrier between the two. The accumulators of n8 tiles 2s and 2s + 1 are, pair by pair, the A
// fragment of k16 slab s (rows g and g + 8, columns 2t and 2t + 8), so this warp multiplies its
// 16 pixels x 32 channels by W's matching 32 columns, for every output channel:
// acc[nt] (pixels 16 m .., outputs 8 nt ..) += S · W[8 nt .., 32 h32 ..]ᵀ, a partial sum over the
// chunk's channel half h32, which finish_tile adds to the other half's.
template <int kNt>
__device__ __forceinline__ void conv_registers(const uint32_t (&sf)[4][2], const __half* w, float (&acc)[4 * kNt][4]) {
  const int lane = int(threadIdx.x % 32), h32 = int(threadIdx.x / 32) / 4;
  const uint32_t a[2][4] = {{sf[0][0], sf[0][1], sf[1][0], sf[1][1]}, {sf[2][0], sf[2][1], sf[3][0], sf[3][1]}};
#pragma unroll
  for (int nt = 0; nt < 4 * kNt; ++nt) {
    uint32_t b[4];  // matrix j: k 8j .. 8j + 7 of the warp's 32 channels; b[0..1] slab 0, b[2..3] slab 1
    ldmatrix_x4(b, w + swz(nt * 8 + (lane & 7), h32 * 4 + (lane >> 3)));
    mma16816(acc[nt], a[0], b[0], b[1]);
    mma16816(acc[nt], a[1], b[2], b[3]);
  }
}

// acc[mt][nt] += A[32 wm + 16 mt ..][0..64) · W[8 kNt wn + 8 nt ..][0..64)ᵀ.
template <int kNt>
__device__ __forceinline__ void conv_chunk(const __half* a, const __half* w, float (&acc)[2][kNt][4]) {
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32), wm = warp % 2, wn = warp / 2;
#pragma unroll
  for (int kp = 0; kp < kCk / 32; ++kp) {  // two k16 steps a pass
    uint32_t af[2][2][4];                   // [k step][m tile]
#pragma unroll
    for (int s = 0; s < 2; ++s)
#pragma unroll
      for (int mt = 0; mt < 2; ++mt)
        ldmatrix_x4(af[s][mt], a + swz(wm * 32 + mt * 16 + (lane & 15), kp * 4 + s * 2 + (lane >> 4)));
#pragma unroll
    for (int nt = 0; nt < kNt; ++nt) {
      // Matrices j = 0..3: k 8j .. 8j + 7 of this pass; rows are output channels, so each is a
      // B fragment as mma's col-major B wants it.
      uint32_t b[4];
      ldmatrix_x4(b, w + swz(wn * 8 * kNt + nt * 8 + (lane & 7), kp * 4 + (lane >> 3)));
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        mma16816(acc[mt][nt], af[0][mt], b[0], b[1]);
        mma16816(acc[mt][nt], af[1][mt], b[2], b[3]);
      }
    }
  }
}

// acc + bias from the fragments to Y [B, classes, H, W]: register i of (mt, nt) is pixel
// 32 wm + 16 mt + g (+8 for i >= 2), output channel 8 kNt wn + 8 nt + 2 t + i % 2; a warp's
// store covers 4 channels x 8 consecutive pixels.
template <int kNt>
__device__ __forceinline__ void store_tile(const ResizeSumConvParams& p, const Tile& tl, const float (&acc)[2][kNt][4]) {
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32), wm = warp % 2, wn = warp / 2;
  const int g = lane / 4, t4 = lane % 4;
#pragma unroll
  for (int nt = 0; nt < kNt; ++nt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int k = wn * 8 * kNt + nt * 8 + 2 * t4 + h;
      if (k >= p.classes) continue;
      const float bias = p.bias_f32 ? static_cast<const float*>(p.bias)[k] : __half2float(static_cast<const __half*>(p.bias)[k]);
      const int64_t row = ((int64_t(tl.b) * p.classes + k) * p.height + tl.oy) * p.width;
#pragma unroll
      for (int mt = 0; mt < 2; ++mt)
#pragma unroll
        for (int hi = 0; hi < 2; ++hi) {
          const int ox = tl.x0 + wm * 32 + mt * 16 + g + 8 * hi;
          if (ox >= p.width) continue;
          const float v = acc[mt][nt][2 * hi + h] + bias;
          if (p.y_f32) static_cast<float*>(p.y)[row + ox] = v;
          else static_cast<__half*>(p.y)[row + ox] = __float2half_rn(v);
        }
    }
}

// The register path's tile end: warps (m, 0) and (m, 1) hold partial sums over the two channel
// halves of the same 16 pixels. Each hands the other the half of the outputs the other stores
// (through A's region, lane-contiguous, conflict-free), then adds, biases and stores its half.
template <int kNt, int kGive>
__device__ __forceinline__ void hand_out(const float (&acc)[4 * kNt][4], float* red) {
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32), m = warp % 4, h32 = warp / 4;
  float* out = red + (m * 2 + h32) * 2 * kNt * 128;
#pragma unroll
  for (int nt = 0; nt < 2 * kNt; ++nt)
#pragma unroll
    for (int i = 0; i < 4; ++i) out[(nt * 4 + i) * 32 + lane] = acc[kGive + nt][i];
}
template <int kNt, int kKeep>
__device__ __forceinline__ void store_half(const ResizeSumConvParams& p, const Tile& tl, const float (&acc)[4 * kNt][4],
                                           const float* red) {
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32), m = warp % 4, h32 = warp / 4;
  const int g = lane / 4, t4 = lane % 4;
  const float* in = red + (m * 2 + (h32 ^ 1)) * 2 * kNt * 128;  // the partner's handout
#pragma unroll
  for (int nt = 0; nt < 2 * kNt; ++nt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int k = (kKeep + nt) * 8 + 2 * t4 + h;
      if (k >= p.classes) continue;
      const float bias = p.bias_f32 ? static_cast<const float*>(p.bias)[k] : __half2float(static_cast<const __half*>(p.bias)[k]);
      const int64_t row = ((int64_t(tl.b) * p.classes + k) * p.height + tl.oy) * p.width;
#pragma unroll
      for (int hi = 0; hi < 2; ++hi) {
        const int ox = tl.x0 + 16 * m + g + 8 * hi, i = 2 * hi + h;
        if (ox >= p.width) continue;
        const float v = acc[kKeep + nt][i] + in[(nt * 4 + i) * 32 + lane] + bias;
        if (p.y_f32) static_cast<float*>(p.y)[row + ox] = v;
        else static_cast<__half*>(p.y)[row + ox] = __float2half_rn(v);
      }
    }
}
// The register path's tile end: warps (m, 0) and (m, 1) hold partial sums over the two channel
// halves of the same 16 pixels. Each hands the other the half of the outputs the other stores
// (through A's region, lane-contiguous, conflict-free), then adds, biases and stores its half.
// Compile-time halves keep acc in registers.
template <int kNt>
__device__ __forceinline__ void finish_tile(const ResizeSumConvParams& p, const Tile& tl, const float (&acc)[4 * kNt][4],
                                            float* red) {
  const bool first = threadIdx.x / 32 < 4;  // h32 0 stores the first half of the outputs
  if (first) hand_out<kNt, 2 * kNt>(acc, red);
  else hand_out<kNt, 0>(acc, red);
  __syncthreads();
  if (first) store_half<kNt, 0>(p, tl, acc, red);
  else store_half<kNt, 2 * kNt>(p, tl, acc, red);
}

// Two blocks an SM: up to 128 registers. Three (80 registers, which 1-2 n8 tiles a warp fit
// without spills) issued 693 M instructions at B2 batch 8 instead of 546 M and ran no faster
// (1.088 against 1.061 ms: c83 against c82).
template <int kNt>
__global__ void __launch_bounds__(kThreads, 2) resize_sum_conv_kernel(const __grid_constant__ RscMaps maps,
                                                                      ResizeSumConvParams p, int x_tiles, int tiles) {
  extern __shared__ uint4 smem[];
  __shared__ __align__(8) uint64_t bars[2];  // one a buffer pair: chunk n completes bars[n % 2]
  // TMA's 128-byte swizzle wants its boxes 1024-byte aligned: the layout counts from there.
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  const uint32_t base = (raw + 1023) & ~1023u;
  char* sm = reinterpret_cast<char*>(smem) + (base - raw);
  const uint32_t bar0 = static_cast<uint32_t>(__cvta_generic_to_shared(bars));
  __half* ident = reinterpret_cast<__half*>(sm + p.ident_off);
  __half* a = reinterpret_cast<__half*>(sm + p.a_off);
  __half* wbuf = reinterpret_cast<__half*>(sm + p.w_off);
  char* stage = sm + p.stage_off;
  constexpr int kTile = kTx * kCk, kWBuf = 32 * kNt * kCk;  // halves a buffer
  const int chunks = p.channels / kCk;
  // Rows of weight 0 are never copied, and a window may read past a row's columns; A's weights
  // for them are 0, so they only have to be finite: zeros from the start, then earlier chunks'.
  for (int i = int(threadIdx.x); i < p.stage_bytes / 8; i += kThreads) reinterpret_cast<uint4*>(stage)[i] = make_uint4(0, 0, 0, 0);
  if (threadIdx.x == 0) {
    cuda::tma::mbarrier_init(bar0, 1);
    cuda::tma::mbarrier_init(bar0 + 8, 1);
    cuda::tma::fence_barrier_init();
  }
  // Every thread's shared-memory accesses (these stores; later, its ldmatrix reads of a buffer
  // pair) before the copies that thread 0 issues into the same bytes after the barrier.
  cuda::tma::fence_proxy_async();
  __syncthreads();
  __half* x0 = reinterpret_cast<__half*>(sm + p.x0_off);  // projected: a tile's tokens, 2 buffers
  __half* wp = reinterpret_cast<__half*>(sm + p.wp_off);  // projected: Wp's chunk, 2 buffers
  constexpr int kWpBuf = kCk * kCk;
  const auto smem_at = [&](const void* ptr) { return static_cast<uint32_t>(__cvta_generic_to_shared(ptr)); };
  // Thread 0's plans, in shared memory rather than in registers every thread would hold: tile
  // k's at plans[k % 2], the next tile's made at the start of this one.
  __shared__ TilePlan plans[2];
  static_assert(sizeof(bars) + sizeof(plans) <= kRscStaticSmem);
  if (threadIdx.x == 0 && int(blockIdx.x) < tiles) {
    plans[0] = plan_tile<kNt>(p, tile_at(p, int(blockIdx.x), x_tiles));
    issue_chunk<kNt>(p, maps, plans[0], 0, smem_at(stage), smem_at(ident), smem_at(wbuf),
                     p.projected ? smem_at(x0) : 0, smem_at(wp), bar0);
  }
  int n = 0;  // chunks done by this block: chunk n uses buffers n % 2
  int k = 0;  // tiles done by this block: tile k's x0 uses buffer k % 2
  for (int t = int(blockIdx.x); t < tiles; t += int(gridDim.x), ++k) {
    const Tile tl = tile_at(p, t, x_tiles);
    const int64_t tn = int64_t(t) + gridDim.x;  // this block's next tile
    if (threadIdx.x == 0 && tn < tiles) plans[(k + 1) & 1] = plan_tile<kNt>(p, tile_at(p, int(tn), x_tiles));
    SumWeights sw;
    sum_weights(p, tl, sw);
    constexpr bool kRegisters = kNt <= kRscRegisterNt;
    std::conditional_t<kRegisters, float[4 * kNt][4], float[2][kNt][4]> acc = {};  // conv_registers' or conv_chunk's
    for (int ch = 0; ch < chunks; ++ch, ++n) {
      cuda::tma::wait_parity(bar0 + 8 * (n & 1), uint32_t(n >> 1) & 1);
      cuda::tma::fence_proxy_async();
      __syncthreads();  // chunk n's copies are in; every warp is done with chunk n - 1's buffers
      const bool last = ch + 1 == chunks;
      if (threadIdx.x == 0 && (!last || tn < tiles)) {
        const int nb = (n + 1) & 1;
        const uint32_t st = smem_at(stage + nb * p.stage_bytes), id = smem_at(ident + nb * kTile),
                       wb = smem_at(wbuf + nb * kWBuf), wpb = smem_at(wp + nb * kWpBuf), bar = bar0 + 8 * nb;
        issue_chunk<kNt>(p, maps, plans[(k + int(last)) & 1], last ? 0 : ch + 1, st, id, wb,
                         last && p.projected ? smem_at(x0 + ((k + 1) & 1) * kTile) : 0, wpb, bar);
      }
      uint32_t sf[4][2];
      sum_chunk(p, sw, stage + (n & 1) * p.stage_bytes, ident + (n & 1) * kTile, x0 + (k & 1) * kTile,
                wp + (n & 1) * kWpBuf, ch, sf);
      if constexpr (kRegisters) {
        conv_registers<kNt>(sf, wbuf + (n & 1) * kWBuf, acc);
      } else {
        store_sum(sf, a);
        __syncthreads();
        conv_chunk<kNt>(a, wbuf + (n & 1) * kWBuf, acc);
      }
    }
    if constexpr (kRegisters) finish_tile<kNt>(p, tl, acc, reinterpret_cast<float*>(a));
    else store_tile<kNt>(p, tl, acc);
  }
}

template <int kNt>
void launch(const ResizeSumConvParams& p, const RscMaps& maps, int x_tiles, int tiles, CudaStream stream) {
  auto kernel = resize_sum_conv_kernel<kNt>;
  if (p.smem_bytes > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, p.smem_bytes));
  const int64_t resident = cuda::resident_blocks(kernel, kThreads, size_t(p.smem_bytes));
  const unsigned grid = unsigned(tiles < resident ? tiles : resident);
  kernel<<<grid, kThreads, size_t(p.smem_bytes), stream>>>(maps, p, x_tiles, tiles);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_resize_sum_conv(const ResizeSumConvParams& p, const RscMaps& maps, CudaStream stream) {
  const int x_tiles = (p.width + kTx - 1) / kTx;
  const int64_t tiles = resize_sum_conv_tiles(p.batch, p.height, p.width);
  if (tiles == 0) return;
  switch (p.nt) {
    case 1: launch<1>(p, maps, x_tiles, int(tiles), stream); break;
    case 2: launch<2>(p, maps, x_tiles, int(tiles), stream); break;
    case 3: launch<3>(p, maps, x_tiles, int(tiles), stream); break;
    case 4: launch<4>(p, maps, x_tiles, int(tiles), stream); break;
    case 5: launch<5>(p, maps, x_tiles, int(tiles), stream); break;
    default: KILN_ASSERT(!"resize_sum_conv nt");
  }
}

}  // namespace kiln::spatial
