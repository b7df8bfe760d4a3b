// ResizeSumConv on Hopper's warpgroup MMAs, for up to 32 classes (SegFormer's Cityscapes head):
// the same sum and classifier as resize_sum_conv.cu, as m64 products of one warpgroup a block,
// two blocks an SM (resize_sum_conv_geometry.h: RscWgmmaLayout).
//
// Per 64-pixel tile (one output row), per 64-channel chunk n:
//   S [64 px][64 ch] = x0 · Wp[:, chunk]                 4 k16 steps
//                    + Σ_i Σ_r A_ir · rows_ir            per banded input and source row r, one
//                                                        k16 step per 16 window columns
//   S = Relu(S + Bp, or + the identity's chunk), rounded to fp16 as the unfused ResizeSum stores it
//   acc [64 px][32 classes] += S · W[:, chunk]ᵀ           4 k16 steps, m64n32, A from S's registers
// S's products read both operands from shared memory: x0 (the tile's source tokens) and A_ir, each
// pixel's two column weights times the row weight over the tile's window (from its first pixel's
// first tap), fp16 (exact for 2x/4x/8x), written there once a tile. The projection is not rounded
// to fp16 before the banded terms join it, as the unfused graph does (one fp16 step, 2^-11, at
// most). Per chunk: issue S(n); wait for the classifier of n - 1, which frees its stage for chunk
// n + 1's copies (thread 0, resize_sum_conv_tile.cuh's issue_chunk); wait for S(n), finish it and
// issue its classifier, which runs while the next chunk's copies land and the SM's other block
// runs its products.
//
// What was measured (op bench, B2's projected head, H100, c194-c199): against the mma.sync
// kernel's 0.714 ms at b8 (latency-bound: tensor pipe ~35% busy), a first version with the
// interpolation weights and x0 in registers ran 0.712 (ptxas fenced every product for its
// register operands); with both S accumulators in flight across chunks, ptxas serialized every
// product (C7514) or, chunks unrolled, the code outgrew the instruction cache (1.42-1.60 ms);
// this one ran 0.615 ms (c198), its tensor pipe 40% busy, the classifier's products waiting on
// the warpgroup's slowest warp (29% of the stall samples).
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

constexpr int kThreads = 128, kStages = kRscWgmmaStages;
constexpr uint32_t kTileBytes = kRscTileX * kRscPixelBytes;

// The banded inputs' k16 steps a source row, compiled in (kRscWgmmaPattern's).
template <int kS0, int kS1, int kS2> struct Steps {
  __host__ __device__ static constexpr int of(int i) { return i == 0 ? kS0 : i == 1 ? kS1 : kS2; }
  static constexpr int banded = (kS0 > 0) + (kS1 > 0) + (kS2 > 0);
};

// The tile's interpolation weights into `buf` (shared memory): step q (input i, row r, window
// columns 16 kk ..) is columns 16 (q % 4) .. of [64 px][64] swizzled tile q / 4. This thread
// writes its rows of the m64 A fragments: pixels 16 w + g (+ 8), columns 2 t (+ 8), pairs.
template <class S> __device__ __forceinline__ void write_weights(const ResizeSumConvParams& p, const Tile& tl, char* buf) {
  const int lane = int(threadIdx.x % 32), w = int(threadIdx.x / 32), g = lane / 4, t4 = lane % 4;
  int q = 0;
#pragma unroll
  for (int i = 0; i < S::banded; ++i) {
    const RscSource& s = p.in[i];
    const int lo = s.col_index[2 * tl.x0];
    const ColumnTaps taps(s, tl.x0 + 16 * w, p.width);
    auto at = [&](int h, int k) { return taps.at(h, lo + k); };  // pixel row h's weight at window column k
    const float2 wy = reinterpret_cast<const float2*>(s.row_weight)[tl.oy];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float v = r ? wy.y : wy.x;
#pragma unroll
      for (int kk = 0; kk < S::of(i); ++kk, ++q) {
        char* tile = buf + (q / 4) * kTileBytes;
#pragma unroll
        for (int f = 0; f < 4; ++f) {
          const int h = f & 1, k = 16 * kk + 2 * t4 + (f >> 1) * 8;
          *reinterpret_cast<uint32_t*>(tile + wg::swizzled(16 * w + g + 8 * h, 16 * (q % 4) + 2 * t4 + (f >> 1) * 8)) =
              pack_half2(v * at(h, k), v * at(h, k + 1));
        }
      }
    }
  }
}

// S of one item into s (m64n64 accumulator layout): the projection, then every banded input's
// rows, all from shared memory (stage `st`, the tile's weights `wt` and source tokens `x0`).
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
  for (int i = 0; i < S::banded; ++i)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const uint64_t b = wg::descriptor(st + uint32_t(p.in[i].off + r * 16 * S::of(i) * kRscPixelBytes));
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

// acc + bias to Y [B, classes, H, W]: element 4 j + 2 h + e is pixel 16 w + g + 8 h, class
// 8 j + 2 t + e.
__device__ __forceinline__ void store_tile(const ResizeSumConvParams& p, const Tile& tl, const float (&acc)[16]) {
  const int lane = int(threadIdx.x % 32), w = int(threadIdx.x / 32), g = lane / 4, t4 = lane % 4;
#pragma unroll
  for (int j = 0; j < 4; ++j)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int k = 8 * j + 2 * t4 + e;
      if (k >= p.classes) continue;
      const float bias = p.bias_f32 ? static_cast<const float*>(p.bias)[k] : __half2float(static_cast<const __half*>(p.bias)[k]);
      const int64_t row = ((int64_t(tl.b) * p.classes + k) * p.height + tl.oy) * p.width;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int ox = tl.x0 + 16 * w + g + 8 * h;
        if (ox >= p.width) continue;
        const float v = acc[4 * j + 2 * h + e] + bias;
        if (p.y_f32) static_cast<float*>(p.y)[row + ox] = v;
        else static_cast<__half*>(p.y)[row + ox] = __float2half_rn(v);
      }
    }
}

// One block's state. Items: n is chunk n % chunks of the block's (n / chunks)-th tile.
template <bool kProjected, class S> struct Block {
  const RscMaps& maps;
  const ResizeSumConvParams& p;
  int x_tiles, chunks, items;
  uint32_t base, bar0;
  char* sm;
  TilePlan plan;  // thread 0's, of the tile it is staging

  __device__ __forceinline__ int tile(int n) const { return int(blockIdx.x) + n / chunks * int(gridDim.x); }
  __device__ __forceinline__ uint32_t stage(int n) const { return uint32_t((n % kStages) * p.stage_bytes); }

  // Thread 0: item n's copies (a tile's first brings its source tokens too), from the plan of
  // its tile, made at the tile's first item (items are issued in order).
  __device__ __forceinline__ void issue(int n) {
    const int ch = n % chunks;
    if (ch == 0) plan = plan_tile<1>(p, tile_at(p, tile(n), x_tiles));
    const uint32_t st = base + stage(n);
    issue_chunk<1>(p, maps, plan, ch, st, st + uint32_t(p.ident_off), st + uint32_t(p.w_off),
                   kProjected && ch == 0 ? base + uint32_t(p.x0_off) : 0, st + uint32_t(p.wp_off),
                   bar0 + 8 * (n % kStages));
  }

  // The tile of items n0 ..: per chunk, S(n) is issued; the wait for the classifier of n - 1
  // frees its stage for item n + 1's copies (the next tile's first only once S(n), the last
  // reader of the source tokens, is done); S(n) is finished and its classifier issued, to run
  // while the next chunk's copies land. Then the classifier into Y, acc copied by volatile asm
  // so that no read of it moves above the wait.
  __device__ __forceinline__ void run_tile(int n0) {
    write_weights<S>(p, tile_at(p, tile(n0), x_tiles), sm + p.wt_off);  // the last tile's products are done
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
    store_tile(p, tile_at(p, tile(n0), x_tiles), out);
  }
};

template <bool kProjected, int kS0, int kS1, int kS2>
__global__ void __launch_bounds__(kThreads, 2) resize_sum_conv_wgmma_kernel(const __grid_constant__ RscMaps maps,
                                                                            ResizeSumConvParams p, int x_tiles,
                                                                            int tiles) {
  using S = Steps<kS0, kS1, kS2>;
  extern __shared__ uint4 smem[];
  __shared__ __align__(8) uint64_t bars[kStages];  // item n completes bars[n % kStages]
  static_assert(sizeof(bars) <= kRscStaticSmem);
  const int chunks = p.channels / kCk;
  const int items = int(blockIdx.x) < tiles ? (tiles - int(blockIdx.x) + int(gridDim.x) - 1) / int(gridDim.x) * chunks : 0;
  if (items == 0) return;
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  Block<kProjected, S> b{maps, p, x_tiles, chunks, items};
  b.base = (raw + 1023) & ~1023u;  // TMA's and wgmma's 128-byte swizzle
  b.sm = reinterpret_cast<char*>(smem) + (b.base - raw);
  b.bar0 = static_cast<uint32_t>(__cvta_generic_to_shared(bars));
  // Rows of weight 0 are never copied: their buffers only have to hold finite values.
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

std::atomic<bool> wgmma_allowed{true};

}  // namespace

bool resize_sum_conv_wgmma_allowed() { return wgmma_allowed.load() && cuda_hopper(); }
void set_resize_sum_conv_wgmma_allowed(bool allowed) { wgmma_allowed.store(allowed); }

void launch_resize_sum_conv_wgmma(const ResizeSumConvParams& p, const RscMaps& maps, CudaStream stream) {
  const int x_tiles = (p.width + kTx - 1) / kTx;
  const int64_t tiles = resize_sum_conv_tiles(p.batch, p.height, p.width);
  if (tiles == 0) return;
  const auto run = [&](auto kernel) {
    if (p.smem_bytes > 48 * 1024)
      CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, p.smem_bytes));
    const int64_t resident = cuda::resident_blocks(kernel, kThreads, size_t(p.smem_bytes));
    const unsigned grid = unsigned(tiles < resident ? tiles : resident);
    kernel<<<grid, kThreads, size_t(p.smem_bytes), stream>>>(maps, p, x_tiles, int(tiles));
    CUDA_CHECK_LAUNCH();
  };
  constexpr int kA = kRscWgmmaSteps[0], kB = kRscWgmmaSteps[1], kC = kRscWgmmaSteps[2];
  if (p.projected) run(resize_sum_conv_wgmma_kernel<true, kA, kB, kC>);
  else run(resize_sum_conv_wgmma_kernel<false, kA, kB, kC>);
}

}  // namespace kiln::spatial
