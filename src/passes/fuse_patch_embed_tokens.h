// fuse_patch_embed_tokens: the window gather and GEMM that fuse_token_im2col_conv (then
// fuse_matmul_epilogue) makes of a conv on a few-channel picture, merged back into one node that
// reads the picture once and writes the tokens once (SegFormer's first patch embedding: the
// gather alone wrote 49 values per input value):
//
//   x [B, C, H, W] (C <= 4) ─▶ kiln.Im2ColTokens(window) ─▶ rows [B, P, kh·kw·C]
//     ─▶ kiln.FusedMatMul(W [kh·kw·C, Co] const, bias, no activation, no residual) ─▶ y [B, P, Co]
//     (or MatMul(rows, W const) ─▶ y: a conv without bias)
//   becomes
//   x ─▶ kiln.PatchEmbedTokens(window, W, [bias]) ─▶ y
//
// The rows are read only by the GEMM (and are not a graph output); x is an NCHW image (not the
// token form) with static channels; W's rows are the gather's (kh·kw·C of them); float32 or
// float16 throughout. Runs after fuse_matmul_epilogue and merge_linear_pointwise_conv, which make
// and may rewrite the FusedMatMul. More channels are left to the gather and a GEMM: the fused
// kernel keeps whole input patches in shared memory and gathers its GEMM operand from them.
#pragma once
#include "ir/graph.h"

namespace kiln {

inline constexpr int64_t kPatchEmbedMaxChannels = 4;

int fuse_patch_embed_tokens(Graph& g);  // gather + GEMM pairs merged

}  // namespace kiln
