// fuse_row_column_read: the value read of AnchorDETR's row-column decoupled attention (RCDA) as
// its export computes it, into one kiln.RowColumnRead (src/ops/attention/row_column_read.h):
//
//   a_col [..., L, H] ───────────────────┐
//   V2    [..., H, W·D] ─────────────────MatMul─▶ per_col [..., L, W·D] ─▶ Reshape [..., L, W, D] ─┐
//                                                                                                  │
//   a_row [..., L, W] ─▶ Unsqueeze(-2) [..., L, 1, W] ────────────────────────────────────────────MatMul─▶ [..., L, 1, D] ─▶ Squeeze(-2) ─▶ out [..., L, D]
//
//      ⇒   a_col, a_row, V2 ─▶ kiln.RowColumnRead ─▶ out
//
// Matched from the Squeeze: its one axis (a constant input) the second last of rank r + 1 (a
// Reshape to exactly [..., L, D] counts too; a Squeeze without axes does not); its input the
// second MatMul, whose first operand is a_row through Unsqueeze with that one axis (or a Reshape
// to exactly [..., L, 1, W]) and whose second is a Reshape of the first MatMul's output
// [..., L, W·D] to [..., L, W, D] that keeps the leading dims and splits exactly the last one
// into a_row's W and D; the first MatMul reads a_col and V2. Shapes: one rank r >= 2 for a_col,
// a_row and V2, their leading r - 2 dims equal (no broadcasting: a_row [B, 1, L, W] shared by
// the heads is refused), L and H agreeing, W, D and W·D known (other dims may be symbolic when
// provably equal); one dtype, float32 or float16. The first MatMul's output, the Reshape's and the
// second MatMul's are read only inside the chain and are not graph outputs (a_row's Unsqueeze
// may have other readers: it stays for them). The fused node takes the Squeeze's name and
// writes its output.
//
// Runs before fuse_attention, which would otherwise see softmax(a_col) · V2 as attention once it
// learns masks.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_row_column_read(Graph& g);  // RCDA reads replaced

}  // namespace kiln
