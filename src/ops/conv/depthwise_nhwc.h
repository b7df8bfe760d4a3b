// DepthwiseConvNHWC (domain "kiln"): a depthwise 2-D convolution on token tensors, put in the
// graph by passes/fuse_token_dwconv in place of SegFormer's MixFFN
//   Transpose(0,2,1) → Reshape [B,C,H,W] → Conv(group = C) → Reshape [B,C,H'W'] → Transpose(0,2,1).
//
//   X [B, N = height*width, C]   tokens in row-major (h, w) order, channels last
//   W [C, 1, kh, kw]              Conv's depthwise weights, unchanged
//   B [C]                         optional bias
//   Y [B, N' = out_h*out_w, C]    y[b, oh*out_w + ow, c] = B[c] +
//                                   sum_{i,j} W[c,0,i,j] * x[b, (oh*s_h - p_t + i*d_h)*width + ow*s_w - p_l + j*d_w, c]
//                                 (taps outside the height x width image read zero)
//   Y = act(Y) with the optional attribute activation = "none" (default) | "relu" | "gelu" |
//       "gelu_tanh" (FusedMatMul's; put in by passes/fuse_dwconv_activation)
// Attributes: height, width (the image X's tokens form; required), and Conv's kernel_shape,
// strides, dilations, pads, auto_pad with Conv's meaning (window.h resolves them).
#pragma once
#include <vector>

#include "ops/conv/window.h"

namespace kiln::conv {

inline constexpr const char* kDepthwiseNhwcOp = "DepthwiseConvNHWC";

// Checks X/W/B shapes (as far as known) and the attributes; returns Y's shape. `axes` receives
// H then W geometry when the kernel extent is known.
Shape depthwise_nhwc_shape(const OpContextBase& ctx, const Shape& x, const Shape& w, const Shape* b,
                           std::vector<Axis>* axes);

}  // namespace kiln::conv
