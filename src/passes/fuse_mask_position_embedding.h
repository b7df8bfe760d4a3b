// fuse_mask_position_embedding: the sine position embedding AnchorDETR computes from its padding
// mask (mask_to_positions + sine_embed; the seed's "Mask2Pos" plugin), as exported, into one
// kiln.MaskPositionEmbedding (src/ops/spatial/mask_position_embedding.h):
//
//   mask [B,H,W] bool ─▶ Not ─▶ Cast(float32) ─▶ Gather(index 0, axis 2 | 1) ─▶ c0 [B, n]
//   c0 ─▶ CumSum(axis 1) ─▶ c ─┬─▶ Sub(·, offset) ─────────────▶ Div ─▶ Mul(·, scale) ─▶ p [B, n]
//                              └─▶ Slice(start −1, axis 1) ─────────┘
//   p ─▶ Unsqueeze(−1) ─▶ Div(·, divisors [K]) ─▶ a ─┬─▶ Sin ─▶ Unsqueeze(−1) ─┐
//                                                   └─▶ Cos ─▶ Unsqueeze(−1) ─┴▶ Concat(−1) [B, n, K, 2]
//   ─▶ Reshape [B, n, 2K] ─▶ Y          ⇒   mask ─▶ kiln.MaskPositionEmbedding ─▶ Y
//
// Gather along axis 2 reads the first column: positions down the rows (axis 1, n = H); along
// axis 1 the first row: positions along the columns (axis 2, n = W). Checked: the Gather index a
// constant 0, CumSum forward and inclusive along the positions, the Slice the last position
// alone (or absent where n is 1: eliminate_noops drops it), offset and scale one-element constants, divisors a 1-D float32 constant of finite
// non-zero values (the temperature's powers: carried as they are, any temperature), the
// interleave sin before cos along a new last axis, the Reshape keeping [B, n] and merging (K, 2)
// — with static or provably equal dims; float32 throughout; every intermediate from the CumSum on
// read only inside the chain (Not, Cast and Gather may be shared: they stay for other readers).
// A different form — no normalizing Div, another axis, cos before sin, Cast to float16, a
// reverse or exclusive CumSum — is another computation and is left alone. Exact: the op
// computes each step in float32 as the replaced ops round it.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_mask_position_embedding(Graph& g);  // embeddings fused

}  // namespace kiln
