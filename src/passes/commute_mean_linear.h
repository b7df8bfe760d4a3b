// commute_mean_linear: a mean over token axes taken after a linear layer is taken before it, so
// the GEMM runs over the averaged rows only (AnchorDETR's RCDA keys: k_row(key_row).mean(1) and
// k_col(key_col).mean(2) project every one of the h·w positions, then keep h or w averages):
//
//   X [.., K] ─▶ FusedMatMul(W [K, N], bias, no activation, no residual) ─▶ [.., N] ─▶ ReduceMean(axes) ─▶ Y
//                                  ⇒
//   X [.., K] ─▶ ReduceMean(axes) ─▶ X̄ ─▶ FusedMatMul(W, bias) ─▶ Y
//
// Exact in real arithmetic: the mean of x·W + b over rows is mean(x)·W + b (a linear map, and
// the bias is the same on every row); in float the sums are taken in another order (within
// fp32 rounding of the result). Checked: the FusedMatMul has no activation (the mean of relu(z)
// is not relu of the mean) and no residual; ReduceMean's axes are constant, not empty (empty
// reduces everything or nothing) and leave out the last axis (the one W maps); the GEMM's output
// is read only by the ReduceMean and is not a graph output. AnchorDETR at 800x1216: each of the
// 24 key projections runs over 50 or 76 rows instead of 3800. Runs after fuse_matmul_epilogue.
#pragma once
#include "ir/graph.h"

namespace kiln {

int commute_mean_linear(Graph& g);  // means moved before their linear layer

}  // namespace kiln
