// One GEMM for an attention's K and V projections (SegFormer's efficient attention computes both
// from the sequence reduction's LayerNorm output; at batch 1 each is a launch of a few µs):
//
//        A [B, Nk, C]                                      A [B, Nk, C]
//        │          │                                         │
//  FusedMatMul    FusedMatMul                      FusedMatMul(W_k | W_v [C, 2N], b_k | b_v)
//  (W_k [C, N],   (W_v [C, N],                                │ [B, Nk, 2N]
//   b_k)           b_v)                     ⇒             Reshape [B, Nk, 2H, D]
//        │          │                                         │ KV
//  Reshape        Reshape                                     │
//  [B, Nk, H, D]  [B, Nk, H, D]                Attention(Q, KV, "", [mask], packed_kv = 1)
//        │ K        │ V
//  Attention(Q, K, V, [mask], seq_first x 1 1 x)
//
// Matched from the Attention: K (input 1) and V (input 2) each made by a Reshape read only by it
// from a FusedMatMul output [B, Nk, N] read only by that Reshape; both FusedMatMuls read the same
// A, have constant W of one shape and constant bias, no activation, residual or other attribute;
// both Reshapes give [B, Nk, H, D] with H·D = N read seq_first, or, with one head, [B, 1, Nk, N]
// read unflagged (the same bytes; eliminate_noops merges a one-head split and its Transpose into
// that Reshape: SegFormer's first stage). The merged W puts K's columns first, so heads [0, H) of
// the packed tensor are K's and [H, 2H) V's, which is what kiln.Attention's packed_kv reads; every
// output element is the same dot product as before. Int8MatMul nodes (quantized models) are left
// alone; `--int8` quantizes the merged GEMM like any FusedMatMul, its per-column weight scales
// K's and V's own.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_kv_projection(Graph& g);  // attentions whose K and V now come from one GEMM

}  // namespace kiln
