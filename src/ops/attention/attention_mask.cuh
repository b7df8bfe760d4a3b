// What the attention kernels (attention_f16.cuh, attention_generic.cuh) read from a mask: the
// addend of one scaled score. Device code only; the strides are in attention_launch.h.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "ops/attention/attention_launch.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::attention {

// The first mask element of batch item b (rows and keys are offsets from it).
template <MaskKind K, class T>
__device__ __forceinline__ const void* mask_base(const MaskParams& m, int64_t b, int64_t heads) {
  if constexpr (K == MaskKind::kNone) return nullptr;
  else if constexpr (K == MaskKind::kBool) return static_cast<const unsigned char*>(m.data) + m.at(b, heads, 0, 0);
  else return static_cast<const T*>(m.data) + m.at(b, heads, 0, 0);
}

// Whether a bool mask lets query row r see key c.
__device__ __forceinline__ bool mask_keeps(const MaskParams& m, const void* base, int r, int c) {
  return static_cast<const unsigned char*>(base)[int64_t(r) * m.row + int64_t(c) * m.col] != 0;
}

// An additive mask's value for query row r and key c, as fp32.
template <class T>
__device__ __forceinline__ float mask_value(const MaskParams& m, const void* base, int r, int c) {
  return cuda::load_f(static_cast<const T*>(base), int64_t(r) * m.row + int64_t(c) * m.col);
}

// 1 / l for a row's softmax sum, NaN where every key was masked (l = 0): Softmax over only
// -inf is NaN, as the CPU reference gives.
__device__ __forceinline__ float inverse_sum(float l) { return l > 0.f ? 1.f / l : __int_as_float(0x7fc00000); }

}  // namespace kiln::attention
