// RowColumnRead (domain "kiln"): the value read of AnchorDETR's row-column decoupled attention
// (RCDA), put in the graph by passes/fuse_row_column_read in place of the exported
// MatMul → Reshape → MatMul(Unsqueeze(a_row), ·) → Squeeze, and imported as is where a model
// names kiln.RowColumnRead.
//
//   a_col   [..., L, H]      column attention: per query, a softmax over the H rows
//   a_row   [..., L, W]      row attention: per query, a softmax over the W columns
//   V       [..., H, W·D]    the values as the exported graph's first MatMul reads them
//                            (V [..., H, W, D] with its last two axes flattened: no copy)
//   output  [..., L, D]      a_col's dtype
//
//   out[n, l, d] = Σ_y a_col[n, l, y] · Σ_x a_row[n, l, x] · V[n, y, x·D + d]
//
// The leading (batch) dims of the three inputs are equal (no broadcasting); all three have one
// float dtype. D is V's last dim divided by W, so W must be positive and divide it. Unfused,
// a_col @ V materializes per_col [..., L, W·D] (W times the output) and reads it back once.
//
// Token layouts (attributes, 0 by default; put in by passes/fold_row_column_transposes), for
// a_col [B, N, L, H] and a_row [B, N, L, W] with N heads:
//   v_tokens = 1     V is [B, H, W, N, D], as the value projection writes it (its Reshape is a
//                    view), instead of its head-split copy [B, N, H, W·D]
//   out_tokens = 1   the output is [B, L, N, D], ready for the heads' merge into [B, L, N·D],
//                    instead of [B, N, L, D]
// The sums are the same; only where elements are read and written differs.
#pragma once
#include <vector>

#include "ops/op.h"

namespace kiln {
class OpRegistry;
}

namespace kiln::attention {

inline constexpr const char* kRowColumnReadOp = "RowColumnRead";

struct RowColumnDims {
  int64_t batch = 0;   // product of the leading dims of a_col (B·N)
  int64_t rows = 0;    // L
  int64_t height = 0;  // H
  int64_t width = 0;   // W
  int64_t head_dim = 0;  // D
  // Where batch item n = b·heads + h reads V and writes the output, in elements: V[y, x, d] at
  // b·v_outer + h·v_inner + y·v_y + x·v_x + d, out[l, d] at b·o_outer + h·o_inner + l·o_row + d.
  // heads is N with a token layout, else 1 (every item is b).
  int64_t heads = 1;
  int64_t v_outer = 0, v_inner = 0, v_y = 0, v_x = 0;
  int64_t o_outer = 0, o_inner = 0, o_row = 0;
  bool v_plain() const { return v_x == head_dim && v_y == width * head_dim && v_inner == height * v_y && v_outer == heads * v_inner; }
  bool out_plain() const { return o_row == head_dim && o_inner == rows * head_dim && o_outer == heads * o_inner; }
};

// The three inputs' dims checked against each other and the layout attributes (kInvalidModel
// naming the mismatch).
RowColumnDims row_column_read_dims(const OpContextBase& ctx, const Dims& a_col, const Dims& a_row, const Dims& v);

void register_row_column_read(OpRegistry& r);

}  // namespace kiln::attention
