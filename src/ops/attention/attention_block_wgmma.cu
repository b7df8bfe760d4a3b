// kiln.AttentionBlock on Hopper: SegFormer's attention half-block for one or two heads of 64
// channels (the first two stages of B1…B5) as the flash kernel of attention_wgmma.cu with the
// projections around it. A block's 128 token rows are read once as X; the LayerNorm, the query
// projection, the attention and the output projection with its residual run on chip, and Y is
// written once.
//
// Why (B2 stage 0, batch 8, c111): the unfused nodes spent per layer 113 µs in LayerNormPatchRows
// (which also wrote L for the query projection), 52 µs in the query projection (L in, Q out), 354
// µs in the attention (Q in, O out) and 120 µs in the output projection (O and X in, Y out) — the
// three GEMM-side nodes each memory-bound on the [B·N, 64] tensors between them. Here the two
// C×C products add 1/16 (C 64) or 1/8 (C 128) to the attention's tensor work, and X's two reads
// and Y's write overlap the other block's key loop on the same SM.
//
// Per block and batch item: thread 0 starts the K/V tiles' TMA loads; every warp normalizes 16 of
// its warpgroup's rows of X into the token tile (one 64-channel panel a head; fp16, as the
// LayerNorm's output rounds); each warpgroup multiplies its rows by Wq (wgmma SS, Wq MN-major as
// the graph stores it), adds Bq and writes Q over L (fp16). Then per head the flash loop
// (attention_wgmma_loop.cuh) on that head's panel, its O (fp16, as the attention's output rounds)
// written over its Q; then O times Wo (wgmma SS), plus Bo and X's rows, into Y, 64 columns at a
// time. At one head Wq and Wo stay in shared memory for the block's life; at two they pass
// through the K/V stages (Weights), Wq while the stream's first two tiles are in flight.
#include <cuda_fp16.h>

#include <atomic>

#include "ops/attention/attention_block_launch.h"
#include "ops/attention/attention_wgmma_loop.cuh"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/cuda/resident_grid.cuh"

namespace kiln::attention {
namespace {

using namespace flash_wgmma;

constexpr uint32_t kPanelBytes = kBM * kD * 2;  // 128 rows of one head's 64 channels
constexpr uint32_t kWeightTile = kD * kD * 2;   // a 64 x 64 block of Wq or Wo

// Shared memory: the token tile (one panel a head: L, then Q, then O), the K/V stages, alignment
// slack, and at one head Wq and Wo for the block's life. At two heads Wq's and Wo's four blocks
// each pass through the K/V stages instead (Weights::slot), which keeps two blocks an SM.
template <int H> constexpr bool kResidentWeights = H == 1;
template <int H> constexpr size_t smem_bytes() {
  return H * kPanelBytes + (kResidentWeights<H> ? 2 * kWeightTile : 0) + kKvBytes + wgmma::kAtomBytes;
}
static_assert(sm90_smem_fits(smem_bytes<1>(), 2) && sm90_smem_fits(smem_bytes<2>(), 2), "two blocks per SM");

// N consecutive channels of X's or a parameter's storage type, as floats (N = 2 or a multiple
// of 4; 16-byte loads where N allows).
template <bool kF32, int N> __device__ __forceinline__ void load_floats(const void* base, int64_t at, float (&f)[N]) {
  if constexpr (kF32 && N % 4 == 0) {
    const float4* v = reinterpret_cast<const float4*>(static_cast<const float*>(base) + at);
#pragma unroll
    for (int i = 0; i < N / 4; ++i) {
      const float4 q = v[i];
      f[4 * i] = q.x, f[4 * i + 1] = q.y, f[4 * i + 2] = q.z, f[4 * i + 3] = q.w;
    }
  } else if constexpr (kF32) {
    const float2 v = *reinterpret_cast<const float2*>(static_cast<const float*>(base) + at);
    f[0] = v.x, f[1] = v.y;
  } else if constexpr (N == 8) {
    const uint4 q = *reinterpret_cast<const uint4*>(static_cast<const __half*>(base) + at);
    const uint32_t w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 v = __half22float2(*reinterpret_cast<const __half2*>(&w[i]));
      f[2 * i] = v.x, f[2 * i + 1] = v.y;
    }
  } else {
    const __half2* h = reinterpret_cast<const __half2*>(static_cast<const __half*>(base) + at);
#pragma unroll
    for (int i = 0; i < N / 2; ++i) {
      const float2 v = __half22float2(h[i]);
      f[2 * i] = v.x, f[2 * i + 1] = v.y;
    }
  }
}
__device__ __forceinline__ void store_shared_b32(uint32_t at, uint32_t v) {
  asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(at), "r"(v));
}
__device__ __forceinline__ void store_shared_b128(uint32_t at, const uint32_t (&v)[4]) {
  asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"r"(at), "r"(v[0]), "r"(v[1]), "r"(v[2]), "r"(v[3]));
}
// The sum over aligned groups of L lanes (xor offsets stay inside the group).
template <int L> __device__ __forceinline__ float group_sum(float v) {
#pragma unroll
  for (int o = L / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
// Waits for the 4 warps of warpgroup wg only (barrier 0 is __syncthreads').
__device__ __forceinline__ void warpgroup_sync(int wg) {
  if (wg == 0)
    asm volatile("bar.sync 1, 128;\n" ::: "memory");
  else
    asm volatile("bar.sync 2, 128;\n" ::: "memory");
}

// Where block (kp, nh) of Wq or Wo — rows [64kp, 64kp + 64), columns [64nh, 64nh + 64), a
// swizzled MN-major tile — sits: its own space at one head; at two, the K or V half of a stage
// the key stream does not hold at that moment (`first`: the stage after which the free ones
// start, kv.stage(2) for Wq, when stream tiles 0 and 1 are in flight; 0 for Wo, when none is).
template <int H> struct Weights {
  uint32_t resident;  // Wq, then Wo (one head)
  __device__ __forceinline__ uint32_t slot(const KvPipeline& kv, int first, bool wo, int kp, int nh) const {
    if constexpr (kResidentWeights<H>) return resident + (wo ? kWeightTile : 0);
    const int w = kp * H + nh, st = (first + w / 2) % kStages;
    return (w % 2 ? kv.vs : kv.ks) + st * kTileBytes;
  }
  // Every thread: W's H x H blocks into their slots by cp.async (committed, not waited for).
  __device__ __forceinline__ void load(const KvPipeline& kv, int first, bool wo, const void* w) const {
#pragma unroll
    for (int kp = 0; kp < H; ++kp)
#pragma unroll
      for (int nh = 0; nh < H; ++nh)
        load_swizzled<kD>(slot(kv, first, wo, kp, nh), static_cast<const __half*>(w) + kp * kD * H * kD + nh * kD, 0,
                          kD, kD, H * kD);
    asm volatile("cp.async.commit_group;\n" ::);
  }
};

// This warp's 16 rows of the block's tile (rows r0..r0+15, tokens q0 + r) normalized into the
// head panels. A row is a group of C/8 lanes, 8 consecutive channels each (16 fp16 bytes: one
// swizzle chunk), so a warp covers 32·8/C rows at once and reduces in log2(C/8) shuffles, not
// 5 (c120: with a lane per channel pair the shuffles made the prologue a quarter of the samples).
// Each round's loads (32 floats a lane) go out before its first reduction. Rows past N
// normalize zeros (Bn: finite, never stored).
template <int H, bool kF32>
__device__ __forceinline__ void layer_norm_rows(const AttentionBlockParams& p, const void* xb, int q0, int r0,
                                                uint32_t qs, int lane) {
  constexpr int kC = H * kD, kLanes = kC / 8, kGroups = 32 / kLanes, kRounds = H;
  constexpr int kPer = 16 / kGroups / kRounds;  // rows a group holds in a round
  const int c = (lane % kLanes) * 8, group = lane / kLanes;
  const uint32_t panel = qs + (c / kD) * kPanelBytes;
  float s[8], sh[8];
  load_floats<false, 8>(p.scale, c, s);
  load_floats<false, 8>(p.shift, c, sh);
#pragma unroll 1
  for (int round = 0; round < kRounds; ++round) {
    float v[kPer][8];
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const int row = q0 + r0 + (round * kPer + i) * kGroups + group;
      if (row < p.attn.nq) load_floats<kF32, 8>(xb, int64_t(row) * kC + c, v[i]);
      else
#pragma unroll
        for (int e = 0; e < 8; ++e) v[i][e] = 0.f;
    }
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      float sum = 0.f, sq = 0.f;
#pragma unroll
      for (int e = 0; e < 8; ++e) sum += v[i][e];
      const float mean = group_sum<kLanes>(sum) * (1.f / kC);
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        v[i][e] -= mean;
        sq += v[i][e] * v[i][e];
      }
      const float rstd = rsqrtf(group_sum<kLanes>(sq) * (1.f / kC) + p.epsilon);
      uint32_t o[4];
#pragma unroll
      for (int e = 0; e < 4; ++e)
        o[e] = pack_half2(v[i][2 * e] * rstd * s[2 * e] + sh[2 * e],
                          v[i][2 * e + 1] * rstd * s[2 * e + 1] + sh[2 * e + 1]);
      const int r = r0 + (round * kPer + i) * kGroups + group;
      store_shared_b128(panel + wgmma::swizzled(r, c % kD), o);
    }
  }
}

// acc (+)= A·B over the H panels of this warpgroup's rows (`rows`: the panels' offset to them) for
// output columns [64nh, 64nh + 64): K = 64H, B the weight blocks (kp, nh). `onto`: add to acc's
// values (else the first step overwrites them).
template <int H>
__device__ __forceinline__ void panel_product(float (&acc)[32], uint32_t qs, uint32_t rows, const Weights<H>& w,
                                              const KvPipeline& kv, int first, bool wo, int nh, bool onto) {
#pragma unroll
  for (int kp = 0; kp < H; ++kp) {
    const uint64_t a = wgmma::descriptor(qs + kp * kPanelBytes + rows), b = wgmma::descriptor(w.slot(kv, first, wo, kp, nh));
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) wgmma::mma_ss_bt<64>(acc, a + 2 * kk, b + 128 * kk, onto || kp + kk);
  }
}

// Q = L·Wq + Bq for this warpgroup's rows, written back over L (fp16, as the projection rounds).
template <int H>
__device__ __forceinline__ void project_q(const AttentionBlockParams& p, uint32_t qs, uint32_t rows, const Weights<H>& w,
                                          const KvPipeline& kv, int first, int wg, int warp, int lane) {
  float q[H][32];
#pragma unroll
  for (int nh = 0; nh < H; ++nh)
#pragma unroll
    for (int i = 0; i < 32; ++i) q[nh][i] = 0.f;
  wgmma::fence();
#pragma unroll
  for (int nh = 0; nh < H; ++nh) panel_product<H>(q[nh], qs, rows, w, kv, first, false, nh, false);
  wgmma::commit();
#pragma unroll
  for (int nh = 0; nh < H; ++nh) pin(q[nh]);
  wgmma::wait<0>();
#pragma unroll
  for (int nh = 0; nh < H; ++nh) pin(q[nh]);
  warpgroup_sync(wg);  // every warp's part of the products has read L
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int nh = 0; nh < H; ++nh)
#pragma unroll
    for (int n = 0; n < 8; ++n) {
      const int c = 8 * n + 2 * t;
      float b[2];
      load_floats<false, 2>(p.bq, nh * kD + c, b);
#pragma unroll
      for (int hh = 0; hh < 2; ++hh)
        store_shared_b32(qs + nh * kPanelBytes + rows + wgmma::swizzled(16 * warp + g + 8 * hh, c),
                         pack_half2(q[nh][4 * n + 2 * hh] + b[0], q[nh][4 * n + 2 * hh + 1] + b[1]));
    }
  cuda::tma::fence_proxy_async();  // Q, written here, read by the key loop's wgmma
}

// O = acc over this lane's row sums l, rounded to fp16 as the attention stores it, into the
// head's panel over its Q (whose last reader, the loop's final Q Kᵀ, has completed).
__device__ __forceinline__ void store_o(float (&acc)[32], const float (&l)[2], uint32_t panel, int warp, int lane) {
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    float sum = l[hh];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const float inv = 1.f / sum;
#pragma unroll
    for (int n = 0; n < 8; ++n)
      store_shared_b32(panel + wgmma::swizzled(16 * warp + g + 8 * hh, 8 * n + 2 * t),
                       pack_half2(acc[4 * n + 2 * hh] * inv, acc[4 * n + 2 * hh + 1] * inv));
  }
}

// Y = O·Wo + Bo + X for this warpgroup's rows, 64 output columns at a time. X's and Bo's loads go
// out before the product, which hides part of their latency (c120: the epilogue's samples were
// mostly these loads' waits).
template <int H, bool kF32>
__device__ __forceinline__ void project_out(const AttentionBlockParams& p, const void* xb, void* yb, uint32_t qs,
                                            uint32_t rows, const Weights<H>& w, const KvPipeline& kv, int row0,
                                            int lane) {
  constexpr int kC = H * kD;
  const int g = lane >> 2, t = lane & 3;
#pragma unroll 1
  for (int nh = 0; nh < H; ++nh) {
    float y[32];  // first X + Bo, then Y
    float bo[8][2];  // the same for both of this thread's rows
#pragma unroll
    for (int n = 0; n < 8; ++n) load_floats<kF32, 2>(p.bo, nh * kD + 8 * n + 2 * t, bo[n]);
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int row = row0 + g + 8 * hh;
      const bool in = row < p.attn.nq;
      const int64_t at = int64_t(in ? row : 0) * kC + nh * kD + 2 * t;
#pragma unroll
      for (int n = 0; n < 8; ++n) {
        float x[2] = {0.f, 0.f};
        if (in) load_floats<kF32, 2>(xb, at + 8 * n, x);
        y[4 * n + 2 * hh] = x[0] + bo[n][0];
        y[4 * n + 2 * hh + 1] = x[1] + bo[n][1];
      }
    }
    wgmma::fence();
    panel_product<H>(y, qs, rows, w, kv, 0, true, nh, true);
    wgmma::commit();
    pin(y);
    wgmma::wait<0>();
    pin(y);
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int row = row0 + g + 8 * hh;
      if (row >= p.attn.nq) continue;
#pragma unroll
      for (int n = 0; n < 8; ++n) {
        const int64_t at = int64_t(row) * kC + nh * kD + 8 * n + 2 * t;
        const float lo = y[4 * n + 2 * hh], hi = y[4 * n + 2 * hh + 1];
        if constexpr (kF32)
          *reinterpret_cast<float2*>(static_cast<float*>(yb) + at) = make_float2(lo, hi);
        else
          *reinterpret_cast<uint32_t*>(static_cast<__half*>(yb) + at) = pack_half2(lo, hi);
      }
    }
  }
}

// Dispatched only on compute capability 9.0 (attention_block_runs), like attention_wgmma.cu.
// H heads of 64 channels; the key stream walks head 0's tiles, then head 1's.
template <int H, bool kF32>
__global__ void __launch_bounds__(kThreads, 2)
    attention_block_wgmma(const __grid_constant__ KvMaps maps, AttentionBlockParams p, float slack, int ahead) {
  constexpr int kC = H * kD;
  extern __shared__ unsigned char smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t qs = (raw + wgmma::kAtomBytes - 1) & ~(wgmma::kAtomBytes - 1);
  Weights<H> w{qs + H * kPanelBytes};
  KvPipeline kv(&maps, w.resident + (kResidentWeights<H> ? 2 * kWeightTile : 0), smem_raw, raw);
  const int wg = threadIdx.x >> 7, warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31;
  const int q0 = blockIdx.x * kBM, r0 = wg * 64 + warp * 16;  // this warp's rows of the tile
  const uint32_t rows = wg * 64 * 128;                        // this warpgroup's rows in a panel
  constexpr float kLog2e = 1.4426950408889634f;
  const float scale_log2 = p.attn.scale * kLog2e;
  kv.heads = H;
  kv.tiles = (p.attn.nk + kBN - 1) / kBN;
  const int prefetch_tile = max(1, kv.tiles * 3 / 4);

  if (threadIdx.x == 0) kv.init();
  if constexpr (kResidentWeights<H>) {
    w.load(kv, 0, false, p.wq);
    w.load(kv, 0, true, p.wo);
  }
  __syncthreads();

  const int64_t items = p.attn.batch / H;
  for (int64_t b = blockIdx.y; b < items; b += gridDim.y) {
    // Item b's X and Y, made where used: live across the key loop they cost registers it needs.
    const auto item = [&](const void* base) {
      return static_cast<const char*>(base) + b * p.attn.nq * kC * (kF32 ? 4 : 2);
    };
    kv.outer = int(b);
    if (b != blockIdx.y) __syncthreads();  // every warp is done with the last item's stages and tile
    const int first = kv.stage(2);         // Wq's stages at two heads: stream tiles 2 and 3 wait for it
    if (threadIdx.x == 0) kv.load_first(0, kResidentWeights<H> ? kStages : 2);
    if constexpr (!kResidentWeights<H>) w.load(kv, first, false, p.wq);
    layer_norm_rows<H, kF32>(p, item(p.x), q0, r0, qs, lane);
    asm volatile("cp.async.wait_group 0;\n" ::);  // the weights
    cuda::tma::fence_proxy_async();              // L and the weights, read by wgmma
    __syncthreads();
    project_q<H>(p, qs, rows, w, kv, first, wg, warp, lane);
    if constexpr (kResidentWeights<H>) {
      warpgroup_sync(wg);
    } else {
      __syncthreads();  // both warpgroups are done with Wq's stages
      if (threadIdx.x == 0) kv.load_first(2);
    }
#pragma unroll  // at two heads a rolled loop cost spills (ptxas: 52 bytes against 16)
    for (int h = 0; h < H; ++h) {
      float acc[32], m[2], l[2];
      // Three quarters through the last head's keys, each warpgroup asks L2 for its half of the X
      // rows of the block `ahead` (the resident count) later in launch order: the block likely to
      // take the next freed slot, whose LayerNorm then reads L2, not DRAM. c220: the LayerNorm's
      // first use of X was the largest stall outside the key loop; c221: stage 0 -2%, stage 1 -1%.
      const auto prefetch_next = [&](int j) {
        uint3 next;  // x: its row tile, y: its item
        if (h != H - 1 || j != prefetch_tile || (threadIdx.x & 127) != 0 || !cuda::block_ahead(ahead, next)) return;
        const int row = int(next.x) * kBM + wg * 64, n = min(64, p.attn.nq - row);
        constexpr int kRowBytes = kC * (kF32 ? 4 : 2);
        if (n > 0)
          cuda::tma::prefetch_l2(static_cast<const char*>(p.x) + (int64_t(next.y) * p.attn.nq + row) * kRowBytes,
                                 uint32_t(n * kRowBytes));
      };
      flash_rows(kv, qs + h * kPanelBytes + rows, h, p.attn.nk, scale_log2, slack, lane, acc, m, l, prefetch_next);
      store_o(acc, l, qs + h * kPanelBytes + rows, warp, lane);
    }
    kv.filled += kv.stream();
    cuda::tma::fence_proxy_async();  // O, read by wgmma
    if constexpr (kResidentWeights<H>) {
      warpgroup_sync(wg);
    } else {
      __syncthreads();  // the stages are free
      w.load(kv, 0, true, p.wo);
      asm volatile("cp.async.wait_group 0;\n" ::);
      cuda::tma::fence_proxy_async();
      __syncthreads();
    }
    project_out<H, kF32>(p, item(p.x), const_cast<char*>(item(p.y)), qs, rows, w, kv, q0 + r0, lane);
  }
}

std::atomic<bool> prefetch_on{true};  // set_attention_block_prefetch

template <int H> void launch(const AttentionBlockParams& p, cudaStream_t stream) {
  const auto kernel = p.x_f32 ? attention_block_wgmma<H, true> : attention_block_wgmma<H, false>;
  constexpr size_t smem = smem_bytes<H>();
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  const int64_t items = p.attn.batch / H;
  const dim3 grid(unsigned((int64_t(p.attn.nq) + kBM - 1) / kBM), unsigned(items < 65535 ? items : 65535));
  const int ahead = prefetch_on.load() ? int(cuda::resident_blocks(kernel, kThreads, smem)) : 0;
  kernel<<<grid, kThreads, smem, stream>>>(kv_maps(p.attn), p, attention_rescale_slack(), ahead);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

bool attention_block_runs(const AttentionBlockParams& p) {
  const AttentionParams& a = p.attn;
  return (a.heads == 1 || a.heads == 2) && a.batch % a.heads == 0 && a.d == kD && a.dv == kD && a.scale > 0.f && kv_maps_fit(a) &&
         cuda_hopper();
}

void set_attention_block_prefetch(bool on) { prefetch_on.store(on); }

void launch_attention_block(const AttentionBlockParams& p, cudaStream_t stream) {
  if (p.attn.heads == 1) return launch<1>(p, stream);
  launch<2>(p, stream);
}

}  // namespace kiln::attention
