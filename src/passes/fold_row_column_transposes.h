// fold_row_column_transposes: the head split of V and the head merge of the output around
// kiln.RowColumnRead read and written in place, through the op's token layouts (v_tokens,
// out_tokens; src/ops/attention/row_column_read.h), as fold_attention_transposes does for
// kiln.Attention — the rest of the seed's AddBiasTranspose copies in AnchorDETR's RCDA:
//
//   V5 [B, H, W, N, D] ─▶ Transpose(0,3,1,2,4) ─▶ Reshape [B, N, H, W·D] ─▶ RowColumnRead ─▶ [B, N, L, D] ─▶ Transpose(0,2,1,3) ─▶ Y [B, L, N, D]
//
//      ⇒   V5 ─▶ RowColumnRead(v_tokens = 1, out_tokens = 1) ─▶ Y
//
// Each side on its own. V's: a_col rank 4 [B, N, L, H]; the Transpose of a rank-5 V5 read only by
// the Reshape, which keeps the first three dims and merges the last two into exactly W·D (both
// known) and is read only by this node's V. The output's: a Transpose(0,2,1,3) its only reader
// (not a graph output), a_col rank 4. A node already in a token layout is left alone. Exact: the
// same sums, read and written elsewhere. Runs after fuse_row_column_read, before
// fuse_data_movement would take the Transposes into Remaps.
#pragma once
#include "ir/graph.h"

namespace kiln {

// Rewrites every RowColumnRead with such a Transpose; returns how many Transposes went.
int fold_row_column_transposes(Graph& g);

}  // namespace kiln
