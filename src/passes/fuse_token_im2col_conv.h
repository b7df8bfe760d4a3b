// fuse_token_im2col_conv: a dense 2-D Conv whose output goes straight to the token layout —
// SegFormer's overlapping patch embeddings (7×7 stride 4 on the picture, 3×3 stride 2 on the
// previous stage's tokens) — run as a window gather and one GEMM on the token layout, with no
// Transpose on either side:
//
//   [x [B, H·W, C] ─▶ Transpose(0,2,1) ─▶ Reshape [B, C, H, W]      ─┐
//    x [B, H·W, C] ─▶ Reshape [B, H, W, C] ─▶ Transpose(0,3,1,2)    ─┤ or the image itself]
//                                                                   ▼
//     Conv(W [Co, C, kh, kw] const, bias const, any strides/pads/dilations, group 1)
//       ─▶ Reshape [B, Co, OH·OW] ─▶ Transpose(0,2,1) ─▶ y [B, OH·OW, Co]
//   becomes
//   x (or the image) ─▶ kiln.Im2ColTokens ─▶ [B, OH·OW, kh·kw·C] ─▶ MatMul(Wt [kh·kw·C, Co])
//     ─▶ [Add(bias)] ─▶ y
//
// with Wt[(i·kw + j)·C + c, o] = W[o, c, i, j] made at build time: each output sums the Conv's
// products, in the GEMM's order. fuse_matmul_epilogue then takes the MatMul and the bias into one
// kiln.FusedMatMul. When the image comes from tokens through either round trip, the gather reads
// the tokens; the round trip stays only for its other readers (HF SegFormer's decode head reads
// each stage's image too; fuse_data_movement then folds that branch back to the tokens). The
// Conv's output and the Reshape's are read only by the chain; static shapes; float32/float16.
// A 1×1 stride-1 unpadded Conv is left alone (a MatMul on the tokens needs no gather). Runs
// after fuse_token_patch_conv, which takes the kernel = stride, unpadded convs on tokens that
// tile the picture (a gather without copies of overlapping windows), and before
// fuse_matmul_epilogue.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_token_im2col_conv(Graph& g);  // convs replaced

}  // namespace kiln
