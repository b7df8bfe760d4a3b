// Multi-scale deformable attention as transformers' pure-PyTorch path exports it (Mask2Former's
// pixel decoder, Deformable DETR), one GridSample per level, into one kiln.MSDeformAttn:
//
//   value V [B,S,H,D] ─┬▶ Slice(axis 1, [s_0, s_0+h_0·w_0)) ─▶ Reshape [B,S_0,H·D] ─▶ Transpose(0,2,1) ─▶ Reshape [B·H,D,h_0,w_0] ─▶ GridSample ─▶ Unsqueeze(-2) ─┐
//                      └▶ ... one chain per level l ...                                                                   ▲  (bilinear, zeros, align_corners 0)   │
//   loc [B,Q,H,L,P,2] ─▶ Mul(2) ─▶ Sub(1) ─▶ Gather(axis 3, index l) ─▶ Transpose(0,2,1,3,4) ─▶ Reshape [B·H,Q,P,2] ─┘                                    │
//                                                                                                                                                       │
//   ┌──────────────────────── Concat(axis -2) [B·H,D,Q,L,P] ◀──────────────────────────────────────────────────────────────────────────────────────────────┘
//   └▶ Reshape [B·H,D,Q,L·P] ─▶ Mul ─▶ ReduceSum(axes -1, keepdims 0) ─▶ Reshape [B,H·D,Q] ─▶ Transpose(0,2,1) ─▶ out [B,Q,H·D]
//                                ▲
//   weights W [B,Q,H,L,P] ─▶ Transpose(0,2,1,3,4) ─▶ Reshape [B·H,1,Q,L·P]
//
//      ⇒   V, spatial_shapes [L,2], level_start_index [L] (new constants), loc, W ─▶ kiln.MSDeformAttn ─▶ out
//
// Matched, from the ReduceSum: axes the last one only, keepdims 0; a Mul of the stacked samples
// [B·H,D,Q,L·P] and the weights [B·H,1,Q,L·P] (either operand order); the samples a Concat on
// the level axis of the GridSamples, either stacked (each through a reshape to [B·H,D,Q,1,P],
// Concat axis 3 of rank 5, then a reshape to [B·H,D,Q,L·P]) or concatenated directly (Concat axis
// 3 of rank 4); as many GridSamples as levels L in W and loc. Each GridSample:
//   - mode bilinear (linear from opset 20), padding_mode zeros, align_corners 0;
//   - image [B·H,D,h,w] = Reshape(Transpose(0,2,1)(Reshape [B,h·w,H·D](Slice of V on axis 1,
//     step 1, constant bounds, or an output of a Split of V on axis 1 with constant sizes)));
//   - grid [B·H,Q,P,2] = Reshape(Transpose(0,2,1,3,4)(Gather(axis 3, scalar constant index l)))
//     of one tensor for every level, where l is the GridSample's position in the Concat and the
//     tensor is 2·loc − 1: Mul(loc, 2) in either order, then Sub 1 or Add −1 (scalar constants);
// and the tail Reshape [B,H·D,Q] → Transpose(0,2,1). Reshape here means Reshape, Flatten,
// Squeeze or Unsqueeze (row-major order is kept; the dims are checked). Every shape static, V and
// W float32 or float16, loc float; every intermediate read only by the next node of the chain
// and not a graph output (V, loc, W and 2·loc − 1 may have other readers). The fused node takes
// the name of the tail Transpose and writes its output.
//
// Runs first among the rewrites, on the graph as exported: eliminate_noops would turn the
// Transposes of degenerate layouts (a one-pixel level, one query, one head) into Reshapes and
// drop a Slice of all tokens (one level), which this pattern does not follow.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_ms_deform_attn(Graph& g);  // attention layers replaced

}  // namespace kiln
