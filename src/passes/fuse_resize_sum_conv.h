// A ResizeSum whose only reader is a 1x1 conv (SegFormer's classifier) writes tokens, and the conv
// becomes a GEMM over them that writes the conv's NCHW output directly:
//
//   ... ─▶ kiln.ResizeSum ─▶ Y [B, C, H, W] ─▶ Conv 1x1 (Wc [Cout, C, 1, 1], bc) ─▶ z [B, Cout, H, W]
//                                  ⇒
//   ... ─▶ kiln.ResizeSum(output_layout tokens) ─▶ [B, H*W, C]
//       ─▶ kiln.FusedMatMul(Wcᵀ [C, Cout], bc or 0, transpose_output 1) ─▶ [B, Cout, H*W]
//       ─▶ Reshape [B, Cout, H, W] ─▶ z
//
// Why: channels-last, each output pixel's C channels are contiguous in every input and in Y, so
// the ResizeSum streams without the NCHW kernel's shared-memory transposes; cuBLASLt reads the
// tokens as the GEMM's A and writes the transposed product as a row-major D, so the NCHW logits
// cost no extra pass. Same multiply-adds and bytes as the Conv.
//
// Checked: the ResizeSum writes NCHW and its output feeds only the Conv's X (not a graph output,
// not its W); the Conv is pointwise (pattern.h: 1x1, stride 1, no pad, group 1, constant W and
// bias); Y has static dims; Y, W and bias share Y's dtype (float32 or float16). The FusedMatMul
// takes the Conv's name, the Reshape writes the Conv's output.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_resize_sum_conv(Graph& g);  // convs replaced

}  // namespace kiln
