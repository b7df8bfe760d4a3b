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

#include "ops/attention/attention_wgmma_loop.cuh"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::attention {
namespace {

using namespace flash_wgmma;

// Q and the K/V stages, alignment slack.
constexpr size_t kSmemBytes = size_t(kBM * kD * 2) + kKvBytes + wgmma::kAtomBytes;

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

// Dispatched only on compute capability 9.0, which runs the sm_90a code: elsewhere (the
// compute_90 PTX) the wgmma and TMA helpers trap.
__global__ void __launch_bounds__(kThreads, 2) attention_f16_wgmma(const __grid_constant__ KvMaps maps, AttentionParams p, float slack) {
  extern __shared__ unsigned char smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t qs = (raw + wgmma::kAtomBytes - 1) & ~(wgmma::kAtomBytes - 1);
  KvPipeline kv(&maps, qs + kBM * kD * 2, smem_raw, raw);
  const int wg = threadIdx.x >> 7, warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31;
  const int g = lane >> 2, t = lane & 3;
  const int q0 = blockIdx.x * kBM;
  constexpr float kLog2e = 1.4426950408889634f;
  const float scale_log2 = p.scale * kLog2e;  // exp(x·scale) = exp2(x·scale·log2 e); scale > 0
  // This block's key tiles [j0, j0 + tiles): all, or its split's.
  const int all_tiles = (p.nk + kBN - 1) / kBN;
  kv.j0 = p.splits > 1 ? int(blockIdx.z) * (p.split_keys / kBN) : 0;
  kv.tiles = min(all_tiles - kv.j0, p.splits > 1 ? p.split_keys / kBN : all_tiles);

  if (threadIdx.x == 0) kv.init();
  __syncthreads();

  for (int64_t b = blockIdx.y; b < p.batch; b += gridDim.y) {
    const flash::ItemOperands it = flash::item_operands(p, b);
    __half* og = it.o;
    kv.outer = int(b / p.heads), kv.head0 = int(b % p.heads);

    if (b != blockIdx.y) __syncthreads();  // every warpgroup is done with the last item's tiles
    load_swizzled<kBM>(qs, it.q, q0, p.nq, p.d, p.sq.row);
    asm volatile("cp.async.commit_group;\n" ::);
    if (threadIdx.x == 0) kv.load_first();
    asm volatile("cp.async.wait_group 0;\n" ::);
    cuda::tma::fence_proxy_async();  // Q, written by cp.async, read by wgmma
    __syncthreads();

    float acc[32], m[2], l[2];
    flash_rows(kv, qs + wg * 64 * 128, 0, p.nk, scale_log2, slack, lane, acc, m, l);
    kv.filled += kv.stream();

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

float rescale_slack = 8.f;  // set_attention_rescale_slack

}  // namespace

void set_attention_rescale_slack(float slack) { rescale_slack = slack; }
float attention_rescale_slack() { return rescale_slack; }

bool attention_f16_wgmma_fits(const AttentionParams& p) {
  const int w = p.d > p.dv ? p.d : p.dv;
  return p.mask.kind == MaskKind::kNone && w > 32 && w <= kD && p.scale > 0.f && flash::vector_loads(p) &&
         p.batch % p.heads == 0 && kv_maps_fit(p) && cuda_hopper();
}

bool attention_f16_uses_wgmma(const AttentionParams& p) {
  const int64_t blocks = (int64_t(p.nq) + kBM - 1) / kBM * p.batch;
  return attention_f16_wgmma_fits(p) && (p.splits > 1 ? p.split_keys % kBN == 0 : blocks >= cuda_sm_count());
}

void launch_attention_f16_wgmma(const AttentionParams& p, cudaStream_t stream) {
  CUDA_CHECK(cudaFuncSetAttribute(attention_f16_wgmma, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kSmemBytes)));
  const dim3 grid(unsigned((int64_t(p.nq) + kBM - 1) / kBM), unsigned(p.batch < 65535 ? p.batch : 65535),
                  unsigned(p.splits));
  attention_f16_wgmma<<<grid, kThreads, kSmemBytes, stream>>>(kv_maps(p), p, attention_rescale_slack());
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::attention
