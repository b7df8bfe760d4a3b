// Launcher of kiln.SequenceReduction's Hopper kernel (sequence_reduction_wgmma.cu), shared with
// its host side (sequence_reduction_cuda.cpp) and the GPU tests.
#pragma once
#include <cstdint>

#include "runtime/cuda/device_tensor.h"

namespace kiln::norm {

struct SequenceReductionParams {
  const void* x = nullptr;                              // [B, H·W, C] float32
  const void *s1 = nullptr, *b1 = nullptr;              // [C] float16
  const void *w = nullptr, *bias = nullptr;             // [p·p·C, C], [C] float16
  const void *s2 = nullptr, *b2 = nullptr;              // [C] float16
  const void *wkv = nullptr, *bkv = nullptr;            // [C, 2C], [2C] float16
  void* kv = nullptr;                                   // [B, (H/p)·(W/p), 2C] float16
  int64_t batch = 0, height = 0, width = 0, channels = 0, patch = 0;
  float eps1 = 1e-5f, eps2 = 1e-5f;
};

// Whether the kernel runs p: C = 64 or 128, 16-byte aligned pointers, the TMA maps' ranges, a
// Hopper GPU.
bool sequence_reduction_runs(const SequenceReductionParams& p);
void launch_sequence_reduction(const SequenceReductionParams& p, CudaStream stream);
// For the op bench, which times each split: launches from now on (in this process) split the taps
// over this many blocks (clamped to 1..min(8, taps)); 0 restores the kernel's own choice.
void set_sequence_reduction_splits(int splits);

}  // namespace kiln::norm
