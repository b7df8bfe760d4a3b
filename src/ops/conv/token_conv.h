// TokenConv (domain "kiln"): a dense 2-D Conv read from and written to the token layout, its
// window rows never stored — what kiln.Im2ColTokens (token form) and the GEMM after it compute,
// as one node (passes/fuse_token_conv: SegFormer's patch embeddings of stages 1–3, 3×3 stride 2
// pad 1, whose rows hold every token kh·kw = 9 times over):
//
//   X  [B, H·W, C]        tokens, row-major (h, w), channels last (attributes height, width)
//   W  [kh·kw·C, Co]      W[(i·kw + j)·C + c, o] = the Conv's weight[o, c, i, j] (Im2ColTokens'
//                         row order)
//   B  [Co]               optional bias
//   Y  [B, OH·OW, Co]     Y = Im2ColTokens(X) · W + B:
//                         Y[b, oy·OW + ox, o] = B[o] + Σ_{i,j,c} W[(i·kw + j)·C + c, o] ·
//                           X[b, (oy·s_h − pad_top + i·d_h)·W + ox·s_w − pad_left + j·d_w, c]
//                         (0 outside the image)
//
//   Scale, LB [Co]        optional LayerNorm epilogue (inputs 3 and 4, Y's type; attribute
//                         epsilon): each token's Co values of Y, as Y's type stores them,
//                         normalized over Co (statistics in double) — what fuse_patch_embed_layer_norm
//                         takes in from the LayerNorm after a patch embedding, as for
//                         kiln.PatchEmbedTokens
//
// Types as kiln.FusedMatMul takes (rows, W, B): X and W of one float type; B X's type or, with
// float16 X, float32 (an fp16 engine's float32 island); Y is B's type (X's without B). The CPU
// reference runs Im2ColTokens' reference then FusedMatMul's (MatMul's without B), so the node
// computes the unfused pair's bits. Attributes: Im2ColTokens' — height and width (required),
// kernel_shape (required), strides, dilations, pads, auto_pad with Conv's meaning. The NCHW image
// form of Im2ColTokens is not taken (that is kiln.PatchEmbedTokens').
// The CUDA kernel (token_conv_wgmma.cu, Hopper) takes float16 X and W with C and Co multiples of
// 64 and strides up to 8 (token_conv_fits), which fuse_token_conv checks.
#pragma once
#include <vector>

#include "ops/conv/window.h"

namespace kiln::conv {

inline constexpr const char* kTokenConvOp = "TokenConv";

// Whether the CUDA kernel takes X of this type, C input and Co output channels and these strides.
bool token_conv_fits(DType x, int64_t channels, int64_t out_channels, int64_t stride_h, int64_t stride_w);
// Whether the CUDA kernel takes the LayerNorm epilogue at Co output channels: 64 or 128, one
// block's tiles.
inline bool token_conv_norm_fits(int64_t out_channels) { return out_channels == 64 || out_channels == 128; }

// Checks the dtypes, the shapes (as far as known: ws and bs may be null, X's rank must be known)
// and the attributes; returns Y's type. `axes` receives the H then W geometry.
ValueType token_conv_type(const OpContextBase& ctx, DType x, DType w, const DType* b, const Shape* xs,
                          const Shape* ws, const Shape* bs, std::vector<Axis>* axes);

}  // namespace kiln::conv
