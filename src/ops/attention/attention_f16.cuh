// kiln.Attention, fp16: flash-attention forward on tensor cores. The score matrix S = Q Kᵀ
// never leaves registers: each warp owns 16 query rows, walks K/V in tiles of 64 keys, keeps a
// running row maximum m and sum l (online softmax, fp32, base-2 exponent with the scale folded
// in), rescales its fp32 output accumulator when m grows, and divides by l once at the end.
//
// Layout: a block is 4 warps = 64 query rows of one batch item (grid x: query tiles, y: batch).
// Q, the K tile and the V tile sit in shared memory with rows padded by 8 halves (16 bytes), so
// rows stay 16-byte aligned for cp.async/ldmatrix and the 8 rows a fragment load touches fall in
// different banks. Head dims are padded to kD ∈ {32, 64, 128} with zeros (zero Q/K columns add
// nothing to a dot product; padded V columns are computed and not stored); keys past Nk score
// -inf and their V rows are zero, query rows past Nq are not stored.
// K tile j+1 loads (cp.async) while P·V of tile j runs, V tile j while S of tile j runs.
//
// Fragments as mma_f16.cuh lays them out: the S accumulators of two adjacent 8-key tiles are
// exactly the A fragment of one 16-key step of P·V, so P goes from C to A in registers
// (converted to fp16).
//
// Floor, SegFormer-B2 stage 0 at 1024² (1 head, Nq 65536, Nk 1024, d 64) on an H200:
//   FLOPs  2·Nq·Nk·d (Q Kᵀ) + 2·Nq·Nk·d (P V) = 17.2 GFLOP → 17.4 µs at 990 TFLOP/s (fp16 dense)
//   exp    Nq·Nk = 67.1 M exponentials; at 16/clk/SM (MUFU) × 132 SMs × ~1.98 GHz ≈ 4.2 T/s
//          ≈ 16 µs — as large as the tensor-core floor, so overlap matters (FA3's observation)
//   bytes  Q 8.4 MB + O 8.4 MB + K, V 0.26 MB ≈ 17.0 MB → 3.5 µs at 4.8 TB/s
// so ~17–20 µs per layer is the target, compute-bound. Unfused, S (Nq·Nk fp16 = 134 MB) is
// written by MatMul, read+written by Mul and by Softmax, read by MatMul: ~805 MB ≈ 168 µs.
//
// Masks (kMask, a template parameter so the unmasked kernel is unchanged): each thread loads
// the mask of its 2 rows × 16 keys of a tile before the tile's Q Kᵀ products, so the loads
// overlap them — a bool mask as one bit per score, an additive one as fp32 in log2 units — and
// masked scores enter the online softmax as -inf, like keys past Nk. A row with every key
// masked ends with l = 0 and is stored as NaN (Softmax over only -inf). Masked launches may
// split the keys over grid z (attention_split.h): each split then writes its m, l and
// unnormalized sums instead of O.
//
// Instantiated by attention.cu (no mask) and attention_masked_f16.cu.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "ops/attention/attention_launch.h"
#include "ops/attention/attention_mask.cuh"
#include "ops/attention/mma_f16.cuh"
#include "runtime/cuda/cuda_check.h"

namespace kiln::attention::flash {

constexpr int kWarps = 4;
constexpr int kBM = 16 * kWarps;  // query rows per block
constexpr int kBN = 64;           // keys per tile
constexpr int kPad = 8;           // halves of padding per shared-memory row
static_assert(kBM == kF16BlockRows && kSplitKeyUnit % kBN == 0);

template <int kD> __host__ __device__ constexpr int stride_of() { return kD + kPad; }
template <int kD> constexpr size_t smem_bytes() {
  return size_t(kBM + 2 * kBN) * stride_of<kD>() * sizeof(__half);
}

// Rows [row0, row0 + rows) of a row-major [n, width] matrix (rows `ld` elements apart) into
// shared memory (row stride kD + kPad), columns [0, kD); zeros outside n × width. kVec: width
// and ld % 8 == 0 and a 16-byte aligned base, so whole 16-byte chunks go by cp.async
// (zero-filled when out of range); else element by element through registers.
template <int kD, bool kVec>
__device__ __forceinline__ void load_tile(__half* s, const __half* g, int row0, int rows, int n, int width,
                                          int64_t ld) {
  constexpr int kStride = stride_of<kD>();
  if constexpr (kVec) {
    constexpr int kChunks = kD / 8;
    for (int i = threadIdx.x; i < rows * kChunks; i += blockDim.x) {
      const int r = i / kChunks, c = (i % kChunks) * 8, gr = row0 + r;
      const bool in = gr < n && c < width;
      cp_async16(s + r * kStride + c, in ? g + gr * ld + c : g, in ? 16 : 0);
    }
  } else {
    for (int i = threadIdx.x; i < rows * kD; i += blockDim.x) {
      const int r = i / kD, c = i % kD, gr = row0 + r;
      s[r * kStride + c] = gr < n && c < width ? g[gr * ld + c] : __float2half(0.f);
    }
  }
}

// Batch item b's Q, K, V and O (fp16), as attention_launch.h lays them out.
struct ItemOperands {
  const __half *q, *k, *v;
  __half* o;
};
__device__ __forceinline__ ItemOperands item_operands(const AttentionParams& p, int64_t b) {
  return {static_cast<const __half*>(p.q) + p.sq.at(b, p.heads, 0), static_cast<const __half*>(p.k) + p.sk.at(b, p.heads, 0),
          static_cast<const __half*>(p.v) + p.sv.at(b, p.heads, 0), static_cast<__half*>(p.o) + p.so.at(b, p.heads, 0)};
}

template <int kD, bool kVec, MaskKind kMask>
__global__ void __launch_bounds__(kWarps * 32) flash_attention_f16(AttentionParams p) {
  constexpr int kStride = stride_of<kD>();
  extern __shared__ __align__(16) unsigned char smem_raw[];
  __half* qs = reinterpret_cast<__half*>(smem_raw);
  __half* ks = qs + kBM * kStride;
  __half* vs = ks + kBN * kStride;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int q0 = blockIdx.x * kBM;
  constexpr float kLog2e = 1.4426950408889634f;
  const float scale_log2 = p.scale * kLog2e;  // exp(x·scale) = exp2(x·scale·log2 e)
  const int tiles = (p.nk + kBN - 1) / kBN;
  // The key tiles this block walks: all, or its split's (masked launches).
  int j_begin = 0, j_end = tiles;
  if constexpr (kMask != MaskKind::kNone) {
    if (p.splits > 1) {
      j_begin = int(blockIdx.z) * (p.split_keys / kBN);
      j_end = min(tiles, j_begin + p.split_keys / kBN);
    }
  }

  for (int64_t b = blockIdx.y; b < p.batch; b += gridDim.y) {
    const ItemOperands it = item_operands(p, b);
    const __half *qg = it.q, *kg = it.k, *vg = it.v;
    __half* og = it.o;
    [[maybe_unused]] const void* mb = mask_base<kMask, __half>(p.mask, b, p.heads);

    load_tile<kD, kVec>(qs, qg, q0, kBM, p.nq, p.d, p.sq.row);
    load_tile<kD, kVec>(ks, kg, j_begin * kBN, kBN, p.nk, p.d, p.sk.row);
    cp_async_commit();

    uint32_t qa[kD / 16][4];
    float acc[kD / 8][4];
#pragma unroll
    for (int n = 0; n < kD / 8; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};  // rows g and g + 8 (l: this lane's part)

    for (int j = j_begin; j < j_end; ++j) {
      load_tile<kD, kVec>(vs, vg, j * kBN, kBN, p.nk, p.dv, p.sv.row);
      cp_async_commit();
      cp_async_wait<1>();  // Q and K tile j have landed
      __syncthreads();
      if (j == j_begin) {
        const __half* qr = qs + (warp * 16 + g) * kStride + 2 * t;
#pragma unroll
        for (int kk = 0; kk < kD / 16; ++kk) {
          qa[kk][0] = lds32(qr + kk * 16);
          qa[kk][1] = lds32(qr + 8 * kStride + kk * 16);
          qa[kk][2] = lds32(qr + kk * 16 + 8);
          qa[kk][3] = lds32(qr + 8 * kStride + kk * 16 + 8);
        }
      }

      // The mask of this thread's scores (rows g, g + 8; keys as the S fragments hold them).
      // Bool: bit 4n + e set where the key is in range and kept (rows past Nq keep every key
      // in range: they are not stored). Additive: the value in log2 units, 0 outside.
      [[maybe_unused]] uint32_t keep = 0;
      [[maybe_unused]] float madd[kMask == MaskKind::kAdditive ? kBN / 8 : 1][4];
      if constexpr (kMask != MaskKind::kNone) {
#pragma unroll
        for (int n = 0; n < kBN / 8; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int r = q0 + warp * 16 + g + 8 * (e >> 1), c = j * kBN + 2 * t + n * 8 + (e & 1);
            if constexpr (kMask == MaskKind::kBool)
              keep |= uint32_t(c < p.nk && (r >= p.nq || mask_keeps(p.mask, mb, r, c))) << (4 * n + e);
            else
              madd[n][e] = r < p.nq && c < p.nk ? mask_value<__half>(p.mask, mb, r, c) * kLog2e : 0.f;
          }
      }

      // S = Q Kᵀ for this warp's 16 rows and the tile's 64 keys.
      float s[kBN / 8][4];
#pragma unroll
      for (int n = 0; n < kBN / 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk)
#pragma unroll
        for (int n = 0; n < kBN / 8; ++n) {
          const __half* kr = ks + (n * 8 + g) * kStride + kk * 16 + 2 * t;
          mma16816(s[n], qa[kk], lds32(kr), lds32(kr + 8));
        }

      // Online softmax: scores in log2 units, keys past Nk at -inf.
      const int key0 = j * kBN + 2 * t;
      float mx[2] = {m[0], m[1]};
#pragma unroll
      for (int n = 0; n < kBN / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          float x;
          if constexpr (kMask == MaskKind::kBool) x = (keep >> (4 * n + e)) & 1u ? s[n][e] * scale_log2 : -INFINITY;
          else if constexpr (kMask == MaskKind::kAdditive)
            x = key0 + n * 8 + (e & 1) < p.nk ? fmaf(s[n][e], scale_log2, madd[n][e]) : -INFINITY;
          else x = key0 + n * 8 + (e & 1) < p.nk ? s[n][e] * scale_log2 : -INFINITY;
          s[n][e] = x;
          mx[e >> 1] = fmaxf(mx[e >> 1], x);
        }
      float base[2], alpha[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {  // the 4 lanes of a quad share a row
        mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 1));
        mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 2));
        base[h] = mx[h] == -INFINITY ? 0.f : mx[h];  // all -inf so far (non-finite input): no NaN from -inf - -inf
        alpha[h] = exp2f(m[h] - base[h]);
        m[h] = mx[h];
        l[h] *= alpha[h];
      }
#pragma unroll
      for (int n = 0; n < kBN / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          s[n][e] = exp2f(s[n][e] - base[e >> 1]);
          l[e >> 1] += s[n][e];
        }
#pragma unroll
      for (int n = 0; n < kD / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[n][e] *= alpha[e >> 1];

      __syncthreads();  // every warp is done with K tile j
      if (j + 1 < j_end) load_tile<kD, kVec>(ks, kg, (j + 1) * kBN, kBN, p.nk, p.d, p.sk.row);
      cp_async_commit();   // possibly empty: keeps the group count uniform
      cp_async_wait<1>();  // V tile j has landed
      __syncthreads();

      // acc += P V over the tile's 4 steps of 16 keys.
      const int mi = lane >> 3, mr = lane & 7;
#pragma unroll
      for (int kk = 0; kk < kBN / 16; ++kk) {
        const uint32_t pa[4] = {pack_half2(s[2 * kk][0], s[2 * kk][1]), pack_half2(s[2 * kk][2], s[2 * kk][3]),
                                pack_half2(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                pack_half2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
        const __half* vrow = vs + (kk * 16 + (mi & 1) * 8 + mr) * kStride + (mi >> 1) * 8;
#pragma unroll
        for (int n = 0; n < kD / 8; n += 2) {
          uint32_t bv[4];
          ldmatrix_x4_trans(bv, vrow + n * 8);
          mma16816(acc[n], pa, bv[0], bv[1]);
          mma16816(acc[n + 1], pa, bv[2], bv[3]);
        }
      }
      __syncthreads();  // every warp is done with V tile j (and, after the last tile, with Q)
    }

    float inv[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
      l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
      if constexpr (kMask == MaskKind::kNone) inv[h] = 1.f / l[h];
      else inv[h] = inverse_sum(l[h]);
    }
    if constexpr (kMask != MaskKind::kNone) {
      if (p.splits > 1) {  // this split's rows, unnormalized, for launch_attention_combine
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int row = q0 + warp * 16 + g + 8 * h;
          if (row >= p.nq) continue;
          const int64_t prow = (int64_t(blockIdx.z) * p.batch + b) * p.nq + row;
          float* pacc = p.partial + prow * p.dv;
#pragma unroll
          for (int n = 0; n < kD / 8; ++n)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const int c = n * 8 + 2 * t + e;
              if (c < p.dv) pacc[c] = acc[n][2 * h + e];
            }
          if (t == 0) {
            float* ml = p.partial + int64_t(p.splits) * p.batch * p.nq * p.dv + 2 * prow;
            ml[0] = m[h];
            ml[1] = l[h];
          }
        }
        continue;
      }
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = q0 + warp * 16 + g + 8 * h;
      if (row >= p.nq) continue;
      __half* orow = og + row * p.so.row;
#pragma unroll
      for (int n = 0; n < kD / 8; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = n * 8 + 2 * t + e;
          if (c < p.dv) orow[c] = __float2half_rn(acc[n][2 * h + e] * inv[h]);
        }
    }
  }
}

template <int kD, bool kVec, MaskKind kMask> void launch(const AttentionParams& p, cudaStream_t stream) {
  constexpr size_t bytes = smem_bytes<kD>();
  auto kernel = flash_attention_f16<kD, kVec, kMask>;
  if (bytes > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  const dim3 grid(unsigned((int64_t(p.nq) + kBM - 1) / kBM), unsigned(p.batch < 65535 ? p.batch : 65535),
                  unsigned(p.splits));
  kernel<<<grid, kWarps * 32, bytes, stream>>>(p);
  CUDA_CHECK_LAUNCH();
}

// Whether Q, K and V tiles may load as 16-byte cp.async chunks (load_tile's kVec): every batch
// item's base and every row 16-byte aligned, so all strides multiples of 8.
inline bool vector_loads(const AttentionParams& p) {
  const auto aligned = [](const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; };
  const auto strides8 = [](const RowStrides& s) { return s.outer % 8 == 0 && s.head % 8 == 0 && s.row % 8 == 0; };
  return p.d % 8 == 0 && p.dv % 8 == 0 && aligned(p.q) && aligned(p.k) && aligned(p.v) && strides8(p.sq) &&
         strides8(p.sk) && strides8(p.sv);
}

template <int kD, MaskKind kMask> void launch_for(const AttentionParams& p, cudaStream_t stream) {
  vector_loads(p) ? launch<kD, true, kMask>(p, stream) : launch<kD, false, kMask>(p, stream);
}

// The head dims padded to 32, 64 or 128.
template <MaskKind kMask> void launch_padded(const AttentionParams& p, cudaStream_t stream) {
  const int w = p.d > p.dv ? p.d : p.dv;
  if (w <= 32) launch_for<32, kMask>(p, stream);
  else if (w <= 64) launch_for<64, kMask>(p, stream);
  else launch_for<128, kMask>(p, stream);
}

}  // namespace kiln::attention::flash
