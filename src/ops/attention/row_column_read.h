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
#pragma once
#include <vector>

#include "ops/op.h"

namespace kiln {
class OpRegistry;
}

namespace kiln::attention {

inline constexpr const char* kRowColumnReadOp = "RowColumnRead";

struct RowColumnDims {
  int64_t batch = 0;   // product of the leading dims
  int64_t rows = 0;    // L
  int64_t height = 0;  // H
  int64_t width = 0;   // W
  int64_t head_dim = 0;  // D
};

// The three inputs' dims checked against each other (kInvalidModel naming the mismatch).
RowColumnDims row_column_read_dims(const OpContextBase& ctx, const Dims& a_col, const Dims& a_row, const Dims& v);

void register_row_column_read(OpRegistry& r);

}  // namespace kiln::attention
