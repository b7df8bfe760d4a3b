// Reads a value instead of a chain of views and Transposes that only moves its elements back to
// where they were, even when the chain's intermediates have other readers:
//
//   x [B, N, C] ─▶ Reshape [B, H, W, C] ─▶ Transpose(0,3,1,2) ─▶ m [B, C, H, W] ─▶ (other readers)
//                                                               └─▶ Reshape [B, C, N] ─▶ Transpose(0,2,1) ─▶ y [B, N, C]
//   ⇒ y's readers read x
//
// (SegFormer: each stage's tokens go to NCHW for the next patch embedding, and the decode head
// takes them back to tokens.) A chain is Reshape / Flatten / Squeeze / Unsqueeze (views, by their
// inferred static dims) and Transpose nodes; it is the identity when its composition maps every
// element's linear index to itself, decided exactly by refining the axes (no sampling). y stays
// when it is a graph output. eliminate_noops already merges chains whose intermediates have no
// other reader; this pass is for the ones that do.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fold_layout_round_trips(Graph& g);  // values whose readers now read the chain's start

}  // namespace kiln
