// Depthwise convolution (group == C_in == C_out) over NCHW, 2-D (1-D as H = 1): plain data for
// the launcher in depthwise_conv.cu, so nvcc never sees the op headers.
#pragma once
#include "ir/dtype.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::conv {

// y[n,c,oh,ow] = b[c] + sum_{i,j} x[n,c, oh*s_h - p_h + i*d_h, ow*s_w - p_w + j*d_w] * w[c,i,j],
// taps outside the input reading zero. Extents are checked on the host so that every index
// within one (n, c) plane, including padded and dilated ones, fits in 31 bits.
struct DepthwiseParams {
  const void* x = nullptr;  // [planes, in_h, in_w]
  const void* w = nullptr;  // [channels, k_h, k_w]
  const void* b = nullptr;  // [channels], or nullptr
  void* y = nullptr;        // [planes, out_h, out_w]
  int planes = 0;           // N * C; plane p is channel p % channels
  int channels = 0;
  int in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int k_h = 1, k_w = 1, s_h = 1, s_w = 1, d_h = 1, d_w = 1;
  int p_h = 0, p_w = 0;  // pads at the start of each axis (the end pads only set out_h/out_w)
};

// fp32 or fp16 storage, fp32 math. Square 3/5/7 kernels at stride 1 and dilation 1 go through
// a shared-memory tile per block; every other geometry through a direct kernel.
void launch_depthwise_conv(DType dt, const DepthwiseParams& p, CudaStream stream);

}  // namespace kiln::conv
