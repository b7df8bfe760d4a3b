// fuse_attention_keep_mask: Mask2Former's masked-attention mask, as transformers exports it,
// into one kiln.AttentionKeepMask (src/ops/attention/attention_keep_mask.h):
//
//   X [B,Q,h,w] ─▶ Sigmoid ─▶ views ─▶ [B,1,Q,K] ─▶ Tile(1,R,1,1) ─▶ views ─▶ [B·R,Q,K] ─▶ Less(thr) ─▶ m
//   m ─▶ Cast(number) ─▶ ReduceSum(last, keepdims 0) ─▶ Equal(K) ─▶ Not ─▶ Unsqueeze(last) ─▶ u
//   And(m, u) ─▶ Not ─▶ keep [B·R,Q,K]            ⇒   X ─▶ kiln.AttentionKeepMask(R, thr) ─▶ keep
//
// (the mask predictor's `sigmoid(...).flatten(2).unsqueeze(1).repeat(1, heads, 1, 1).flatten(0, 1)
// < 0.5`, the decoder's reset of rows that exclude every key, and the Not that fuse_attention put
// before the attention's keep mask). "views" are Reshape, Flatten, Squeeze and Unsqueeze, which
// keep the row-major order, so the shapes alone say where each element goes: checked with
// static dims — K = h·w, the Tile's input exactly [B, 1, Q, K] with repeats (1, R, 1, 1) (or no
// Tile and R = 1), the Less's input [B·R, Q, K]. Also checked: the threshold a one-element float
// constant, the Cast to int64 or int32, or to float32/float64 with K < 2^24 (so that the count is
// exact), the ReduceSum over the last axis only, the Equal against a constant K, the Unsqueeze on
// the last axis; every intermediate read only inside. With B = 1 and only kiln.Attention nodes
// reading the keep mask, R becomes 1: the attention broadcasts [1, Q, K] over its heads.
// Anything else — another threshold comparison, a count against another number, a reduction
// over other axes — is another computation and is left alone.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_attention_keep_mask(Graph& g);  // masks fused

}  // namespace kiln
