// What the attention kernels (attention.cu, attention_generic.cu) take: plain data only, so
// nvcc compiles them without kiln's host headers. Q, K, V and O are row-major and contiguous:
// batch b's Q rows start at q + b·nq·d, and so on.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::attention {

struct AttentionParams {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;
  int64_t batch = 0;  // product of the leading dims
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
