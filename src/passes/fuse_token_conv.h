// fuse_token_conv: the window gather and GEMM that fuse_token_im2col_conv (then
// fuse_matmul_epilogue) makes of a conv on tokens, merged back into one kiln.TokenConv
// (ops/conv/token_conv.h) whose kernel may compute the GEMM without the rows reaching memory
// (SegFormer's patch embeddings of stages 1–3, 3×3 stride 2 pad 1 on the previous stage's tokens):
//
//   x [B, H·W, C] ─▶ kiln.Im2ColTokens(height, width, window) ─▶ rows [B, OH·OW, kh·kw·C]
//     ─▶ kiln.FusedMatMul(W [kh·kw·C, Co] const, bias [Co] const, no activation, no residual)
//     ─▶ y [B, OH·OW, Co]
//     (or MatMul(rows, W const) ─▶ y: a conv without bias, which FusedMatMul cannot spell)
//   becomes
//   x ─▶ kiln.TokenConv(W, [bias]; the gather's attributes) ─▶ y      (named after the GEMM)
//
// Checked: the gather in the token form (x static [B, H·W, C], not the NCHW image that
// fuse_patch_embed_tokens takes); the rows read only by the GEMM, as its A, and no graph
// output; W constant with kh·kw·C rows; the bias constant [Co]; float16 rows and W of x's type,
// the bias the rows' type or float32 (an fp16 engine's float32 island) and y the bias's type (the
// rows' without one); what the CUDA kernel takes (token_conv_fits: C and Co multiples of 64,
// strides up to 8). fp16 engines run it after convert_to_fp16 (after_fp16_pass_names), on Hopper
// only (hopper_only_pass_names): float32 graphs and SegFormer-B0's widths (32, 160) keep the
// gather and GEMM.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_token_conv(Graph& g);  // gather + GEMM pairs merged

}  // namespace kiln
