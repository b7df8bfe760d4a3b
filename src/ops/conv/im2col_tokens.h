// Im2ColTokens (domain "kiln"): a convolution's windows written as token rows, the first half of
// a Conv run as a GEMM on the token layout (passes/fuse_token_im2col_conv; a MatMul with the
// weights as [kh·kw·C, Co] does the rest):
//
//   X  [B, H·W, C]  tokens, row-major (h, w), channels last (attributes height, width required)
//      or [B, C, H, W]  an NCHW image (SegFormer's first patch embedding reads the picture)
//   Y  [B, OH·OW, kh·kw·C]
//      Y[b, oy·OW + ox, (i·kw + j)·C + c] = X at pixel (oy·s_h − pad_top + i·d_h,
//                                             ox·s_w − pad_left + j·d_w), channel c; 0 outside
// Attributes: kernel_shape (required: there are no weights to read it from), strides, dilations,
// pads, auto_pad with Conv's meaning (window.h resolves them). Any float dtype on the CPU (the op
// only moves elements); float32 and float16 on the GPU.
#pragma once
#include <vector>

#include "ops/conv/window.h"

namespace kiln::conv {

inline constexpr const char* kIm2ColTokensOp = "Im2ColTokens";

// Checks X's shape (as far as known) and the attributes; returns Y's shape. `axes` receives the
// H then W geometry when the image size is known; `tokens` whether X is the token form.
Shape im2col_tokens_shape(const OpContextBase& ctx, const Shape& x, std::vector<Axis>* axes, bool* tokens);

}  // namespace kiln::conv
