// fold_attention_transposes: the head split and merge around kiln.Attention read and written in
// place. A model splits tokens [B, S, H·D] into heads with Reshape [B, S, H, D] + Transpose
// (0, 2, 1, 3) and merges them back the same way; kiln.Attention's seq_first flags let it take
// [B, S, H, D] directly, so those Transposes (a full copy of Q, K, V and the output each) go.
// Runs after fuse_attention.
#pragma once
#include "ir/graph.h"

namespace kiln {

// Rewrites every kiln.Attention that has such a Transpose; returns how many Transposes went.
int fold_attention_transposes(Graph& g);

}  // namespace kiln
