// Im2ColTokens on the GPU (ops/conv/im2col_tokens.h has the op): plain data for the launcher in
// im2col_tokens.cu, so nvcc never sees the op headers.
#pragma once
#include "runtime/cuda/device_tensor.h"

namespace kiln::conv {

// y[b, oy*out_w + ox, (i*k_w + j)*channels + c] = x at (ih, iw) = (oy*s_h - p_h + i*d_h,
// ox*s_w - p_w + j*d_w), channel c, 0 outside the in_h x in_w image. The host checks that X and Y
// hold fewer than 2^31 elements, so element indices fit in 32 bits.
struct Im2ColTokensParams {
  const void* x = nullptr;  // tokens [batch, in_h*in_w, channels] or NCHW [batch, channels, in_h, in_w]
  void* y = nullptr;        // [batch, out_h*out_w, k_h*k_w*channels]
  bool tokens = true;
  int element_size = 4;     // bytes: 2 (fp16) or 4 (fp32); the kernels only move elements
  int batch = 0, channels = 0;
  int in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int k_h = 1, k_w = 1, s_h = 1, s_w = 1, d_h = 1, d_w = 1;
  int p_h = 0, p_w = 0;  // pads at the start of each axis (the end pads only set out_h/out_w)
};

// Tokens: one thread per 16-byte vector of a tap's channels (C·element_size a multiple of 16, X
// and Y 16-byte aligned), else per element. NCHW: a block stages the k_h input rows of one output
// row's span of columns in shared memory (reads along W) and writes that span's Y rows, which are
// contiguous; a window too wide for shared memory falls back to one thread per Y element.
void launch_im2col_tokens(const Im2ColTokensParams& p, CudaStream stream);

}  // namespace kiln::conv
