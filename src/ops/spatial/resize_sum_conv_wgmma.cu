// ResizeSumConv on Hopper's warpgroup MMAs, for up to 32 classes (SegFormer's Cityscapes head):
// the same sum and classifier as resize_sum_conv.cu, as m64 products of one warpgroup a block
// over 8 x 8-pixel output tiles (resize_sum_conv_geometry.h: RscWgmmaLayout).
//
// Per tile, per 64-channel chunk n:
//   S [64 px][64 ch] = x0 · Wp[:, chunk]                 4 k16 steps
//                    + Σ_i A_i · window_i                per banded input, its window's pixels
//                                                        (one TMA box) as k: 1, 1 and 3 steps
//   S = Relu(S + Bp, or + the identity's chunk), rounded to fp16 as the unfused ResizeSum stores it
//   acc [64 px][32 classes] += S · W[:, chunk]ᵀ           4 k16 steps, m64n32, A from S's registers
// S's products read both operands from shared memory: x0 (the tile's source tokens) and A_i,
// each pixel's row weight times its column weight at every window pixel, fp16 (exact for
// 2x/4x/8x), written there once a tile. The projection is not rounded to fp16 before the
// banded terms join it, as the unfused graph does (one fp16 step, 2^-11, at most). Per chunk:
// issue S(n); wait for the classifier of n - 1, which frees its stage for chunk n + 1's copies
// (thread 0); wait for S(n), finish it and issue its classifier, which runs while the next
// chunk's copies land and the SM's other blocks run their products.
//
// What was measured (op bench, B2's projected head, H100): the mma.sync kernel 0.714 ms at b8;
// this kernel over 64-pixel output rows, a source row's window columns a k step (16 steps a
// chunk, two blocks an SM), 0.615 ms (c198): latency-bound, 0.42 eligible warps a scheduler, the
// tensor pipe 40% busy, and 36 KB of copies an item. The 8 x 8 tiles take 9 steps a chunk, 20
// KB of copies, and 69 KB of shared memory: three blocks an SM.
#include <cuda_fp16.h>

#include <atomic>

#include "kiln/status.h"
#include "ops/attention/mma_f16.cuh"
#include "ops/attention/wgmma.cuh"
#include "ops/spatial/resize_sum_conv_launch.h"
#include "ops/spatial/resize_sum_conv_tile.cuh"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/cuda/kernel_util.cuh"
#include "runtime/cuda/resident_grid.cuh"

namespace kiln::spatial {
namespace {

using attention::pack_half2;
using namespace rsc;
namespace wg = attention::wgmma;

constexpr int kThreads = 128, kStages = kRscWgmmaStages, kT = kRscWinTile;
constexpr uint32_t kTileBytes = 64 * kRscPixelBytes;  // one [64][64] fp16 tile
static_assert(kT * kT == 64, "a tile is the m64 products' rows");

// The banded slots' k16 steps, compiled in (a kRscWgmmaSteps pattern).
template <int kS0, int kS1, int kS2> struct Steps {
  __host__ __device__ static constexpr int of(int i) { return i == 0 ? kS0 : i == 1 ? kS1 : kS2; }
};

// An 8 x 8 output tile: image, first row and column. Tiles run along the rows of tiles.
struct WinTile {
  int b, oy, ox;
};
__device__ __forceinline__ WinTile win_tile(const ResizeSumConvParams& p, int t) {
  const int x_tiles = (p.width + kT - 1) / kT, y_tiles = (p.height + kT - 1) / kT;
  const int tx = t % x_tiles, r = t / x_tiles;
  return {r / y_tiles, r % y_tiles * kT, tx * kT};
}

// The tile's interpolation weights into `buf` (shared memory): step q (slot i's window pixels
// 16 kk ..) is columns 16 (q % 4) .. of [64 px][64] swizzled tile q / 4; window pixel k is row
// k / cols, column k % cols from the window's origin (the tile's first row's and column's first
// taps), weight 0 past rows · cols. This thread writes its rows of the m64 A fragments: pixels
// 16 w + g (+ 8), i.e. tile row 2 w (+ 1), column g; columns 2 t (+ 8), pairs.
template <class S> __device__ __forceinline__ void write_weights(const ResizeSumConvParams& p, const WinTile& tl, char* buf) {
  const int lane = int(threadIdx.x % 32), w = int(threadIdx.x / 32), g = lane / 4, t4 = lane % 4;
  int q = 0;
#pragma unroll
  for (int i = 0; i < kRscMaxBanded; ++i) {
    const RscSource& s = p.in[i];
    const int ry = s.row_index[2 * tl.oy], cx = s.col_index[2 * tl.ox], n = s.rows * s.cols;
    const TapPair col(s.col_index, s.col_weight, tl.ox + g, p.width);
    const TapPair row[2] = {TapPair(s.row_index, s.row_weight, tl.oy + 2 * w, p.height),
                            TapPair(s.row_index, s.row_weight, tl.oy + 2 * w + 1, p.height)};
#pragma unroll
    for (int kk = 0; kk < S::of(i); ++kk, ++q) {
      char* tile = buf + (q / 4) * kTileBytes;
#pragma unroll
      for (int f = 0; f < 4; ++f) {
        const int h = f & 1, k = 16 * kk + 2 * t4 + (f >> 1) * 8;
        float v[2];
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int r = (k + e) / s.cols, c = k + e - r * s.cols;
          v[e] = k + e < n ? row[h].at(ry + r) * col.at(cx + c) : 0.f;
        }
        *reinterpret_cast<uint32_t*>(tile + wg::swizzled(16 * w + g + 8 * h, 16 * (q % 4) + 2 * t4 + (f >> 1) * 8)) =
            pack_half2(v[0], v[1]);
      }
    }
  }
}

// S of one item into s (m64n64 accumulator layout): the projection, then every banded slot's
// window, all from shared memory (stage `st`, the tile's weights `wt` and source tokens `x0`).
// Issued and committed; every product unconditional.
template <bool kProjected, class S>
__device__ __forceinline__ void issue_sum(const ResizeSumConvParams& p, uint32_t st, uint32_t wt, uint32_t x0,
                                          float (&s)[32]) {
  wg::fence();
  if constexpr (kProjected) {
    const uint64_t a = wg::descriptor(x0), b = wg::descriptor(st + uint32_t(p.wp_off));
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) wg::mma_ss_bt<64>(s, a + 2 * kk, b + 128 * kk, kk > 0);
  }
  int q = 0;
#pragma unroll
  for (int i = 0; i < kRscMaxBanded; ++i) {
    const uint64_t b = wg::descriptor(st + uint32_t(p.in[i].off));
#pragma unroll
    for (int kk = 0; kk < S::of(i); ++kk, ++q) {
      const uint64_t a = wg::descriptor(wt + uint32_t(q / 4) * kTileBytes) + 2 * (q % 4);
      wg::mma_ss_bt<64>(s, a, b + 128 * kk, kProjected || q > 0);
    }
  }
  wg::commit();
}

// S + Bp (projected) or + the identity's chunk, Relu, to fp16 A fragments of the classifier's
// four k16 steps (pack_p's order: n8 tiles 2kk and 2kk + 1).
__device__ __forceinline__ void finish_sum(const ResizeSumConvParams& p, const float (&s)[32], const __half* ident,
                                           int ch, uint32_t (&sa)[4][4]) {
  const int lane = int(threadIdx.x % 32), w = int(threadIdx.x / 32), g = lane / 4, t4 = lane % 4;
  float v[32];
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const float2 bias = p.projected ? __half22float2(*reinterpret_cast<const __half2*>(
                                          static_cast<const __half*>(p.bp) + ch * kCk + 8 * j + 2 * t4))
                                    : make_float2(0.f, 0.f);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float2 e = bias;
      if (p.ident) e = __half22float2(*reinterpret_cast<const __half2*>(ident + swz(16 * w + g + 8 * h, j) + 2 * t4));
      float a = s[4 * j + 2 * h] + e.x, b = s[4 * j + 2 * h + 1] + e.y;
      if (p.relu) a = fmaxf(a, 0.f), b = fmaxf(b, 0.f);
      v[4 * j + 2 * h] = a, v[4 * j + 2 * h + 1] = b;
    }
  }
#pragma unroll
  for (int kk = 0; kk < 4; ++kk)
#pragma unroll
    for (int f = 0; f < 4; ++f) sa[kk][f] = pack_half2(v[8 * kk + 2 * f], v[8 * kk + 2 * f + 1]);
}

// acc + bias to Y [B, classes, H, W]: element 4 j + 2 h + e is pixel 16 w + g + 8 h (tile row
// 2 w + h, column g), class 8 j + 2 t + e.
__device__ __forceinline__ void store_tile(const ResizeSumConvParams& p, const WinTile& tl, const float (&acc)[16]) {
  const int lane = int(threadIdx.x % 32), w = int(threadIdx.x / 32), g = lane / 4, t4 = lane % 4;
  const int ox = tl.ox + g;
  if (ox >= p.width) return;
#pragma unroll
  for (int j = 0; j < 4; ++j)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int k = 8 * j + 2 * t4 + e;
      if (k >= p.classes) continue;
      const float bias = p.bias_f32 ? static_cast<const float*>(p.bias)[k] : __half2float(static_cast<const __half*>(p.bias)[k]);
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int oy = tl.oy + 2 * w + h;
        if (oy >= p.height) continue;
        const int64_t at = ((int64_t(tl.b) * p.classes + k) * p.height + oy) * p.width + ox;
        const float v = acc[4 * j + 2 * h + e] + bias;
        if (p.y_f32) static_cast<float*>(p.y)[at] = v;
        else static_cast<__half*>(p.y)[at] = __float2half_rn(v);
      }
    }
}

// The bytes of one chunk's boxes without x0's: whole boxes, the parts outside the pictures too.
__device__ __forceinline__ uint32_t chunk_bytes(const ResizeSumConvParams& p) {
  uint32_t bytes = 32 * kRscPixelBytes + (p.ident || p.projected ? 64 * kRscPixelBytes : 0);
#pragma unroll
  for (int i = 0; i < kRscMaxBanded; ++i) bytes += uint32_t(p.in[i].rows * p.in[i].cols) * kRscPixelBytes;
  return bytes;
}

// One thread: starts the TMA copies of a tile's chunk ch into one stage, all completing `bar`
// (its expected bytes, `bytes` = chunk_bytes plus x0's, count exactly the boxes issued, or the
// waits never end); x0 (the projected identity's source tokens, the tile's) only when given
// (nonzero). at[i]: slot i's window origin (column, row).
__device__ __forceinline__ void issue_window_chunk(const ResizeSumConvParams& p, const RscMaps& maps, const WinTile& tl,
                                                   const int2 (&at)[kRscMaxBanded], int ch, uint32_t stage, uint32_t x0,
                                                   uint32_t bytes, uint32_t bar) {
  namespace tma = cuda::tma;
  const int c = ch * kCk;
  tma::arrive_expect_tx(bar, bytes + (p.projected && x0 ? 64 * kRscPixelBytes : 0));
#pragma unroll
  for (int i = 0; i < kRscMaxBanded; ++i) tma::load_4d(stage + p.in[i].off, &maps.in[i], bar, c, at[i].x, at[i].y, tl.b);
  if (p.ident) tma::load_4d(stage + p.ident_off, &maps.ident, bar, c, tl.ox, tl.oy, tl.b);
  tma::load_4d(stage + p.w_off, &maps.w, bar, c, 0, 0, 0);
  if (p.projected) {
    tma::load_4d(stage + p.wp_off, &maps.wp, bar, c, 0, 0, 0);
    if (x0) tma::load_4d(x0, &maps.x0, bar, 0, tl.ox, tl.oy, tl.b);
  }
}

// One block's state. Items: n is chunk n % chunks of the block's (n / chunks)-th tile.
template <bool kProjected, class S> struct Block {
  const RscMaps& maps;
  const ResizeSumConvParams& p;
  int chunks, items;
  uint32_t base, bar0;
  char* sm;
  uint32_t bytes;              // chunk_bytes, once a block
  WinTile next;                // thread 0's: the tile it is staging
  int2 origin[kRscMaxBanded];  // and its windows' origins

  __device__ __forceinline__ int tile(int n) const { return int(blockIdx.x) + n / chunks * int(gridDim.x); }
  __device__ __forceinline__ uint32_t stage(int n) const { return uint32_t((n % kStages) * p.stage_bytes); }

  // Thread 0: item n's copies (a tile's first brings its source tokens too), the tile's window
  // origins read once, at its first item (items are issued in order): read per chunk, dependent
  // global loads would sit on warp 0's path to the sum.
  __device__ __forceinline__ void issue(int n) {
    const int ch = n % chunks;
    if (ch == 0) {
      next = win_tile(p, tile(n));
#pragma unroll
      for (int i = 0; i < kRscMaxBanded; ++i) origin[i] = make_int2(p.in[i].col_index[2 * next.ox], p.in[i].row_index[2 * next.oy]);
    }
    const uint32_t x0 = kProjected && ch == 0 ? base + uint32_t(p.x0_off) : 0;
    issue_window_chunk(p, maps, next, origin, ch, base + stage(n), x0, bytes, bar0 + 8 * (n % kStages));
  }

  // The tile of items n0 ..: per chunk, S(n) is issued; the wait for the classifier of n - 1
  // frees its stage for item n + 1's copies (the next tile's first only once S(n), the last
  // reader of the source tokens, is done); S(n) is finished and its classifier issued, to run
  // while the next chunk's copies land. Then the classifier into Y, acc copied by volatile asm
  // so that no read of it moves above the wait.
  __device__ __forceinline__ void run_tile(int n0) {
    const WinTile tl = win_tile(p, tile(n0));
    write_weights<S>(p, tl, sm + p.wt_off);  // the last tile's products are done
    cuda::tma::fence_proxy_async();
    __syncthreads();
    float acc[16];  // a tile's first product ignores its old value
    for (int ch = 0; ch < chunks; ++ch) {
      const int n = n0 + ch;
      const bool last = ch + 1 == chunks;
      float s[32];
      cuda::tma::wait_parity(bar0 + 8 * (n % kStages), uint32_t(n / kStages) & 1);
      issue_sum<kProjected, S>(p, base + stage(n), base + uint32_t(p.wt_off), base + uint32_t(p.x0_off), s);
      wg::wait<1>();  // the classifier of n - 1
      cuda::tma::fence_proxy_async();
      __syncthreads();  // every warp is done with item n - 1's stage
      if (threadIdx.x == 0 && !last) issue(n + 1);
      wg::wait<0>();
      wg::pin(s);
      if (threadIdx.x == 0 && last && n + 1 < items) issue(n + 1);
      uint32_t sa[4][4];
      finish_sum(p, s, reinterpret_cast<const __half*>(sm + stage(n) + p.ident_off), ch, sa);
      wg::fence();
      const uint64_t dw = wg::descriptor(base + stage(n) + uint32_t(p.w_off));
#pragma unroll
      for (int kk = 0; kk < 4; ++kk) wg::mma_rs_n32(acc, sa[kk], dw + 2 * kk, ch > 0 || kk > 0);
      wg::commit();
    }
    wg::wait<0>();
    float out[16];
#pragma unroll
    for (int i = 0; i < 16; ++i) asm volatile("mov.b32 %0, %1;\n" : "=f"(out[i]) : "f"(acc[i]));
    store_tile(p, tl, out);
  }
};

template <bool kProjected, int kS0, int kS1, int kS2>
__global__ void __launch_bounds__(kThreads, 3) resize_sum_conv_wgmma_kernel(const __grid_constant__ RscMaps maps,
                                                                            ResizeSumConvParams p, int tiles) {
  using S = Steps<kS0, kS1, kS2>;
  extern __shared__ uint4 smem[];
  __shared__ __align__(8) uint64_t bars[kStages];  // item n completes bars[n % kStages]
  static_assert(sizeof(bars) <= kRscStaticSmem);
  const int chunks = p.channels / kCk;
  const int items = int(blockIdx.x) < tiles ? (tiles - int(blockIdx.x) + int(gridDim.x) - 1) / int(gridDim.x) * chunks : 0;
  if (items == 0) return;
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  Block<kProjected, S> b{maps, p, chunks, items};
  b.base = (raw + 1023) & ~1023u;  // TMA's and wgmma's 128-byte swizzle
  b.sm = reinterpret_cast<char*>(smem) + (b.base - raw);
  b.bar0 = static_cast<uint32_t>(__cvta_generic_to_shared(bars));
  b.bytes = chunk_bytes(p);
  // A slot's steps past its window's pixels are never copied: they only have to hold finite
  // values (their weights are 0).
  for (int i = int(threadIdx.x); i < kStages * p.stage_bytes / 16; i += kThreads) reinterpret_cast<uint4*>(b.sm)[i] = make_uint4(0, 0, 0, 0);
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) cuda::tma::mbarrier_init(b.bar0 + 8 * s, 1);
    cuda::tma::fence_barrier_init();
  }
  cuda::tma::fence_proxy_async();
  __syncthreads();
  if (threadIdx.x == 0) b.issue(0);
  for (int n0 = 0; n0 < items; n0 += chunks) b.run_tile(n0);
}

// kRscWgmmaSteps[P] as types, for the launcher.
template <int P> struct Pattern {
  static constexpr int kA = kRscWgmmaSteps[P][0], kB = kRscWgmmaSteps[P][1], kC = kRscWgmmaSteps[P][2];
};

std::atomic<bool> wgmma_allowed{true};

}  // namespace

bool resize_sum_conv_wgmma_allowed() { return wgmma_allowed.load() && cuda_hopper(); }
void set_resize_sum_conv_wgmma_allowed(bool allowed) { wgmma_allowed.store(allowed); }

void launch_resize_sum_conv_wgmma(const ResizeSumConvParams& p, const RscMaps& maps, int pattern, CudaStream stream) {
  const int64_t tiles = int64_t(p.batch) * ((p.height + kT - 1) / kT) * ((p.width + kT - 1) / kT);
  if (tiles == 0) return;
  const auto run = [&](auto kernel) {
    if (p.smem_bytes > 48 * 1024)
      CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, p.smem_bytes));
    const int64_t resident = cuda::resident_blocks(kernel, kThreads, size_t(p.smem_bytes));
    const unsigned grid = unsigned(tiles < resident ? tiles : resident);
    kernel<<<grid, kThreads, size_t(p.smem_bytes), stream>>>(maps, p, int(tiles));
    CUDA_CHECK_LAUNCH();
  };
  const auto with = [&](auto steps) {
    constexpr int kA = decltype(steps)::kA, kB = decltype(steps)::kB, kC = decltype(steps)::kC;
    if (p.projected) run(resize_sum_conv_wgmma_kernel<true, kA, kB, kC>);
    else run(resize_sum_conv_wgmma_kernel<false, kA, kB, kC>);
  };
  KILN_ASSERT(pattern >= 0 && pattern < kRscWgmmaPatterns);
  if (pattern == 0) with(Pattern<0>{});
  else with(Pattern<1>{});
}

}  // namespace kiln::spatial
