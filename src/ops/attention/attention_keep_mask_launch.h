// What the AttentionKeepMask kernel (attention_keep_mask.cu) takes: plain data only, so nvcc
// compiles it without kiln's host headers.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::attention {

struct KeepMaskArgs {
  const void* x = nullptr;  // [B, Q, K] logits, fp32 or fp16 (f16)
  bool f16 = false;
  bool* y = nullptr;        // [B·repeats, Q, K]
  int64_t batch = 0, queries = 0;
  int keys = 0;
  int repeats = 1;
  float threshold = 0.5f;
};

void launch_attention_keep_mask(const KeepMaskArgs& a, cudaStream_t stream);

}  // namespace kiln::attention
