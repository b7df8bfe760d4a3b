// What the attention kernels (attention.cu, attention_generic.cu) take: plain data only, so
// nvcc compiles them without kiln's host headers. Each of Q, K, V and O is a stack of row-major
// matrices with unit column stride: batch item b (the leading dims flattened) is head b % heads
// of outer item b / heads, and its row r starts at
//   base + (b / heads)·outer + (b % heads)·head + r·row   (elements).
// Contiguous [..., H, S, D]: row D, head S·D, outer H·S·D; [B, S, H, D] (seq_first): row H·D,
// head D, outer S·H·D.
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
};

// fp16 on tensor cores (mma.sync m16n8k16, fp32 softmax and accumulation); needs d, dv <= 128.
void launch_attention_f16(const AttentionParams& p, cudaStream_t stream);
// CUDA cores, fp32 math, fp32 storage (f16 false: fp32 engines) or fp16 storage (heads wider
// than 128); any d and dv whose tiles fit in shared memory (attention_generic_smem).
void launch_attention_generic(const AttentionParams& p, bool f16, cudaStream_t stream);
// Shared memory bytes one block of the generic kernel needs, to refuse what cannot fit.
size_t attention_generic_smem(int d, int dv);

}  // namespace kiln::attention
