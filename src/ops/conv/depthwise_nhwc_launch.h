// DepthwiseConvNHWC on the GPU (ops/conv/depthwise_nhwc.h has the op): plain data for the
// launcher in depthwise_nhwc.cu, so nvcc never sees the op headers.
#pragma once
#include "ir/dtype.h"
#include "ops/linear/epilogue.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::conv {

// y[b, oh*out_w + ow, c] = bias[c] + sum_{i,j} w[c, i, j] * x[b, ih*in_w + iw, c] with
// ih = oh*s_h - p_h + i*d_h, iw = ow*s_w - p_w + j*d_w; taps outside the image read zero. The host
// checks that X and Y hold fewer than 2^30 elements, so every index fits in 32 bits.
struct DepthwiseNhwcParams {
  const void* x = nullptr;  // [batch, in_h*in_w, channels]
  const void* w = nullptr;  // [channels, k_h, k_w]
  const void* b = nullptr;  // [channels], or nullptr
  void* y = nullptr;        // [batch, out_h*out_w, channels]
  int batch = 0, channels = 0;
  int in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int k_h = 1, k_w = 1, s_h = 1, s_w = 1, d_h = 1, d_w = 1;
  int p_h = 0, p_w = 0;  // pads at the start of each axis (the end pads only set out_h/out_w)
  linear::EpilogueActivation act = linear::EpilogueActivation::kNone;  // on the fp32 sum
};

// fp32 or fp16 storage, fp32 math. 3x3 kernels at stride 1 and dilation 1 (any pads) run the
// tiled kernel of depthwise_nhwc_tile.cu; every other geometry runs one thread per output pixel
// and channel vector. Both use 16-byte accesses along the channels when they are a multiple of 8
// halves / 4 floats and X, Y are 16-byte aligned, else one element per access.
void launch_depthwise_nhwc(DType dt, const DepthwiseNhwcParams& p, CudaStream stream);

// The 3x3 / stride 1 / dilation 1 case alone (launch_depthwise_nhwc routes it here).
void launch_depthwise_nhwc_3x3(DType dt, const DepthwiseNhwcParams& p, CudaStream stream);

}  // namespace kiln::conv
