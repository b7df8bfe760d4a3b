// Folds a 1x1 conv into the linear layer whose tokens it reads (SegFormer's decode head: each
// stage's linear projection to D channels, then its slice of the D x 4D fuse conv, which
// commute_resize_conv moved in front of the upsampling):
//
//   A [B, N, K] ─▶ FusedMatMul(W [K, C], b, no activation, no residual) ─▶ [B, N, C]
//     ─▶ Transpose(0,2,1) ─▶ Reshape [B, C, H, W] ─▶ Conv 1x1 (Wc [Cout, C, 1, 1], bc) ─▶ y
//                                  ⇒
//   A ─▶ FusedMatMul(W·Wcᵀ [K, Cout], Wc·b + bc) ─▶ Transpose(0,2,1) ─▶ Reshape [B, Cout, H, W] ─▶ y
//
// Two GEMMs become one, and it fires only where that one does fewer multiply-adds (K·Cout <
// K·C + C·Cout): B2's decode head drops from about 115 to 12 GFLOP per 1024² image (counted
// from the layer sizes; the GPU time is not measured yet). Every
// intermediate feeds only the next node; shapes are static; float32 only (the merged weights
// are computed in double). The merged FusedMatMul takes the Conv's name.
#pragma once
#include "ir/graph.h"

namespace kiln {

int merge_linear_pointwise_conv(Graph& g);  // convs folded away

}  // namespace kiln
