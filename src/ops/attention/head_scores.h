// HeadScores (domain "kiln"): the attention scores of every head read straight from the token
// layout, S = scale · Q Kᵀ per (batch item, head), with Q and K as the projections write them.
// Put in the graph by passes/fuse_head_scores in place of AnchorDETR's exported head split
//   Reshape → Transpose(0,2,1,3) → Mul(scale)  and  Reshape → Transpose(0,2,3,1)  → MatMul,
// the seed's "AddBiasTranspose" plugin without the copies it still made.
//
//   Q  [B, L, N, D]   (tokens [B, L, N·D] viewed per head: no copy)
//   K  [B, J, N, D]
//   S  [B, N, L, J]   S[b, n, l, j] = scale · Σ_d Q[b, l, n, d] · K[b, j, n, d]
//
// B, N and D equal in Q and K (no broadcasting); one float dtype. Attribute scale (float,
// default 1). The reference sums in double and rounds once, scale applied to the sum; the
// unfused graph rounds Q·scale first (exact when scale is a power of two, as 1/√16 is).
#pragma once
#include "ops/op.h"

namespace kiln {
class OpRegistry;
}

namespace kiln::attention {

inline constexpr const char* kHeadScoresOp = "HeadScores";

struct HeadScoresDims {
  int64_t batch = 0, rows = 0, keys = 0, heads = 0, head_dim = 0;  // B, L, J, N, D
};

// Q's and K's dims checked against each other (kInvalidModel naming the mismatch).
HeadScoresDims head_scores_dims(const OpContextBase& ctx, const Dims& q, const Dims& k);

void register_head_scores(OpRegistry& r);

}  // namespace kiln::attention
