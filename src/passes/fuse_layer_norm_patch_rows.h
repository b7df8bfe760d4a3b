// fuse_layer_norm_patch_rows: the row gather in front of SegFormer's sequence-reduction GEMM
// (what fuse_token_patch_conv writes) taken into the LayerNorm before it, which then stores each
// normalized row twice — at its token place (Y, when anything else reads it: the query
// projection) and at its window place (P) — so the Transpose, a copy of Y, disappears:
//
//   x [B, H·W, C] ─▶ LayerNormalization(Scale [C], B [C], axis -1) ─▶ y ─┬─▶ (other readers of y)
//                                                                        └─▶ Reshape [B, H/p, p, W/p, p, C]
//     ─▶ Transpose(0,1,3,2,4,5) ─▶ Reshape [B, (H/p)·(W/p), p·p·C] ─▶ rows
//   becomes
//   x ─▶ kiln.LayerNormPatchRows(Scale, B; height H, width W, patch p, epsilon) ─▶ y ("" if unread), rows
//
// Checked on static shapes and the perm, not names: x rank 3 with every dim known; the
// LayerNorm over the last axis only (axis -1 or 2), stash_type 1, no Mean/InvStdDev outputs,
// Scale and B exactly [C]; the first Reshape's output [B, H/p, p, W/p, p, C] with both window
// sides equal and (H/p·p)·(W/p·p) = H·W, read only by the Transpose, whose output only the second
// Reshape reads, giving [B, (H/p)·(W/p), p·p·C]; neither intermediate a graph output; fewer than
// 2^31 token rows (the kernel's row map is 32-bit). The rows may be a graph output. The same
// rows in another order (another perm, a Reshape that splits H·W otherwise) are left alone.
//
// Runs after fuse_token_patch_conv (which makes the gather) and fuse_layer_norm (which makes
// exported decompositions LayerNormalizations). fp16 engines convert the node as they do a
// LayerNorm (precision_islands: it reads an fp32 residual stream, its rows are float16).
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_layer_norm_patch_rows(Graph& g);  // LayerNormPatchRows nodes made

}  // namespace kiln
