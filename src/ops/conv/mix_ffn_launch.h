// MixFFN on the GPU (ops/conv/mix_ffn.h has the op): plain data for the launcher in mix_ffn.cu,
// so nvcc never sees the op headers.
#pragma once
#include "runtime/cuda/device_tensor.h"

namespace kiln::conv {

// Every pointer is 16-byte aligned (the host checks); x, b2 and y are float32 when x_f32, else
// float16 (y float16 with the output LayerNorm); the rest float16. The host checks channels and
// hidden with mix_ffn_fits and that every extent fits in 32 bits.
struct MixFfnParams {
  const void* x = nullptr;  // [batch, height*width, channels]
  const void* scale = nullptr;
  const void* shift = nullptr;  // LayerNorm's Scale and B [channels]
  const void* w1 = nullptr;     // [channels, hidden]
  const void* b1 = nullptr;     // [hidden]
  const void* wd = nullptr;     // [hidden, 9]: the 3x3 depthwise taps, row-major
  const void* bd = nullptr;     // [hidden]
  const void* w2 = nullptr;     // [hidden, channels]
  const void* b2 = nullptr;     // [channels]
  void* y = nullptr;            // [batch, height*width, channels]
  bool x_f32 = true;
  int batch = 0, height = 0, width = 0, channels = 0, hidden = 0;
  float epsilon = 1e-5f;
  int activation = 0;  // linear::EpilogueActivation
};

// The output LayerNorm's Scale and B [channels] (both or neither: y is then float16), a kernel
// parameter of its own: grown by them, MixFfnParams (112 bytes) made nvcc address the plain
// kernel's parameters through a pointer — 56 bytes of spills at C = 128 instead of 8, and every
// MixFFN 12-14% slower (c202-c205).
struct MixFfnNorm {
  const void* scale = nullptr;
  const void* shift = nullptr;
  float epsilon = 1e-5f;
};

// Runs the warpgroup-MMA kernel (mix_ffn_wgmma.cu) where mix_ffn_uses_wgmma says so, else the
// mma.sync one (mix_ffn.cu).
void launch_mix_ffn(const MixFfnParams& p, const MixFfnNorm& norm, CudaStream stream);
void launch_mix_ffn_wgmma(const MixFfnParams& p, const MixFfnNorm& norm, CudaStream stream);
// C = 64 or 128 on a Hopper GPU, unless a test turned the wgmma kernel off.
bool mix_ffn_uses_wgmma(const MixFfnParams& p);
// For the GPU tests, which run every case on both kernels: false sends every launch (in this
// process, from now on) to the mma.sync kernel.
void set_mix_ffn_wgmma_allowed(bool allowed);
// The wgmma kernel's L2 prefetch of the next block's halo rows (on unless a test turns it off, to
// time both in one process).
void set_mix_ffn_prefetch(bool on);

}  // namespace kiln::conv
