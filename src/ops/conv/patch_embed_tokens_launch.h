// PatchEmbedTokens on the GPU (ops/conv/patch_embed_tokens.h has the op): plain data for the
// launchers in patch_embed_tokens_mma.cu and patch_embed_tokens_direct.cu, so nvcc never sees
// the op headers.
#pragma once
#include "runtime/cuda/device_tensor.h"

namespace kiln::conv {

// y[b, oy*out_w + ox, o] = bias[o] + Σ w[(i*k_w + j)*channels + c, o] * x[b, c, ih, iw] with
// (ih, iw) = (oy*s_h - p_h + i*d_h, ox*s_w - p_w + j*d_w), 0 outside the in_h x in_w image. Element
// sizes in bytes: x 4 or 2 (fp32 x with fp16 w is rounded to fp16 first), w 4 or 2 (the compute
// type: fp16 operands with fp32 sums, or fp32), bias 0 (none), w's or 4, y bias's (w's without).
// The host checks every extent fits in 32 bits.
struct PatchEmbedParams {
  const void* x = nullptr;     // [batch, channels, in_h, in_w]
  const void* w = nullptr;     // [k_h*k_w*channels, out_channels]
  const void* bias = nullptr;  // [out_channels] or nullptr
  void* y = nullptr;           // [batch, out_h*out_w, out_channels]
  int x_size = 4, w_size = 4, bias_size = 0, y_size = 4;
  int batch = 0, channels = 0, out_channels = 0;
  int in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int k_h = 1, k_w = 1, s_h = 1, s_w = 1, d_h = 1, d_w = 1;
  int p_h = 0, p_w = 0;  // pads at the start of each axis (the end pads only set out_h/out_w)
  // The LayerNorm epilogue (patch_embed_tokens.h): Scale and LB [out_channels] of Y's type, or
  // nullptr (LB may be nullptr alone).
  const void* scale = nullptr;
  const void* ln_bias = nullptr;
  float eps = 1e-5f;
};

// The tensor-core kernel (fp16 w, out_channels <= 128, the staged patch and weights within
// shared memory; the LayerNorm epilogue in its registers): whether it takes p, and the launch.
bool patch_embed_mma_fits(const PatchEmbedParams& p);
void launch_patch_embed_mma(const PatchEmbedParams& p, CudaStream stream);

// The direct kernel: any shape and type combination above, fp32 sums on CUDA cores; no
// LayerNorm (the host runs LayerNormalization's kernel after it).
void launch_patch_embed_direct(const PatchEmbedParams& p, CudaStream stream);

}  // namespace kiln::conv
