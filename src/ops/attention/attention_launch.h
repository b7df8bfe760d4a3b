// What the attention kernels (attention.cu, attention_generic.cu) take: plain data only, so
// nvcc compiles them without kiln's host headers. Each of Q, K, V and O is a stack of row-major
// matrices with unit column stride: batch item b (the leading dims flattened) is head b % heads
// of outer item b / heads, and its row r starts at
//   base + (b / heads)·outer + (b % heads)·head + r·row   (elements).
// Contiguous [..., H, S, D]: row D, head S·D, outer H·S·D; [B, S, H, D] (seq_first): row H·D,
// head D, outer S·H·D.
//
// The optional mask is read the same way with a column stride as well: element (b, query r,
// key c) at base + (b / heads)·outer + (b % heads)·head + r·row + c·col, any stride 0 where the
// mask broadcasts along that axis. Bool masks are 1 byte (nonzero = the key takes part);
// additive masks have the storage type of Q (fp32, or fp16) and are added to the scaled scores.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::attention {

struct RowStrides {
  int64_t outer = 0, head = 0, row = 0;
  __host__ __device__ int64_t at(int64_t b, int64_t heads, int64_t r) const {
    return (b / heads) * outer + (b % heads) * head + r * row;
  }
};

enum class MaskKind : int { kNone = 0, kBool = 1, kAdditive = 2 };

struct MaskParams {
  const void* data = nullptr;
  MaskKind kind = MaskKind::kNone;
  int64_t outer = 0, head = 0, row = 0, col = 0;
  __host__ __device__ int64_t at(int64_t b, int64_t heads, int64_t r, int64_t c) const {
    return (b / heads) * outer + (b % heads) * head + r * row + c * col;
  }
};

struct AttentionParams {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;
  int64_t batch = 0;  // product of the leading dims
  int64_t heads = 1;  // batch items per outer item (the H of [B, H, S, D])
  RowStrides sq, sk, sv, so;
  int nq = 0, nk = 0, d = 0, dv = 0;
  float scale = 1.f;
  MaskParams mask;  // kind kNone: no mask, the kernels' unmasked instantiations
  // Split keys (masked launches only; attention_split.h): grid z = splits, split z covering keys
  // [z·split_keys, (z + 1)·split_keys) ∩ [0, Nk) with split_keys a multiple of kSplitKeyUnit.
  // Each writes its rows unnormalized to `partial` — the fp32 sums [splits][batch][nq][dv], then
  // (m in log2 units, l) pairs [splits][batch][nq] — and launch_attention_combine stores O.
  int splits = 1;
  int split_keys = 0;
  float* partial = nullptr;
};

// Query rows per block of the two kernels, and the key granularity of a split (a whole number
// of both kernels' key tiles).
inline constexpr int kF16BlockRows = 64, kGenericBlockRows = 16, kSplitKeyUnit = 64;  // attention_split.cpp too
inline constexpr int kWgmmaBlockRows = 128;  // attention_wgmma.cu

// fp16 on tensor cores (mma.sync m16n8k16, fp32 softmax and accumulation); needs d, dv <= 128.
void launch_attention_f16(const AttentionParams& p, cudaStream_t stream);
// Whether launch_attention_f16 runs p on the 32-rows-per-warp kernel (attention_f16_wide.cuh):
// unmasked, unsplit, d and dv <= 64, a positive scale, and at least one 128-row block per
// multiprocessor.
bool attention_f16_uses_wide(const AttentionParams& p);
// Whether the warpgroup-MMA kernel (attention_wgmma.cu) can run p: a compute capability 9.0 GPU,
// unmasked, max(d, dv) in (32, 64], a positive scale, 16-byte aligned operands
// (flash::vector_loads).
bool attention_f16_wgmma_fits(const AttentionParams& p);
// Whether launch_attention_f16 runs p on it: it fits, and p has at least one 128-row block per
// multiprocessor or its keys are split (the host splits the smaller grids). It takes precedence
// over the wide kernel.
bool attention_f16_uses_wgmma(const AttentionParams& p);
void launch_attention_f16_wgmma(const AttentionParams& p, cudaStream_t stream);
// The wgmma kernels' lazy rescale (attention_wgmma_loop.cuh): how far, in log2 units, a row's
// maximum may pass the one its exponentials use before acc and l are rescaled; 8 unless a test
// sets it (0: a rescale at every increase, as before the lazy rescale).
void set_attention_rescale_slack(float slack);
float attention_rescale_slack();
// Its masked instantiations (attention_masked_f16.cu); launch_attention_f16 forwards to it.
void launch_attention_f16_masked(const AttentionParams& p, cudaStream_t stream);
// CUDA cores, fp32 math, fp32 storage (f16 false: fp32 engines) or fp16 storage (heads wider
// than 128); any d and dv whose tiles fit in shared memory (attention_generic_smem).
void launch_attention_generic(const AttentionParams& p, bool f16, cudaStream_t stream);
// Its masked instantiations (attention_masked_generic.cu); launch_attention_generic forwards to it.
void launch_attention_generic_masked(const AttentionParams& p, bool f16, cudaStream_t stream);
// Merges the splits' partial rows into O (storage fp16 or fp32): attention_combine.cu.
void launch_attention_combine(const AttentionParams& p, bool f16, cudaStream_t stream);
// Shared memory bytes one block of the generic kernel needs, to refuse what cannot fit.
size_t attention_generic_smem(int d, int dv);

}  // namespace kiln::attention
