// kiln.Attention, fp16, no mask, head dims ≤ 64: the flash forward of attention_f16.cuh with
// twice the query rows per warp and double-buffered K/V tiles, for the large unmasked launches
// (SegFormer's efficient self-attention) where that kernel's shared-memory traffic binds.
//
// Why. An mma.sync m16n8k16 does 4096 FLOPs and needs a 256-byte B fragment from shared memory.
// At 128 B/clk/SM of shared-memory bandwidth that is 2 clk per MMA when a warp owns 16 query
// rows (each K or V fragment feeds one MMA), while the tensor cores finish an MMA in about one:
// the 16-row kernel sits near 150 TFLOP/s on an H100 (SegFormer-B2 stage 0 at 1024²: 0.114 ms
// for 17.5 GFLOP). Here a warp owns 32 rows (two 16-row tiles), so each fragment feeds two MMAs
// and the loads halve; K fragments come by ldmatrix (one instruction per two 8-key tiles, not
// four 32-bit loads). K and V tiles j+1 and j+2 land (cp.async) while tile j computes, with one
// barrier pair per tile. Exponentials are ex2.approx.ftz (one MUFU op; rel. error ~2^-22, far
// under fp16's 2^-11) of one FFMA each, and the key bound is checked only in a ragged last tile.
//
// Floor, SegFormer-B2 stage 0 at 1024² (1 head, Nq 65536, Nk 1024, d 64) on an H100:
//   tensor cores 17.5 GFLOP at ~660 TFLOP/s (mma.sync, about 2/3 of the wgmma peak) ≈ 27 µs;
//   MUFU 67 M exponentials at 16/clk/SM ≈ 18 µs; bytes 17 MB ≈ 6 µs. They overlap only in part:
//   the prediction is ~55–65 µs per layer (about 2× the 16-row kernel).
//
// Layout: a block is 4 warps = 128 query rows of one batch item (grid x: query tiles, y: batch);
// Q [128][kD + 8] and two stages of K and V [64][kD + 8] in shared memory (55 KB at kD 64), rows
// padded by 16 bytes as in attention_f16.cuh, whose load_tile and zero-padding conventions (head
// dims padded to 32 or 64, keys past Nk at -inf, rows past Nq not stored) this kernel shares.
// Fragment layouts: mma_f16.cuh.
//
// Instantiated by attention.cu, which picks it when its 128-row grid fills the GPU.
#pragma once
#include "ops/attention/attention_f16.cuh"
#include "runtime/cuda/exp2_approx.h"

namespace kiln::attention::wide {

constexpr int kWarps = 4;
constexpr int kTilesM = 2;                 // 16-row MMA tiles per warp
constexpr int kBM = 16 * kTilesM * kWarps;  // query rows per block
constexpr int kBN = 64;                    // keys per tile
constexpr int kStages = 2;                 // K/V tiles in shared memory at once
static_assert(kBN == flash::kBN);

template <int kD> constexpr size_t smem_bytes() {
  return size_t(kBM + 2 * kStages * kBN) * flash::stride_of<kD>() * sizeof(__half);
}

template <int kD, bool kVec>
__global__ void __launch_bounds__(kWarps * 32, 2) flash_attention_f16_wide(AttentionParams p) {
  constexpr int kStride = flash::stride_of<kD>();
  constexpr int kKV = kBN * kStride;  // halves per K or V stage
  extern __shared__ __align__(16) unsigned char smem_raw[];
  __half* qs = reinterpret_cast<__half*>(smem_raw);
  __half* ks = qs + kBM * kStride;
  __half* vs = ks + kStages * kKV;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int mi = lane >> 3, mr = lane & 7;  // ldmatrix: the 8x8 matrix and row this lane addresses
  const int q0 = blockIdx.x * kBM;
  constexpr float kLog2e = 1.4426950408889634f;
  const float scale_log2 = p.scale * kLog2e;  // exp(x·scale) = exp2(x·scale·log2 e)
  const int tiles = (p.nk + kBN - 1) / kBN;

  for (int64_t b = blockIdx.y; b < p.batch; b += gridDim.y) {
    const flash::ItemOperands it = flash::item_operands(p, b);
    const __half *qg = it.q, *kg = it.k, *vg = it.v;
    __half* og = it.o;
    const auto load_kv = [&](int j) {  // tile j into stage j % kStages; one commit group
      if (j < tiles) {
        flash::load_tile<kD, kVec>(ks + (j % kStages) * kKV, kg, j * kBN, kBN, p.nk, p.d, p.sk.row);
        flash::load_tile<kD, kVec>(vs + (j % kStages) * kKV, vg, j * kBN, kBN, p.nk, p.dv, p.sv.row);
      }
      cp_async_commit();  // possibly empty: keeps the group count uniform
    };
    flash::load_tile<kD, kVec>(qs, qg, q0, kBM, p.nq, p.d, p.sq.row);
    load_kv(0);  // group 0 holds Q too
    load_kv(1);

    uint32_t qa[kTilesM][kD / 16][4];
    float acc[kTilesM][kD / 8][4];
#pragma unroll
    for (int mt = 0; mt < kTilesM; ++mt)
#pragma unroll
      for (int n = 0; n < kD / 8; ++n) acc[mt][n][0] = acc[mt][n][1] = acc[mt][n][2] = acc[mt][n][3] = 0.f;
    // Rows (mt, h) = warp·32 + mt·16 + g + 8h; l is this lane's part of the row sum.
    float m[kTilesM][2], l[kTilesM][2];
#pragma unroll
    for (int mt = 0; mt < kTilesM; ++mt) m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.f;

    for (int j = 0; j < tiles; ++j) {
      cp_async_wait<1>();  // tile j (and, for j = 0, Q) has landed
      __syncthreads();
      if (j == 0) {
#pragma unroll
        for (int mt = 0; mt < kTilesM; ++mt) {
          const __half* qr = qs + (warp * 32 + mt * 16 + g) * kStride + 2 * t;
#pragma unroll
          for (int kk = 0; kk < kD / 16; ++kk) {
            qa[mt][kk][0] = lds32(qr + kk * 16);
            qa[mt][kk][1] = lds32(qr + 8 * kStride + kk * 16);
            qa[mt][kk][2] = lds32(qr + kk * 16 + 8);
            qa[mt][kk][3] = lds32(qr + 8 * kStride + kk * 16 + 8);
          }
        }
      }
      const __half* kt = ks + (j % kStages) * kKV;
      const __half* vt = vs + (j % kStages) * kKV;

      // S = Q Kᵀ: one ldmatrix gives the B fragments of 8-key tiles n and n + 1 at once.
      float s[kTilesM][kBN / 8][4];
#pragma unroll
      for (int mt = 0; mt < kTilesM; ++mt)
#pragma unroll
        for (int n = 0; n < kBN / 8; ++n) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk)
#pragma unroll
        for (int n = 0; n < kBN / 8; n += 2) {
          uint32_t bk[4];
          ldmatrix_x4(bk, kt + ((n + (mi >> 1)) * 8 + mr) * kStride + kk * 16 + (mi & 1) * 8);
#pragma unroll
          for (int mt = 0; mt < kTilesM; ++mt) {
            mma16816(s[mt][n], qa[mt][kk], bk[0], bk[1]);
            mma16816(s[mt][n + 1], qa[mt][kk], bk[2], bk[3]);
          }
        }

      // Online softmax in log2 units. The scale is positive (attention_f16_uses_wide), so the
      // row maximum of the raw scores gives the scaled one, and each probability costs one FFMA
      // and one exponential. Keys past Nk (a ragged last tile only) score -inf.
      if ((j + 1) * kBN > p.nk) {
#pragma unroll
        for (int mt = 0; mt < kTilesM; ++mt)
#pragma unroll
          for (int n = 0; n < kBN / 8; ++n)
#pragma unroll
            for (int e = 0; e < 4; ++e)
              if (j * kBN + n * 8 + 2 * t + (e & 1) >= p.nk) s[mt][n][e] = -INFINITY;
      }
#pragma unroll
      for (int mt = 0; mt < kTilesM; ++mt) {
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int n = 0; n < kBN / 8; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e) mx[e >> 1] = fmaxf(mx[e >> 1], s[mt][n][e]);
#pragma unroll
        for (int h = 0; h < 2; ++h) {  // the 4 lanes of a quad share a row
          mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 1));
          mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 2));
          const float m_new = fmaxf(m[mt][h], mx[h] * scale_log2);
          const float base = m_new == -INFINITY ? 0.f : m_new;  // no NaN from -inf - -inf
          const float alpha = cuda::exp2_approx(m[mt][h] - base);
          m[mt][h] = m_new;
          l[mt][h] *= alpha;
#pragma unroll
          for (int n = 0; n < kD / 8; ++n) acc[mt][n][2 * h] *= alpha, acc[mt][n][2 * h + 1] *= alpha;
#pragma unroll
          for (int n = 0; n < kBN / 8; ++n)
#pragma unroll
            for (int e = 2 * h; e < 2 * h + 2; ++e) {
              s[mt][n][e] = cuda::exp2_approx(fmaf(s[mt][n][e], scale_log2, -base));
              l[mt][h] += s[mt][n][e];
            }
        }
      }

      // acc += P V over the tile's 4 steps of 16 keys; P goes from C to A fragments in registers.
#pragma unroll
      for (int kk = 0; kk < kBN / 16; ++kk) {
        uint32_t pa[kTilesM][4];
#pragma unroll
        for (int mt = 0; mt < kTilesM; ++mt) {
          pa[mt][0] = pack_half2(s[mt][2 * kk][0], s[mt][2 * kk][1]);
          pa[mt][1] = pack_half2(s[mt][2 * kk][2], s[mt][2 * kk][3]);
          pa[mt][2] = pack_half2(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
          pa[mt][3] = pack_half2(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
        }
        const __half* vrow = vt + (kk * 16 + (mi & 1) * 8 + mr) * kStride + (mi >> 1) * 8;
#pragma unroll
        for (int n = 0; n < kD / 8; n += 2) {
          uint32_t bv[4];
          ldmatrix_x4_trans(bv, vrow + n * 8);
#pragma unroll
          for (int mt = 0; mt < kTilesM; ++mt) {
            mma16816(acc[mt][n], pa[mt], bv[0], bv[1]);
            mma16816(acc[mt][n + 1], pa[mt], bv[2], bv[3]);
          }
        }
      }
      __syncthreads();  // every warp is done with stage j % kStages (and, after j = 0, with Q)
      load_kv(j + 2);
    }

#pragma unroll
    for (int mt = 0; mt < kTilesM; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float sum = l[mt][h];
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        const float inv = 1.f / sum;
        const int row = q0 + warp * 32 + mt * 16 + g + 8 * h;
        if (row >= p.nq) continue;
        __half* orow = og + row * p.so.row;
#pragma unroll
        for (int n = 0; n < kD / 8; ++n) {
          const int c = n * 8 + 2 * t;
          const float lo = acc[mt][n][2 * h] * inv, hi = acc[mt][n][2 * h + 1] * inv;
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

template <int kD, bool kVec> void launch(const AttentionParams& p, cudaStream_t stream) {
  constexpr size_t bytes = smem_bytes<kD>();
  auto kernel = flash_attention_f16_wide<kD, kVec>;
  if (bytes > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  const dim3 grid(unsigned((int64_t(p.nq) + kBM - 1) / kBM), unsigned(p.batch < 65535 ? p.batch : 65535));
  kernel<<<grid, kWarps * 32, bytes, stream>>>(p);
  CUDA_CHECK_LAUNCH();
}

// Head dims padded to 32 or 64 (callers check max(d, dv) ≤ 64); vector loads as attention_f16.cuh.
inline void launch_padded(const AttentionParams& p, cudaStream_t stream) {
  const bool vec = flash::vector_loads(p);
  const int w = p.d > p.dv ? p.d : p.dv;
  if (w <= 32) vec ? launch<32, true>(p, stream) : launch<32, false>(p, stream);
  else vec ? launch<64, true>(p, stream) : launch<64, false>(p, stream);
}

}  // namespace kiln::attention::wide
