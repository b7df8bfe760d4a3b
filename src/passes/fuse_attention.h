// fuse_attention: MatMul(Q, Kᵀ) → [scale] → [mask: Add(·, M) | Where(b, -inf, ·)] →
// Softmax(last axis) → MatMul(·, V) becomes one kiln.Attention node (src/ops/attention), so the
// score matrix is never materialized.
// Runs after fold_constants (the scale arrives as a folded constant), before fp16 conversion.
#pragma once
#include "ir/graph.h"

namespace kiln {

// Rewrites every match in place; returns how many attention blocks were fused.
int fuse_attention(Graph& g);

}  // namespace kiln
