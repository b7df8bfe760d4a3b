// Runs SegFormer's MixFFN depthwise conv on the token layout, dropping both transposes:
//
//   x [B, N, C] ─▶ Transpose(0,2,1) ─▶ Reshape [B, C, H, W] ─▶ Conv(depthwise: group = C,
//     W [C, 1, kh, kw] constant, bias constant or absent) ─▶ Reshape [B, C, H'*W']
//     ─▶ Transpose(0,2,1) ─▶ y [B, H'*W', C]
//                                  ⇒   x ─▶ DepthwiseConvNHWC(height H, width W, Conv's window) ─▶ y
//
// Every intermediate feeds only the next node and is not a graph output; shapes are static;
// N = H*W and the Reshapes keep B and C in place (so token n is pixel (n / W, n % W)); the
// dtype is float32 or float16 (the types both backends run). The fused node takes the Conv's
// name. Runs after eliminate_noops, which has merged Reshape chains into single Reshapes.
// (PyTorch's flatten(2) exports as a Reshape; an ONNX Flatten would make a matrix, which no
// Transpose(0,2,1) follows.)
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_token_dwconv(Graph& g);  // chains replaced

}  // namespace kiln
