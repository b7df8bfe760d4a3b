// fuse_token_patch_conv: SegFormer's sequence-reduction conv (kernel = stride, no padding) run
// on the token layout as a patch gather and one GEMM, dropping both transposes:
//
//   x [B, N, C] ─▶ Transpose(0,2,1) ─▶ Reshape [B, C, H, W] ─▶ Conv(W [Co, C, k, l], bias,
//     strides (k, l), no pads, dilation 1, group 1) ─▶ Reshape [B, Co, P] ─▶ Transpose(0,2,1) ─▶ y
//   becomes
//   x ─▶ Reshape [B, H/k, k, W/l, l, C] ─▶ Transpose(0,1,3,2,4,5) ─▶ Reshape [B, P, k·l·C]
//     ─▶ MatMul(Wt [k·l·C, Co]) ─▶ [Add(bias)] ─▶ y [B, P, Co]       (P = H/k · W/l)
//
// with Wt[(i·l + j)·C + c, o] = W[o, c, i, j] made at build time. The windows do not overlap,
// so the Transpose reads x once and moves rows of l·C contiguous elements; fuse_matmul_epilogue
// then takes the MatMul and the bias into one kiln.FusedMatMul. H and W must be multiples of
// the kernel (else the Conv drops a remainder the Reshape cannot). The chain's other conditions
// are passes/token_conv_chain.h's. Runs before fuse_matmul_epilogue.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_token_patch_conv(Graph& g);  // chains replaced

}  // namespace kiln
