// kiln.Attention, fp16, no mask, head dims in (32, 64]: the flash forward on Hopper's warpgroup
// MMAs (wgmma.cuh). The large unmasked launches of SegFormer's efficient self-attention (d 64,
// Nk 1024 at every stage of B2) ran on the mma.sync kernel of attention_f16_wide.cuh at ~32% of
// the measured tensor peak: its 8 warps per SM issue every MMA themselves, between the
// exponentials that the same warps also issue. wgmma hands a 64×64×16 product to the tensor cores
// asynchronously, reading both operands of Q Kᵀ and the V operand of P V from shared memory, so
// a warpgroup's softmax overlaps the products of the other warpgroups on the SM and its own
// P V of the previous tile.
//
// Floor, SegFormer-B2 stage 0 at 1024², batch 8 (Nq 65536, Nk 1024, d 64, 140 GFLOP): 180 µs at
// the measured 771 TFLOP/s GEMM peak; 537 M exponentials at 16/clk/SM (132 SMs, ~1.75 GHz)
// ≈ 145 µs of MUFU time. The two overlap here; the wide kernel took 576 µs.
//
// Layout: a block is 2 warpgroups (256 threads), each owning 64 query rows (grid x: 128-row
// query tiles, y: batch items). Shared memory: Q [128][64] and 4 stages of K and V [64][64],
// all 128B-swizzled (wgmma.cuh), 81 KB with the alignment slack: two blocks per SM. Q arrives by
// cp.async; K and V tiles by TMA (runtime/cuda/tensor_map.h), each stage with an mbarrier, so a
// warpgroup waits for its data and never for the other warpgroup (the cp.async version's block
// barrier a tile: B2 stage 0 at b1 54.0 → 49.2 µs under ncu, c92 → c95). Head dims are zero-padded to 64 (the
// maps read zeros past d and Nk; zero columns add nothing to Q Kᵀ, padded V columns are
// computed and not stored); keys past Nk score -inf in a ragged last tile; query rows past Nq
// are zero and not stored.
//
// Key splits (grid z, attention_split.h): a launch whose 128-row grid leaves SMs idle — B2's stage
// 3 at batch 1 is 64 blocks — walks each split's key tiles in its own block and leaves the
// unnormalized rows to attention_combine.cu, as the masked kernels do.
#include <cuda_fp16.h>

#include "ops/attention/attention_f16.cuh"
#include "ops/attention/wgmma.cuh"
#include "runtime/cuda/exp2_approx.h"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/cuda/tensor_map.cuh"
#include "runtime/cuda/tensor_map.h"

namespace kiln::attention {
namespace {

constexpr int kWarpgroups = 2;
constexpr int kThreads = 128 * kWarpgroups;
constexpr int kBM = 64 * kWarpgroups;  // query rows per block
constexpr int kBN = 64;                // keys per tile
constexpr int kD = 64;                 // head dims padded to this
constexpr int kStages = 4;             // K/V tiles in shared memory
constexpr uint32_t kTileBytes = kBN * kD * 2;
// Q, the K and V stages, per stage an mbarrier (8 bytes) and a release count (4), alignment slack.
constexpr size_t kSmemBytes = size_t(kBM * kD * 2) + 2 * kStages * kTileBytes + 12 * kStages + wgmma::kAtomBytes;
static_assert(kBM == kWgmmaBlockRows && kSplitKeyUnit % kBN == 0);

// Rows [row0, row0 + kRows) of a row-major [n, width] fp16 matrix (rows `ld` apart, 16-byte
// aligned, width a multiple of 8) into a swizzled tile at shared address `tile`, by 16-byte
// cp.async chunks; zeros outside n × width.
template <int kRows>
__device__ __forceinline__ void load_swizzled(uint32_t tile, const __half* g, int row0, int n, int width, int64_t ld) {
  static_assert(kRows * 8 % kThreads == 0);
#pragma unroll
  for (int k = 0; k < kRows * 8 / kThreads; ++k) {
    const int i = int(threadIdx.x) + k * kThreads;
    const int r = i >> 3, c = (i & 7) * 8, gr = row0 + r;
    const bool in = gr < n && c < width;
    const uint32_t dst = tile + wgmma::swizzled(r, c);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(in ? g + gr * ld + c : g),
                 "r"(in ? 16 : 0));
  }
}

using wgmma::pin;

// One tile of the online softmax in log2 units, as attention_f16_wide.cuh: the scores s of key
// tile j become probabilities in place (keys past Nk at 0), the row state (m, this lane's part
// of l) moves on, and alpha[h] is the factor the accumulator rows g + 8h still owe. The row
// maximum of the raw scores gives the scaled one (scale > 0); one FFMA and one ex2 per element.
__device__ __forceinline__ void softmax_tile(float (&s)[32], float (&m)[2], float (&l)[2], float (&alpha)[2], int j,
                                             int nk, int t, float scale_log2) {
  if ((j + 1) * kBN > nk) {
#pragma unroll
    for (int i = 0; i < 32; ++i)
      if (j * kBN + (i >> 2) * 8 + 2 * t + (i & 1) >= nk) s[i] = -INFINITY;
  }
#pragma unroll
  for (int h = 0; h < 2; ++h) {  // row g + 8h: elements 4n + 2h + e
    // Pairwise trees for the row's maximum and sum: 4 levels of latency instead of 16, with 4
    // warps a scheduler to hide them.
    float t[8];
#pragma unroll
    for (int n = 0; n < 8; ++n) t[n] = fmaxf(s[4 * n + 2 * h], s[4 * n + 2 * h + 1]);
#pragma unroll
    for (int w = 4; w > 0; w /= 2)
#pragma unroll
      for (int n = 0; n < w; ++n) t[n] = fmaxf(t[n], t[n + w]);
    float mx = t[0];
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));  // the 4 lanes of a quad share a row
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float m_new = fmaxf(m[h], mx * scale_log2);
    const float base = m_new == -INFINITY ? 0.f : m_new;  // no NaN from -inf - -inf
    alpha[h] = cuda::exp2_approx(m[h] - base);
    m[h] = m_new;
#pragma unroll
    for (int n = 0; n < 8; ++n) {
      float& x0 = s[4 * n + 2 * h];
      float& x1 = s[4 * n + 2 * h + 1];
      x0 = cuda::exp2_approx(fmaf(x0, scale_log2, -base));
      x1 = cuda::exp2_approx(fmaf(x1, scale_log2, -base));
      t[n] = x0 + x1;
    }
#pragma unroll
    for (int w = 4; w > 0; w /= 2)
#pragma unroll
      for (int n = 0; n < w; ++n) t[n] += t[n + w];
    l[h] = fmaf(l[h], alpha[h], t[0]);
  }
}

// P's 8-key column pairs 2kk, 2kk + 1 form the A fragment of P V's step kk (16 keys).
__device__ __forceinline__ void pack_p(const float (&s)[32], uint32_t (&pa)[kBN / 16][4]) {
#pragma unroll
  for (int kk = 0; kk < kBN / 16; ++kk) {
    const float* c = s + 8 * kk;
    pa[kk][0] = pack_half2(c[0], c[1]);
    pa[kk][1] = pack_half2(c[2], c[3]);
    pa[kk][2] = pack_half2(c[4], c[5]);
    pa[kk][3] = pack_half2(c[6], c[7]);
  }
}

// Split z's row `prow` of launch_attention_combine's input: the unnormalized sums of columns
// 8n + 2t + e (accumulator elements 4n + 2h + e), then (m, l) once per row.
__device__ __forceinline__ void store_partial(const AttentionParams& p, const float (&acc)[32], int h, int64_t prow,
                                              float m, float l, int t) {
  float* pacc = p.partial + prow * p.dv;
  // Pairs of columns in one 8-byte store where dv is even (the rows are then 8-byte aligned): the
  // scalar stores queued behind each other at the end of small split grids (c108).
  const bool pairs = p.dv % 2 == 0;
#pragma unroll
  for (int n = 0; n < 8; ++n) {
    const int c = n * 8 + 2 * t;
    if (pairs && c + 1 < p.dv) {
      *reinterpret_cast<float2*>(pacc + c) = make_float2(acc[4 * n + 2 * h], acc[4 * n + 2 * h + 1]);
      continue;
    }
#pragma unroll
    for (int e = 0; e < 2; ++e)
      if (c + e < p.dv) pacc[c + e] = acc[4 * n + 2 * h + e];
  }
  if (t == 0) {
    float* ml = p.partial + int64_t(p.splits) * p.batch * p.nq * p.dv + 2 * prow;
    ml[0] = m;
    ml[1] = l;
  }
}

// How the kernel finds K and V tiles: TMA maps of their row stacks, and whether each map puts
// heads before rows (cuda::rows_head_inner: seq_first and packed K/V do).
struct KvMaps {
  CUtensorMap k, v;
  bool k_head_inner, v_head_inner;
};

// Dispatched only on compute capability 9.0, which runs the sm_90a code: elsewhere (the
// compute_90 PTX) the wgmma and TMA helpers trap.
//
// Per warpgroup, tile j (FA3's intra-warpgroup pipelining): issue S_j = Q K_jᵀ, then P_{j-1} V_{j-1};
// wait for S_j only and run its softmax while P V runs on the tensor cores; then wait for P V,
// rescale the accumulator and pack P_j.
//
// K and V tiles arrive by TMA into kStages stages, each with an mbarrier the copies complete;
// the warpgroups wait on it, not on each other. A stage is refilled (tile j + kStages) by the
// last of the block's 8 warps to finish P V of tile j — a per-stage count in shared memory
// says which — so neither warpgroup stalls while the other still reads the stage.
__global__ void __launch_bounds__(kThreads, 2) attention_f16_wgmma(const __grid_constant__ KvMaps maps, AttentionParams p) {
  extern __shared__ unsigned char smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t qs = (raw + wgmma::kAtomBytes - 1) & ~(wgmma::kAtomBytes - 1);
  const uint32_t ks = qs + kBM * kD * 2, vs = ks + kStages * kTileBytes, bars = vs + kStages * kTileBytes;
  unsigned* released = reinterpret_cast<unsigned*>(smem_raw + (bars + kStages * 8 - raw));
  const int wg = threadIdx.x >> 7, warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31;
  const int g = lane >> 2, t = lane & 3;
  const int q0 = blockIdx.x * kBM;
  constexpr float kLog2e = 1.4426950408889634f;
  const float scale_log2 = p.scale * kLog2e;  // exp(x·scale) = exp2(x·scale·log2 e); scale > 0
  // This block's key tiles [j0, j0 + tiles): all, or its split's.
  const int all_tiles = (p.nk + kBN - 1) / kBN;
  const int j0 = p.splits > 1 ? int(blockIdx.z) * (p.split_keys / kBN) : 0;
  const int tiles = min(all_tiles - j0, p.splits > 1 ? p.split_keys / kBN : all_tiles);

  if (threadIdx.x == 0) {
    for (int st = 0; st < kStages; ++st) {
      cuda::tma::mbarrier_init(bars + 8 * st, 1);
      released[st] = 0;
    }
    cuda::tma::fence_barrier_init();
  }
  __syncthreads();

  int filled = 0;  // tiles this block loaded before the current item: tile j is fill filled + j
  for (int64_t b = blockIdx.y; b < p.batch; b += gridDim.y) {
    const flash::ItemOperands it = flash::item_operands(p, b);
    __half* og = it.o;
    const int outer = int(b / p.heads), head = int(b % p.heads);
    const auto stage = [&](int j) { return (filled + j) % kStages; };
    const auto load_kv = [&](int j) {  // one thread: tile j into its stage
      const uint32_t bar = bars + 8 * stage(j), row = uint32_t((j0 + j) * kBN);
      cuda::tma::arrive_expect_tx(bar, 2 * kTileBytes);
      cuda::tma::load_4d(ks + stage(j) * kTileBytes, &maps.k, bar, 0, maps.k_head_inner ? head : row,
                         maps.k_head_inner ? row : head, outer);
      cuda::tma::load_4d(vs + stage(j) * kTileBytes, &maps.v, bar, 0, maps.v_head_inner ? head : row,
                         maps.v_head_inner ? row : head, outer);
    };
    const auto wait_kv = [&](int j) {
      cuda::tma::wait_parity(bars + 8 * stage(j), uint32_t((filled + j) / kStages) & 1);
    };
    // This warp is done with tile j (its P V has completed); the block's last such warp
    // refills the stage.
    const auto release = [&](int j) {
      if (lane != 0) return;
      __threadfence_block();
      constexpr unsigned kWarps = kThreads / 32;
      if (atomicAdd(released + stage(j), 1u) % kWarps == kWarps - 1 && j + kStages < tiles) load_kv(j + kStages);
    };
    const auto issue_s = [&](float (&s)[32], int j) {  // 4 steps of 16 along d, 32 bytes apart
      const uint64_t dq = wgmma::descriptor(qs + wg * 64 * 128);
      const uint64_t dk = wgmma::descriptor(ks + stage(j) * kTileBytes);
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk) wgmma::mma_ss(s, dq + 2 * kk, dk + 2 * kk, kk);
      wgmma::commit();
    };
    const auto issue_pv = [&](float (&acc)[32], const uint32_t (&pa)[kBN / 16][4], int j) {
      const uint64_t dv = wgmma::descriptor(vs + stage(j) * kTileBytes);  // 16 rows = 2048 bytes a step
#pragma unroll
      for (int kk = 0; kk < kBN / 16; ++kk) wgmma::mma_rs_bt(acc, pa[kk], dv + 128 * kk, 1);
      wgmma::commit();
    };

    if (b != blockIdx.y) __syncthreads();  // every warpgroup is done with the last item's tiles
    load_swizzled<kBM>(qs, it.q, q0, p.nq, p.d, p.sq.row);
    asm volatile("cp.async.commit_group;\n" ::);
    if (threadIdx.x == 0)
      for (int j = 0; j < kStages && j < tiles; ++j) load_kv(j);
    asm volatile("cp.async.wait_group 0;\n" ::);
    cuda::tma::fence_proxy_async();  // Q, written by cp.async, read by wgmma
    __syncthreads();

    float acc[32], s[32], m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f}, alpha[2];
    uint32_t pa[kBN / 16][4];
#pragma unroll
    for (int i = 0; i < 32; ++i) acc[i] = 0.f;

    wait_kv(0);
    wgmma::fence();
    issue_s(s, 0);
    pin(s);
    wgmma::wait<0>();
    pin(s);
    softmax_tile(s, m, l, alpha, j0, p.nk, t, scale_log2);
    pack_p(s, pa);
    for (int j = 1; j < tiles; ++j) {
      wait_kv(j);
      wgmma::fence();
      issue_s(s, j);
      issue_pv(acc, pa, j - 1);
      pin(s);
      pin(acc);
      wgmma::wait<1>();  // S_j
      pin(s);
      softmax_tile(s, m, l, alpha, j0 + j, p.nk, t, scale_log2);
      wgmma::wait<0>();  // P_{j-1} V_{j-1}
      pin(acc);
      release(j - 1);
#pragma unroll
      for (int i = 0; i < 32; ++i) acc[i] *= alpha[(i >> 1) & 1];
      pack_p(s, pa);
    }
    wgmma::fence();
    issue_pv(acc, pa, tiles - 1);
    pin(acc);
    wgmma::wait<0>();
    pin(acc);
    release(tiles - 1);
    filled += tiles;

#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float sum = l[h];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const int row = q0 + wg * 64 + warp * 16 + g + 8 * h;
      if (row >= p.nq) continue;
      if (p.splits > 1) {
        store_partial(p, acc, h, (int64_t(blockIdx.z) * p.batch + b) * p.nq + row, m[h], sum, t);
        continue;
      }
      const float inv = 1.f / sum;
      __half* orow = og + row * p.so.row;
#pragma unroll
      for (int n = 0; n < 8; ++n) {
        const int c = n * 8 + 2 * t;
        const float lo = acc[4 * n + 2 * h] * inv, hi = acc[4 * n + 2 * h + 1] * inv;
        if (c + 1 < p.dv && (reinterpret_cast<uintptr_t>(orow + c) & 3) == 0) {
          *reinterpret_cast<uint32_t*>(orow + c) = pack_half2(lo, hi);
        } else {
          if (c < p.dv) orow[c] = __float2half_rn(lo);
          if (c + 1 < p.dv) orow[c + 1] = __float2half_rn(hi);
        }
      }
    }
  }
}

// The row stacks of K and V as tensor_map.h describes them.
cuda::RowStack kv_rows(const AttentionParams& p, const void* base, const RowStrides& r, int width) {
  cuda::RowStack s;
  s.base = base;
  s.width = width, s.rows = p.nk, s.heads = p.heads, s.outers = p.batch / p.heads;
  s.row = r.row, s.head = r.head, s.outer = r.outer;
  return s;
}

}  // namespace

bool attention_f16_wgmma_fits(const AttentionParams& p) {
  const int w = p.d > p.dv ? p.d : p.dv;
  return p.mask.kind == MaskKind::kNone && w > 32 && w <= kD && p.scale > 0.f && flash::vector_loads(p) &&
         p.batch % p.heads == 0 && cuda::tiled_rows_fit(kv_rows(p, p.k, p.sk, p.d)) &&
         cuda::tiled_rows_fit(kv_rows(p, p.v, p.sv, p.dv)) && cuda_hopper();
}

bool attention_f16_uses_wgmma(const AttentionParams& p) {
  const int64_t blocks = (int64_t(p.nq) + kBM - 1) / kBM * p.batch;
  return attention_f16_wgmma_fits(p) && (p.splits > 1 ? p.split_keys % kBN == 0 : blocks >= cuda_sm_count());
}

void launch_attention_f16_wgmma(const AttentionParams& p, cudaStream_t stream) {
  CUDA_CHECK(cudaFuncSetAttribute(attention_f16_wgmma, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kSmemBytes)));
  KvMaps maps;
  const cuda::RowStack k = kv_rows(p, p.k, p.sk, p.d), v = kv_rows(p, p.v, p.sv, p.dv);
  maps.k = cuda::tiled_rows_map(k, kBN);
  maps.v = cuda::tiled_rows_map(v, kBN);
  maps.k_head_inner = cuda::rows_head_inner(k);
  maps.v_head_inner = cuda::rows_head_inner(v);
  const dim3 grid(unsigned((int64_t(p.nq) + kBM - 1) / kBM), unsigned(p.batch < 65535 ? p.batch : 65535),
                  unsigned(p.splits));
  attention_f16_wgmma<<<grid, kThreads, kSmemBytes, stream>>>(maps, p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::attention
