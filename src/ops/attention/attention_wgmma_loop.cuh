// The flash loop of the Hopper attention kernels (attention_wgmma.cu: kiln.Attention;
// attention_block_wgmma.cu: kiln.AttentionBlock, which wraps it in the projections): per
// warpgroup, 64 query rows of a swizzled Q tile in shared memory against K and V tiles that TMA
// brings into kStages shared-memory stages. attention_wgmma.cu's header says how it overlaps.
#pragma once
#include <cuda_fp16.h>

#include "ops/attention/attention_f16.cuh"
#include "ops/attention/wgmma.cuh"
#include "runtime/cuda/exp2_approx.h"
#include "runtime/cuda/tensor_map.cuh"
#include "runtime/cuda/tensor_map.h"

namespace kiln::attention::flash_wgmma {

constexpr int kWarpgroups = 2;
constexpr int kThreads = 128 * kWarpgroups;
constexpr int kBM = 64 * kWarpgroups;  // query rows per block
constexpr int kBN = 64;                // keys per tile
constexpr int kD = 64;                 // head dims padded to this
constexpr int kStages = 4;             // K/V tiles in shared memory
constexpr uint32_t kTileBytes = kBN * kD * 2;
constexpr uint32_t kKvBytes = 2 * kStages * kTileBytes + 12 * kStages;  // stages, an mbarrier and a count each
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

// Lazy rescale (FA4's): a row's running maximum moves only when a tile's maximum passes it by
// more than `slack` (log2 units; attention_rescale_slack(), 8). Until then the exponentials use
// the stale maximum: p <= 2^8, exact in fp16 as p <= 1 is and far below its 65504, and acc and
// l, kept against the same m, owe no rescale. c166's ncu put 10% of stage 2's instructions on
// the accumulator rescale (FMUL).
// One tile of the online softmax in log2 units, as attention_f16_wide.cuh: the scores s of key
// tile j become probabilities in place (keys past Nk at 0), the row state (m, this lane's part
// of l) moves on, and alpha[h] is the factor the accumulator rows g + 8h still owe. The row
// maximum of the raw scores gives the scaled one (scale > 0); one FFMA and one ex2 per element.
// Returns whether any row of the warp moved its maximum (warp-uniform): if not, every alpha is 1
// and the caller skips the rescale.
__device__ __forceinline__ bool softmax_tile(float (&s)[32], float (&m)[2], float (&l)[2], float (&alpha)[2], int j,
                                             int nk, int t, float scale_log2, float slack) {
  bool moved[2];
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
    const float mx_scaled = mx * scale_log2;
    moved[h] = mx_scaled > m[h] + slack;  // the first tile moves -inf to its maximum
    const float m_new = moved[h] ? mx_scaled : m[h];
    const float base = m_new == -INFINITY ? 0.f : m_new;  // no NaN from -inf - -inf
    alpha[h] = moved[h] ? cuda::exp2_approx(m[h] - base) : 1.f;
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
  return __any_sync(0xffffffffu, moved[0] || moved[1]);
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

// How the kernels find K and V tiles: TMA maps of their row stacks, and whether each map puts
// heads before rows (cuda::rows_head_inner: seq_first and packed K/V do).
struct KvMaps {
  CUtensorMap k, v;
  bool k_head_inner, v_head_inner;
};

// The row stacks of K and V as tensor_map.h describes them.
inline cuda::RowStack kv_rows(const AttentionParams& p, const void* base, const RowStrides& r, int width) {
  cuda::RowStack s;
  s.base = base;
  s.width = width, s.rows = p.nk, s.heads = p.heads, s.outers = p.batch / p.heads;
  s.row = r.row, s.head = r.head, s.outer = r.outer;
  return s;
}

// Whether TMA can tile p's K and V rows (tensor_map.h), and their maps.
inline bool kv_maps_fit(const AttentionParams& p) {
  return cuda::tiled_rows_fit(kv_rows(p, p.k, p.sk, p.d)) && cuda::tiled_rows_fit(kv_rows(p, p.v, p.sv, p.dv));
}
inline KvMaps kv_maps(const AttentionParams& p) {
  KvMaps maps;
  const cuda::RowStack k = kv_rows(p, p.k, p.sk, p.d), v = kv_rows(p, p.v, p.sv, p.dv);
  maps.k = cuda::tiled_rows_map(k, kBN);
  maps.v = cuda::tiled_rows_map(v, kBN);
  maps.k_head_inner = cuda::rows_head_inner(k);
  maps.v_head_inner = cuda::rows_head_inner(v);
  return maps;
}

// The K and V stages of a block (kKvBytes of shared memory from `ks`). An item's key tiles form
// one stream: `heads` heads in turn (head0, head0 + 1, ...), `tiles` tiles each, stream tile J
// being tile J % tiles of head head0 + J / tiles. A stage is refilled (stream tile J + kStages) by
// the last of the block's 8 warps to finish P V of tile J — a per-stage count in shared memory
// says which — so neither warpgroup stalls while the other still reads the stage; the warpgroups
// wait on each stage's mbarrier, not on each other.
struct KvPipeline {
  const KvMaps* maps;
  uint32_t ks, vs, bars;
  unsigned* released;
  int filled;         // tiles loaded before the current item: its stream tile J is fill filled + J
  int outer, head0;   // the current item
  int heads, tiles;   // its heads and key tiles per head
  int j0;             // a split's first key tile

  __device__ __forceinline__ KvPipeline(const KvMaps* m, uint32_t ks_, unsigned char* smem_raw, uint32_t raw)
      : maps(m), ks(ks_), vs(ks_ + kStages * kTileBytes), bars(vs + kStages * kTileBytes),
        released(reinterpret_cast<unsigned*>(smem_raw + (bars + kStages * 8 - raw))), filled(0), outer(0), head0(0),
        heads(1), tiles(0), j0(0) {}

  // One thread, before the block's first __syncthreads.
  __device__ __forceinline__ void init() const {
    for (int st = 0; st < kStages; ++st) {
      cuda::tma::mbarrier_init(bars + 8 * st, 1);
      released[st] = 0;
    }
    cuda::tma::fence_barrier_init();
  }
  __device__ __forceinline__ int stream() const { return heads * tiles; }
  __device__ __forceinline__ int stage(int J) const { return (filled + J) % kStages; }
  __device__ __forceinline__ void load(int J) const {  // one thread: stream tile J into its stage
    const int h = heads == 1 ? 0 : J / tiles;  // no division where each item is one head
    const int head = head0 + h;
    const uint32_t bar = bars + 8 * stage(J), row = uint32_t((j0 + J - h * tiles) * kBN);
    cuda::tma::arrive_expect_tx(bar, 2 * kTileBytes);
    cuda::tma::load_4d(ks + stage(J) * kTileBytes, &maps->k, bar, 0, maps->k_head_inner ? head : row,
                       maps->k_head_inner ? row : head, outer);
    cuda::tma::load_4d(vs + stage(J) * kTileBytes, &maps->v, bar, 0, maps->v_head_inner ? head : row,
                       maps->v_head_inner ? row : head, outer);
  }
  // One thread: stream tiles [from, to) ∩ the first kStages.
  __device__ __forceinline__ void load_first(int from = 0, int to = kStages) const {
    for (int J = from; J < to && J < kStages && J < stream(); ++J) load(J);
  }
  __device__ __forceinline__ void wait(int J) const {
    cuda::tma::wait_parity(bars + 8 * stage(J), uint32_t((filled + J) / kStages) & 1);
  }
  // This warp is done with stream tile J (its P V has completed); the block's last such warp
  // refills the stage.
  __device__ __forceinline__ void release(int J, int lane) const {
    if (lane == 0 && cuda::tma::last_release(released + stage(J), kThreads / 32) && J + kStages < stream())
      load(J + kStages);
  }
  __device__ __forceinline__ void issue_s(float (&s)[32], uint32_t qtile, int J) const {  // 4 steps of 16 along d
    const uint64_t dq = wgmma::descriptor(qtile);
    const uint64_t dk = wgmma::descriptor(ks + stage(J) * kTileBytes);
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) wgmma::mma_ss(s, dq + 2 * kk, dk + 2 * kk, kk);
    wgmma::commit();
  }
  __device__ __forceinline__ void issue_pv(float (&acc)[32], const uint32_t (&pa)[kBN / 16][4], int J) const {
    const uint64_t dv = wgmma::descriptor(vs + stage(J) * kTileBytes);  // 16 rows = 2048 bytes a step
#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk) wgmma::mma_rs_bt(acc, pa[kk], dv + 128 * kk, 1);
    wgmma::commit();
  }
};

// This warpgroup's 64 rows of the Q tile at shared address `qtile` (swizzled, written and made
// visible to the async proxy) against the key tiles of the stream's head h (stream tiles
// [h·tiles, (h + 1)·tiles)): acc, m and l as the epilogue takes them (acc unnormalized, l this
// lane's part of the row sums). FA3's intra-warpgroup pipelining per tile j: issue S_j = Q K_jᵀ,
// then P_{j-1} V_{j-1}; wait for S_j only and run its softmax while P V runs on the tensor cores;
// then wait for P V, rescale the accumulator and pack P_j. The caller adds the item's stream to
// kv.filled when every head is done. hook(j) runs at the top of tile j's step (j >= 1): the
// caller's work to slip in beside the loop (AttentionBlock's L2 prefetch).
struct NoTileHook {
  __device__ __forceinline__ void operator()(int) const {}
};
template <class Hook = NoTileHook>
__device__ __forceinline__ void flash_rows(const KvPipeline& kv, uint32_t qtile, int h, int nk, float scale_log2,
                                           float slack, int lane, float (&acc)[32], float (&m)[2], float (&l)[2],
                                           Hook hook = {}) {
  const int t = lane & 3, J0 = h * kv.tiles;
  float s[32], alpha[2];
  uint32_t pa[kBN / 16][4];
  m[0] = m[1] = -INFINITY;
  l[0] = l[1] = 0.f;
#pragma unroll
  for (int i = 0; i < 32; ++i) acc[i] = 0.f;

  kv.wait(J0);
  wgmma::fence();
  kv.issue_s(s, qtile, J0);
  pin(s);
  wgmma::wait<0>();
  pin(s);
  softmax_tile(s, m, l, alpha, kv.j0, nk, t, scale_log2, slack);
  pack_p(s, pa);
  for (int j = 1; j < kv.tiles; ++j) {
    hook(j);
    kv.wait(J0 + j);
    wgmma::fence();
    kv.issue_s(s, qtile, J0 + j);
    kv.issue_pv(acc, pa, J0 + j - 1);
    pin(s);
    pin(acc);
    wgmma::wait<1>();  // S_j
    pin(s);
    const bool rescale = softmax_tile(s, m, l, alpha, kv.j0 + j, nk, t, scale_log2, slack);
    wgmma::wait<0>();  // P_{j-1} V_{j-1}
    pin(acc);
    kv.release(J0 + j - 1, lane);
    if (rescale) {
#pragma unroll
      for (int i = 0; i < 32; ++i) acc[i] *= alpha[(i >> 1) & 1];
    }
    pack_p(s, pa);
  }
  wgmma::fence();
  kv.issue_pv(acc, pa, J0 + kv.tiles - 1);
  pin(acc);
  wgmma::wait<0>();
  pin(acc);
  kv.release(J0 + kv.tiles - 1, lane);
}

}  // namespace kiln::attention::flash_wgmma
