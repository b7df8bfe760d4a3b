// kiln.SequenceReduction on Hopper (sequence_reduction.h has the op): SegFormer's key/value path —
// LayerNorm → patch rows → reduction GEMM → LayerNorm → K/V GEMM — for C = 64 or 128 channels,
// reading the tokens once and writing only K and V.
//
// Why (B2 at batch 8, c146 profile): the four nodes took 127 µs a block at stage 0 (rows 80, GEMM
// 33, LayerNorm 6, K/V 8) and 78 at stage 1, while the tokens they must read are 134 and 67 MB:
// 45 and 22 µs at 3 TB/s. The patch rows (67 / 34 MB fp16) were written and read back in between.
//
// A block is one warpgroup and 64 patches (wgmma's M) of one picture: a bw × bh block of the patch
// grid (bw = the grid's width rounded up to a power of two, at most 64). The reduction GEMM's K runs
// over the p·p taps (i, j) of a patch, C channels each. Per tap:
//   - TMA brings the 64 patches' tokens at that tap (fp32, 64 × C) into one of kXStages stages
//     (tensor_map.h's patch_token_map: 128-byte lines, 128B-swizzled, so the fragment reads below
//     spread over the banks), and Wr's C rows of the tap into one of kWStages stages (C/64 panels
//     of [C][64], the MN-major B of wgmma);
//   - each thread normalizes its two rows of the A fragment — rows 16w + g and + 8, channels
//     16kk + 2t (+1, +8, +9) for every k16 step kk — whose C channels the lane quad holds between
//     them (two shuffles a reduction), into fp16 fragments in registers (the LayerNorm's rounding);
//   - wgmma (A in registers) accumulates into the fp32 [64][C] sum.
// Where the grid is small the taps split over a cluster of blocks, whose sums meet in the first
// one (geometry() says how many). Then R = sum + Br (rounded to fp16, as the GEMM stores it), its
// LayerNorm on the quads again, and the rounded L2 is the register A of the K/V product with Wkv
// (loaded over the freed X stages), whose 2C columns get Bkv and go to KV a 64-column panel at a
// time.
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>

#include "kiln/status.h"
#include "ops/attention/mma_f16.cuh"
#include "ops/attention/wgmma.cuh"
#include "ops/norm/sequence_reduction_launch.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/cuda/tensor_map.cuh"
#include "runtime/cuda/tensor_map.h"

namespace kiln::norm {
namespace {

namespace wg = attention::wgmma;
namespace tma = cuda::tma;
using attention::pack_half2;

constexpr int kThreads = 128;  // one warpgroup
constexpr int kRows = 64;      // patches a block

// The tap loop is latency-bound (one warpgroup a block: c156's ncu had b8's C = 128 blocks at
// 0.25 eligible warps a scheduler), so shared memory leaves room for more than one block an SM —
// kBlocks: three at C = 64, two at C = 128 — and the epilogue's Wkv and vectors take the freed X
// and W stages instead of space of their own.
template <int C> struct Layout {
  static constexpr int kBlocks = C == 64 ? 3 : 2;
  static constexpr int kXStages = C == 64 ? 3 : 2, kWStages = C == 64 ? 2 : 1;
  static constexpr uint32_t x_bytes = kRows * C * 4;  // one tap of the block's patches, fp32
  static constexpr uint32_t panel = C * 128;          // C rows of 64 fp16 columns
  static constexpr uint32_t w_bytes = (C / 64) * panel;
  static constexpr uint32_t kv_bytes = (2 * C / 64) * panel;
  static constexpr uint32_t x = 0, w = x + kXStages * x_bytes;
  static constexpr uint32_t vec = w + kWStages * w_bytes;  // S1 and B1 as floats
  static constexpr uint32_t vec16 = vec + 2 * C * 4;       // Br, S2, B2 [C], Bkv [2C] as loaded, fp16
  static constexpr uint32_t bars = vec16 + 5 * C * 2;
  static constexpr uint32_t bytes = bars + 8 * (kXStages + kWStages + 1) + 1024;  // + slack to align the base
  static constexpr uint32_t kv = x, ep = w;  // after the taps: Wkv over the X stages, Br, S2, B2, Bkv over W's
  static_assert(kv_bytes <= kXStages * x_bytes && 5 * C * 4 <= w_bytes);
};
static_assert(sm90_smem_fits(Layout<64>::bytes, Layout<64>::kBlocks) &&
                  sm90_smem_fits(Layout<128>::bytes, Layout<128>::kBlocks),
              "kBlocks blocks an SM");

// Where the block's patches lie: a bw × bh block of the hp × wp patch grid.
// Where the block's patches lie — a bw × bh block of the hp × wp patch grid — and into how many
// blocks (a cluster) the taps of one patch block are split.
struct Geometry {
  int wp, hp, bw, bh, tiles_x, splits;
};

__device__ __forceinline__ float2 load_shared_f2(uint32_t at) {
  float2 v;
  asm volatile("ld.shared.v2.f32 {%0, %1}, [%2];\n" : "=f"(v.x), "=f"(v.y) : "r"(at));
  return v;
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// The mean and 1/sqrt(variance + eps) of a row whose C values the lane quad holds, C/4 each. Four
// partial sums: with one warp a scheduler the adds' latency, not their count, is what costs.
template <int C, int N>
__device__ __forceinline__ float2 row_stats(const float (&v)[N], float eps) {
  static_assert(N % 4 == 0);
  float s[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
  for (int i = 0; i < N; ++i) s[i % 4] += v[i];
  const float mean = quad_sum((s[0] + s[1]) + (s[2] + s[3])) * (1.f / C);
  float q[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
  for (int i = 0; i < N; ++i) q[i % 4] += (v[i] - mean) * (v[i] - mean);
  return make_float2(mean, rsqrtf(quad_sum((q[0] + q[1]) + (q[2] + q[3])) * (1.f / C) + eps));
}

// This thread's A fragments of one tap: its rows' tokens normalized (S1, B1 from `vec`), fp16.
// Fragment register h + 2·half of step kk is row 16w + g + 8h, channels 16kk + 8half + 2t, +1.
// Both rows' loads go out before either's statistics.
template <int C>
__device__ __forceinline__ void normalize_tap(uint32_t xs, const float* vec, int warp, int lane, float eps,
                                              uint32_t (&a)[C / 16][4]) {
  const int g = lane >> 2, t = lane & 3;
  float v[2][C / 4];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const uint32_t m = 16 * warp + g + 8 * h;
#pragma unroll
    for (int kk = 0; kk < C / 16; ++kk)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const uint32_t c = 16 * kk + 8 * half + 2 * t, line = m * (C / 32) + (c >> 5);
        const float2 f = load_shared_f2(xs + line * 128 + ((((c & 31) >> 2) ^ (line & 7)) << 4) + (c & 3) * 4);
        v[h][4 * kk + 2 * half] = f.x, v[h][4 * kk + 2 * half + 1] = f.y;
      }
  }
  const float2 st[2] = {row_stats<C>(v[0], eps), row_stats<C>(v[1], eps)};
#pragma unroll
  for (int h = 0; h < 2; ++h)
#pragma unroll
    for (int kk = 0; kk < C / 16; ++kk)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int c = 16 * kk + 8 * half + 2 * t, i = 4 * kk + 2 * half;
        const float2 gain = *reinterpret_cast<const float2*>(vec + c), shift = *reinterpret_cast<const float2*>(vec + C + c);
        a[kk][h + 2 * half] = pack_half2((v[h][i] - st[h].x) * st[h].y * gain.x + shift.x,
                                         (v[h][i + 1] - st[h].x) * st[h].y * gain.y + shift.y);
      }
}

// Thread block clusters: the split-K blocks of one patch block meet in the first one's epilogue.
__device__ __forceinline__ uint32_t cluster_rank() {
  uint32_t r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
  return r;
}
__device__ __forceinline__ void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}
// The 16 bytes at shared address `at` of the cluster's block `rank`.
__device__ __forceinline__ float4 load_peer(uint32_t at, uint32_t rank) {
  uint32_t peer;
  asm("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(peer) : "r"(at), "r"(rank));
  float4 v;
  asm volatile("ld.shared::cluster.v4.f32 {%0, %1, %2, %3}, [%4];\n" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "r"(peer));
  return v;
}

__device__ __forceinline__ float half_at(const void* p, int i) { return __half2float(static_cast<const __half*>(p)[i]); }

// Dispatched only on compute capability 9.0 (sequence_reduction_runs), like the attention kernels.
template <int C>
__global__ void __launch_bounds__(kThreads) sequence_reduction_wgmma(const __grid_constant__ CUtensorMap xmap,
                                                                       const __grid_constant__ CUtensorMap wmap,
                                                                       const __grid_constant__ CUtensorMap kvmap,
                                                                       SequenceReductionParams p, Geometry geo) {
  using L = Layout<C>;
  constexpr int kX = L::kXStages, kW = L::kWStages;
  extern __shared__ unsigned char smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t base = (raw + 1023) & ~1023u;
  float* vec = reinterpret_cast<float*>(smem_raw + (base - raw) + L::vec);
  const uint32_t xbar = base + L::bars, wbar = xbar + 8 * kX, kvbar = wbar + 8 * kW;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int tile = blockIdx.x / geo.splits, ty = tile / geo.tiles_x, tx = tile % geo.tiles_x, b = blockIdx.y;
  const int wx0 = tx * geo.bw, wy0 = ty * geo.bh, patch = int(p.patch);
  // This block's taps: rank, rank + splits, ... (local step n is tap rank + n·splits).
  const int rank = geo.splits > 1 ? int(cluster_rank()) : 0;
  const int steps = (patch * patch - rank + geo.splits - 1) / geo.splits;

  const auto load_x = [&](int n) {  // step n's tokens into X stage n % kX (one thread)
    const int st = n % kX, s = rank + n * geo.splits;
    tma::arrive_expect_tx(xbar + 8 * st, L::x_bytes);
    tma::load_5d(base + L::x + st * L::x_bytes, &xmap, xbar + 8 * st, 0, (s % patch) * (C / 32), wx0, s / patch,
                 b * geo.hp + wy0);
  };
  const auto load_w = [&](int n) {  // Wr's rows of step n's tap into W stage n % kW (one thread)
    const int st = n % kW, s = rank + n * geo.splits;
    tma::arrive_expect_tx(wbar + 8 * st, L::w_bytes);
#pragma unroll
    for (int np = 0; np < C / 64; ++np)
      tma::load_4d(base + L::w + st * L::w_bytes + np * L::panel, &wmap, wbar + 8 * st, np * 64, s * C, 0, 0);
  };

  // The first taps' copies go out before the vectors' loads, which then wait together: S1 and B1
  // for the taps, and the epilogue's Br, S2, B2, Bkv copied as they are (cp.async) for after them.
  if (tid == 0) {
    for (int i = 0; i < kX + kW + 1; ++i) tma::mbarrier_init(xbar + 8 * i, 1);
    tma::fence_barrier_init();
    for (int n = 0; n < kX && n < steps; ++n) load_x(n);
    for (int n = 0; n < kW && n < steps; ++n) load_w(n);
  }
  __half* vec16 = reinterpret_cast<__half*>(smem_raw + (base - raw) + L::vec16);
  for (int i = tid; i < 5 * C / 8; i += kThreads) {
    const int v = i / (C / 8), at = 8 * (i - v * (C / 8));  // Bkv is vectors 3 and 4
    const void* src = v == 0 ? p.bias : v == 1 ? p.s2 : v == 2 ? p.b2 : p.bkv;
    attention::cp_async16(vec16 + 8 * i, static_cast<const __half*>(src) + (v < 3 ? at : at + (v - 3) * C), 16);
  }
  attention::cp_async_commit();
  for (int c = tid; c < C; c += kThreads) vec[c] = half_at(p.s1, c), vec[C + c] = half_at(p.b1, c);
  __syncthreads();

  float acc[C / 64][32];
#pragma unroll
  for (int np = 0; np < C / 64; ++np)
#pragma unroll
    for (int i = 0; i < 32; ++i) acc[np][i] = 0.f;
  uint32_t a[C / 16][4];
#pragma unroll 1
  for (int n = 0; n < steps; ++n) {
    tma::wait_parity(xbar + 8 * (n % kX), uint32_t(n / kX) & 1);
    normalize_tap<C>(base + L::x + (n % kX) * L::x_bytes, vec, warp, lane, p.eps1, a);
    tma::fence_proxy_async();  // this thread's reads of the stage before the copy that refills it
    __syncthreads();           // every thread's
    if (tid == 0 && n + kX < steps) load_x(n + kX);
    const uint32_t ws = base + L::w + (n % kW) * L::w_bytes;
    tma::wait_parity(wbar + 8 * (n % kW), uint32_t(n / kW) & 1);
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < C / 16; ++kk)
#pragma unroll
      for (int np = 0; np < C / 64; ++np) wg::mma_rs_bt(acc[np], a[kk], wg::descriptor(ws + np * L::panel + kk * 2048), 1);
    wg::commit();
#pragma unroll
    for (int np = 0; np < C / 64; ++np) wg::pin(acc[np]);
    wg::wait<0>();
#pragma unroll
    for (int np = 0; np < C / 64; ++np) wg::pin(acc[np]);
    __syncthreads();  // every warp's products have read the W stage
    if (tid == 0 && n + kW < steps) load_w(n + kW);
  }
  attention::cp_async_wait<0>();  // the vectors' copies: done long since, and before any block leaves
  if (rank == 0 && tid == 0) {  // Wkv over the X stages, every thread's reads of them fenced and done
    tma::arrive_expect_tx(kvbar, L::kv_bytes);
#pragma unroll
    for (int q = 0; q < 2 * C / 64; ++q) tma::load_4d(base + L::kv + q * L::panel, &kvmap, kvbar, q * 64, 0, 0, 0);
  }

  // Split taps: the other blocks of the cluster leave their sums in their X stage 0 (free now,
  // exactly 64 x C floats: thread tid's elements 4j..4j+3 at 16 (j·128 + tid)), and the first block
  // adds them, each peer's loads issued before their sums.
  if (geo.splits > 1) {
    constexpr int kQuads = C / 8;  // float4s a thread
    const uint32_t part = base + L::x + tid * 16;
    if (rank != 0) {
      float4* mine = reinterpret_cast<float4*>(smem_raw + (base - raw) + L::x) + tid;
#pragma unroll
      for (int j = 0; j < kQuads; ++j) {
        const float* v = acc[j / 8] + 4 * (j % 8);
        mine[j * kThreads] = make_float4(v[0], v[1], v[2], v[3]);
      }
    }
    cluster_sync();  // the sums are written
    if (rank == 0)
      for (int r = 1; r < geo.splits; ++r) {
        float4 q[kQuads];
#pragma unroll
        for (int j = 0; j < kQuads; ++j) q[j] = load_peer(part + j * kThreads * 16, uint32_t(r));
#pragma unroll
        for (int j = 0; j < kQuads; ++j) {
          float* v = acc[j / 8] + 4 * (j % 8);
          v[0] += q[j].x, v[1] += q[j].y, v[2] += q[j].z, v[3] += q[j].w;
        }
      }
    cluster_sync();  // and read: the other blocks may leave
    if (rank != 0) return;
  }

  // The epilogue's vectors as floats over the W stages — Br, S2, B2 [C], Bkv [2C] — from their
  // copies: read from global memory where used, each thread's ~250 loads had waited one by one,
  // and loaded here after the taps, their latency still held up every block's epilogue.
  __syncthreads();  // every thread's copies, waited for below the taps
  float* ep = reinterpret_cast<float*>(smem_raw + (base - raw) + L::ep);
  for (int i = tid; i < 5 * C; i += kThreads) ep[i] = __half2float(vec16[i]);
  __syncthreads();
  const float *br = ep, *s2 = ep + C, *b2 = ep + 2 * C, *bkv = ep + 3 * C;

  // R = sum + Br rounded to fp16, then its LayerNorm rounded to fp16, in place: element
  // (16w + g + 8h, 64np + 8n + 2t + e) at acc[np][4n + 2h + e].
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float r[C / 4];
#pragma unroll
    for (int np = 0; np < C / 64; ++np)
#pragma unroll
      for (int n = 0; n < 8; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = 64 * np + 8 * n + 2 * t + e;
          r[16 * np + 2 * n + e] = __half2float(__float2half_rn(acc[np][4 * n + 2 * h + e] + br[c]));
        }
    const float2 st = row_stats<C>(r, p.eps2);
#pragma unroll
    for (int np = 0; np < C / 64; ++np)
#pragma unroll
      for (int n = 0; n < 8; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = 64 * np + 8 * n + 2 * t + e;
          acc[np][4 * n + 2 * h + e] = (r[16 * np + 2 * n + e] - st.x) * st.y * s2[c] + b2[c];
        }
  }
  // L2's 16-column steps as A fragments (the accumulator's 8-column pairs, as attention's P).
  uint32_t l2[C / 16][4];
#pragma unroll
  for (int kk = 0; kk < C / 16; ++kk) {
    const float* v = acc[kk / 4] + 8 * (kk % 4);
    l2[kk][0] = pack_half2(v[0], v[1]);
    l2[kk][1] = pack_half2(v[2], v[3]);
    l2[kk][2] = pack_half2(v[4], v[5]);
    l2[kk][3] = pack_half2(v[6], v[7]);
  }
  tma::wait_parity(kvbar, 0);
  const int n2 = 2 * C;
  __half* kv = static_cast<__half*>(p.kv);
#pragma unroll 1
  for (int q = 0; q < n2 / 64; ++q) {
    float o[32];
#pragma unroll
    for (int i = 0; i < 32; ++i) o[i] = 0.f;
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < C / 16; ++kk) wg::mma_rs_bt(o, l2[kk], wg::descriptor(base + L::kv + q * L::panel + kk * 2048), 1);
    wg::commit();
    wg::pin(o);
    wg::wait<0>();
    wg::pin(o);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int m = 16 * warp + g + 8 * h, wy = wy0 + m / geo.bw, wx = wx0 + m % geo.bw;
      if (wy >= geo.hp || wx >= geo.wp) continue;
      __half* row = kv + ((int64_t(b) * geo.hp + wy) * geo.wp + wx) * n2 + 64 * q;
#pragma unroll
      for (int n = 0; n < 8; ++n) {
        const int c = 8 * n + 2 * t;
        *reinterpret_cast<uint32_t*>(row + c) = pack_half2(o[4 * n + 2 * h] + bkv[64 * q + c],
                                                           o[4 * n + 2 * h + 1] + bkv[64 * q + c + 1]);
      }
    }
  }
}

int forced_splits = 0;  // set_sequence_reduction_splits

// The patch blocks, and the taps split over a cluster of up to 4 blocks while the grid stays within
// two blocks an SM — B2's stage 0 at batch 1 is 16 patch blocks. The op bench at every split
// (c158, B2's stages 0 and 1): batch 8 best at 2 (C 64: 62 µs against 72 unsplit and 80 at 3;
// C 128: 43 against 46), batch 1 at 4 (C 64: 25 µs against 67 unsplit; C 128: 26, 33 at 8).
Geometry geometry(const SequenceReductionParams& p) {
  Geometry g{};
  g.wp = int(p.width / p.patch), g.hp = int(p.height / p.patch);
  g.bw = 1;
  while (g.bw < g.wp && g.bw < kRows) g.bw *= 2;
  g.bh = kRows / g.bw;
  g.tiles_x = (g.wp + g.bw - 1) / g.bw;
  const int64_t blocks = int64_t(g.tiles_x) * ((g.hp + g.bh - 1) / g.bh) * p.batch;
  const int64_t want = forced_splits > 0 ? forced_splits : std::min<int64_t>(4, 2 * cuda_sm_count() / blocks);
  g.splits = int(std::clamp<int64_t>(want, 1, std::min<int64_t>(8, p.patch * p.patch)));
  return g;
}

cuda::PatchTokens tokens(const SequenceReductionParams& p, const Geometry& g) {
  cuda::PatchTokens t;
  t.base = p.x;
  t.batch = p.batch, t.height = p.height, t.width = p.width, t.channels = p.channels, t.patch = p.patch;
  t.box_w = uint32_t(g.bw), t.box_h = uint32_t(g.bh);
  return t;
}

template <int C> void launch(const SequenceReductionParams& p, CudaStream stream) {
  const Geometry g = geometry(p);
  const CUtensorMap xmap = cuda::patch_token_map(tokens(p, g));
  const CUtensorMap wmap = cuda::tiled_rows_map(cuda::matrix_rows(p.w, p.patch * p.patch * C, C), C);
  const CUtensorMap kvmap = cuda::tiled_rows_map(cuda::matrix_rows(p.wkv, C, 2 * C), C);
  auto kernel = sequence_reduction_wgmma<C>;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Layout<C>::bytes)));
  const int tiles_y = (g.hp + g.bh - 1) / g.bh;
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(unsigned(g.tiles_x * tiles_y * g.splits), unsigned(p.batch));
  cfg.blockDim = dim3(kThreads);
  cfg.dynamicSmemBytes = Layout<C>::bytes;
  cfg.stream = stream;
  cudaLaunchAttribute cluster{};
  cluster.id = cudaLaunchAttributeClusterDimension;
  cluster.val.clusterDim.x = unsigned(g.splits), cluster.val.clusterDim.y = 1, cluster.val.clusterDim.z = 1;
  cfg.attrs = &cluster;
  cfg.numAttrs = 1;
  CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, xmap, wmap, kvmap, p, g));
}

}  // namespace

bool sequence_reduction_runs(const SequenceReductionParams& p) {
  if ((p.channels != 64 && p.channels != 128) || p.batch <= 0 || p.batch > 65535 || !cuda_hopper()) return false;
  for (const void* ptr : {p.x, p.s1, p.b1, p.w, p.bias, p.s2, p.b2, p.wkv, p.bkv, static_cast<const void*>(p.kv)})
    if ((reinterpret_cast<uintptr_t>(ptr) & 15) != 0) return false;
  if (p.patch < 2 || p.height % p.patch != 0 || p.width % p.patch != 0) return false;
  const Geometry g = geometry(p);
  const int64_t blocks = int64_t(g.tiles_x) * ((g.hp + g.bh - 1) / g.bh);
  return blocks * g.splits < (int64_t(1) << 31) && cuda::patch_token_fits(tokens(p, g)) &&
         cuda::tiled_rows_fit(cuda::matrix_rows(p.w, p.patch * p.patch * p.channels, p.channels)) &&
         cuda::tiled_rows_fit(cuda::matrix_rows(p.wkv, p.channels, 2 * p.channels));
}

void set_sequence_reduction_splits(int splits) { forced_splits = splits; }

void launch_sequence_reduction(const SequenceReductionParams& p, CudaStream stream) {
  KILN_ASSERT(sequence_reduction_runs(p));
  if (p.channels == 64) return launch<64>(p, stream);
  launch<128>(p, stream);
}

}  // namespace kiln::norm
