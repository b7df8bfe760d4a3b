// MSDeformAttn on the GPU (ops/spatial/ms_deform_attn.h has the op): plain data for the
// launcher in ms_deform_attn.cu, so nvcc never sees the op headers.
#pragma once
#include <cstdint>

#include "ir/dtype.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::spatial {

// Levels one node may sample: the level table travels in the kernel's parameters.
inline constexpr int kMsDeformMaxLevels = 16;

// The host checks that value, sampling_locations and the output each hold fewer than 2^31
// elements (32-bit offsets) and that every level lies inside value's tokens.
struct MsDeformAttnParams {
  const void* value = nullptr;  // [batch, tokens, heads, head_dim]
  const void* loc = nullptr;    // [batch, queries, heads, levels, points, 2]
  const void* attn = nullptr;   // [batch, queries, heads, levels, points]
  void* out = nullptr;          // [batch, queries, heads * head_dim]
  int batch = 0, tokens = 0, heads = 0, head_dim = 0, queries = 0, levels = 0, points = 0;
  int level_h[kMsDeformMaxLevels] = {}, level_w[kMsDeformMaxLevels] = {}, level_start[kMsDeformMaxLevels] = {};
  // Channels one thread reads per access: 16 bytes (8 fp16 / 4 fp32) where head_dim is a
  // multiple of that and value and out are 16-byte aligned, else 1.
  int vec = 1;
  // Threads per (batch, query, head): a power of two up to 32 covering head_dim / vec.
  int group = 1;
};

// The threads per group for head_dim channels read vec at a time.
inline int ms_deform_group(int64_t head_dim, int64_t vec) {
  const int64_t chunks = (head_dim + vec - 1) / vec;
  int g = 1;
  while (g < chunks && g < 32) g *= 2;
  return g;
}

// value fp32 or fp16; sampling_locations and attention_weights fp32 or fp16 each; fp32 math.
void launch_ms_deform_attn(DType value_dt, DType loc_dt, DType attn_dt, const MsDeformAttnParams& p,
                           CudaStream stream);

}  // namespace kiln::spatial
