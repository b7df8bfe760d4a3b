// fuse_matmul_epilogue: a linear layer and what follows it become one kiln.FusedMatMul, so the
// bias, activation and residual ride on the GEMM instead of each reading and writing Y again.
//
//   A ──MatMul(·, W)──▶ Add(·, bias) ──▶ [Relu | Gelu] ──▶ [Add(·, residual)] ──▶ Y
//
//   becomes  Y = kiln.FusedMatMul(A, W, bias[N], residual?)  activation = none | relu | gelu | gelu_tanh
//
// match() requires: A float of rank ≥ 2; W a constant [K, N] with K ≥ 1; bias a constant of N
// elements broadcast over the last axis only ([N] or [1, ..., 1, N], rank ≤ the product's, so
// the shape does not change); the residual of exactly Y's shape and dtype (no broadcasting);
// either operand order of both Adds; and every intermediate read only by the next node of the
// pattern (not a graph output). The residual is added after the activation, as the graph says:
// an Add between MatMul and activation other than the bias is not matched. Run after fuse_gelu,
// so that exported GELUs are Gelu nodes by then.
//
// The same epilogue after a kiln.Int8MatMul that has none yet (what fuse_int8_matmul makes of a
// quantizer's Q/DQ MatMul, whose bias Add it leaves) goes into that Int8MatMul's bias,
// activation and residual: W is then its int8 [N, K].
#pragma once
#include "ir/graph.h"

namespace kiln {

// Rewrites every match in place; returns how many FusedMatMul nodes it made.
int fuse_matmul_epilogue(Graph& g);

}  // namespace kiln
