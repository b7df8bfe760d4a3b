// kiln.Attention on CUDA cores with fp32 math: fp32 engines, and fp16 heads wider than the
// tensor-core kernel's 128. Same online softmax as attention.cu, without tensor cores.
//
// A block is 4 warps, each owning kRows query rows (16 per block); K/V go through shared memory
// in tiles of 32 keys. Scores: lane j computes key j's dot product with the warp's rows (Q rows
// broadcast from shared memory; K rows stored with an odd stride so the 32 lanes hit 32 banks).
// Output: lane c owns columns c, c + 32, ... of the warp's rows, accumulated in shared memory
// (any dv) from the tile's probabilities (broadcast) and V rows (contiguous across lanes).
//
// Masks (kMask, a template parameter so the unmasked kernel is unchanged): lane j reads the
// mask of key j for the warp's rows (consecutive lanes, consecutive keys) and a masked score
// enters the online softmax as -inf; a row with every key masked is stored as NaN. Masked
// launches may split the keys over grid z (attention_split.h): each split then writes its m
// (in log2 units), l and unnormalized sums instead of O.
//
// Instantiated by attention_generic.cu (no mask) and attention_masked_generic.cu.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "ops/attention/attention_launch.h"
#include "ops/attention/attention_mask.cuh"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::attention::generic {

constexpr int kWarps = 4;
constexpr int kRows = 4;              // query rows per warp
constexpr int kBM = kWarps * kRows;   // query rows per block
constexpr int kTile = 32;             // keys per tile (one per lane)
static_assert(kBM == kGenericBlockRows && kSplitKeyUnit % kTile == 0);

__host__ __device__ inline int k_stride(int d) { return d | 1; }  // odd: conflict-free column reads

// Floats of shared memory: Q rows, K tile, V tile, output rows, probabilities.
__host__ __device__ inline size_t smem_floats(int d, int dv) {
  return size_t(kBM) * d + size_t(kTile) * k_stride(d) + size_t(kTile) * dv + size_t(kBM) * dv + kBM * kTile;
}

template <class T, MaskKind kMask> __global__ void __launch_bounds__(kWarps * 32) attention_generic(AttentionParams p) {
  extern __shared__ float sm[];
  const int d = p.d, dv = p.dv, ksd = k_stride(d);
  float* qs = sm;
  float* ks = qs + kBM * d;
  float* vs = ks + kTile * ksd;
  float* os = vs + kTile * dv;
  float* ps = os + kBM * dv;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int q0 = blockIdx.x * kBM;
  float* wq = qs + warp * kRows * d;      // this warp's rows
  float* wo = os + warp * kRows * dv;
  float* wp = ps + warp * kRows * kTile;

  for (int64_t b = blockIdx.y; b < p.batch; b += gridDim.y) {
    const T* qg = static_cast<const T*>(p.q) + p.sq.at(b, p.heads, 0);
    const T* kg = static_cast<const T*>(p.k) + p.sk.at(b, p.heads, 0);
    const T* vg = static_cast<const T*>(p.v) + p.sv.at(b, p.heads, 0);
    T* og = static_cast<T*>(p.o) + p.so.at(b, p.heads, 0);
    [[maybe_unused]] const void* mb = mask_base<kMask, T>(p.mask, b, p.heads);
    for (int i = threadIdx.x; i < kBM * d; i += blockDim.x) {
      const int r = q0 + i / d;
      qs[i] = r < p.nq ? cuda::load_f(qg, int64_t(r) * p.sq.row + i % d) : 0.f;
    }
    for (int i = threadIdx.x; i < kBM * dv; i += blockDim.x) os[i] = 0.f;
    float m[kRows], l[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) m[r] = -INFINITY, l[r] = 0.f;

    // The keys this block walks: all, or its split's (masked launches; whole tiles but the last).
    int key_begin = 0, key_end = p.nk;
    if constexpr (kMask != MaskKind::kNone) {
      if (p.splits > 1) {
        key_begin = int(blockIdx.z) * p.split_keys;
        key_end = min(p.nk, key_begin + p.split_keys);
      }
    }
    for (int key0 = key_begin; key0 < key_end; key0 += kTile) {
      __syncthreads();  // the previous tile is consumed (and Q, O are initialized)
      for (int i = threadIdx.x; i < kTile * d; i += blockDim.x) {
        const int j = i / d, c = i % d;
        ks[j * ksd + c] = key0 + j < p.nk ? cuda::load_f(kg, int64_t(key0 + j) * p.sk.row + c) : 0.f;
      }
      for (int i = threadIdx.x; i < kTile * dv; i += blockDim.x) {
        const int j = i / dv;
        vs[i] = key0 + j < p.nk ? cuda::load_f(vg, int64_t(key0 + j) * p.sv.row + i % dv) : 0.f;
      }
      __syncthreads();

      // The mask of key key0 + lane for the warp's rows, read before the dot products so the
      // loads overlap them (rows past Nq are not stored: left unmasked).
      [[maybe_unused]] bool keep[kRows];
      [[maybe_unused]] float madd[kRows];
      if constexpr (kMask != MaskKind::kNone) {
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
          const int row = q0 + warp * kRows + r;
          const bool in = row < p.nq && key0 + lane < p.nk;
          if constexpr (kMask == MaskKind::kBool) keep[r] = !in || mask_keeps(p.mask, mb, row, key0 + lane);
          else madd[r] = in ? mask_value<T>(p.mask, mb, row, key0 + lane) : 0.f;
        }
      }
      float s[kRows] = {};
      const float* kr = ks + lane * ksd;
      for (int c = 0; c < d; ++c) {
        const float kv = kr[c];
#pragma unroll
        for (int r = 0; r < kRows; ++r) s[r] += wq[r * d + c] * kv;
      }
      float alpha[kRows];
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        float x = key0 + lane < p.nk ? s[r] * p.scale : -INFINITY;
        if constexpr (kMask == MaskKind::kBool) x = keep[r] ? x : -INFINITY;
        else if constexpr (kMask == MaskKind::kAdditive) x += madd[r];
        const float mx = fmaxf(m[r], cuda::warp_max(x));
        const float base = mx == -INFINITY ? 0.f : mx;  // non-finite input: no -inf - -inf
        alpha[r] = expf(m[r] - base);
        const float e = expf(x - base);
        l[r] = l[r] * alpha[r] + cuda::warp_sum(e);
        m[r] = mx;
        wp[r * kTile + lane] = e;
      }
      __syncwarp();
      const int keys = p.nk - key0 < kTile ? p.nk - key0 : kTile;
      for (int c = lane; c < dv; c += 32) {
        float a[kRows];
#pragma unroll
        for (int r = 0; r < kRows; ++r) a[r] = wo[r * dv + c] * alpha[r];
        for (int j = 0; j < keys; ++j) {
          const float vv = vs[j * dv + c];
#pragma unroll
          for (int r = 0; r < kRows; ++r) a[r] += wp[r * kTile + j] * vv;
        }
#pragma unroll
        for (int r = 0; r < kRows; ++r) wo[r * dv + c] = a[r];
      }
      __syncwarp();  // wp is rewritten by the next tile
    }

    if constexpr (kMask != MaskKind::kNone) {
      if (p.splits > 1) {  // this split's rows, unnormalized, for launch_attention_combine
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
          const int row = q0 + warp * kRows + r;
          if (row >= p.nq) continue;
          const int64_t prow = (int64_t(blockIdx.z) * p.batch + b) * p.nq + row;
          for (int c = lane; c < dv; c += 32) p.partial[prow * dv + c] = wo[r * dv + c];
          if (lane == 0) {
            float* ml = p.partial + int64_t(p.splits) * p.batch * p.nq * dv + 2 * prow;
            ml[0] = m[r] * 1.4426950408889634f;  // log2 units, as the fp16 kernel's
            ml[1] = l[r];
          }
        }
        __syncthreads();  // Q and O are rewritten for the next batch item
        continue;
      }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int row = q0 + warp * kRows + r;
      if (row >= p.nq) continue;
      const float inv = kMask == MaskKind::kNone ? 1.f / l[r] : inverse_sum(l[r]);
      for (int c = lane; c < dv; c += 32) cuda::store_f(og, int64_t(row) * p.so.row + c, wo[r * dv + c] * inv);
    }
    __syncthreads();  // Q and O are rewritten for the next batch item
  }
}

template <class T, MaskKind kMask> void launch(const AttentionParams& p, cudaStream_t stream) {
  const size_t bytes = attention_generic_smem(p.d, p.dv);
  auto kernel = attention_generic<T, kMask>;
  if (bytes > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  const dim3 grid(unsigned((int64_t(p.nq) + kBM - 1) / kBM), unsigned(p.batch < 65535 ? p.batch : 65535),
                  unsigned(p.splits));
  kernel<<<grid, kWarps * 32, bytes, stream>>>(p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::attention::generic
