// fuse_attention_block: the attention half of a SegFormer block — LayerNorm, the query
// projection, attention over the packed reduced keys and values, the output projection and the
// residual add — as one kiln.AttentionBlock node (ops/attention/attention_block.h), so that
// neither the normalized tokens, the queries nor the attention output reach memory. In the
// float16 form that convert_to_fp16 leaves:
//
//   x [B, N, C] (f32 or f16) ─▶ LayerNormalization(S, Bn, axis -1) ─▶ l (f16)
//                          or ─▶ kiln.LayerNormPatchRows(S, Bn) ─▶ l (f16), rows (to the reduction)
//     ─▶ kiln.FusedMatMul(Wq [C, C], Bq, no activation, no residual) ─▶ q (f16)
//     ─▶ Reshape [B, N, H, D] (seq_first), or at one head [B, 1, N, D] (the same bytes)
//     ─▶ kiln.Attention(·, KV [B, Nk, 2H, D], "", packed_kv 1, scale) ─▶ the same view of O
//     ─▶ Reshape [B, N, C] ─▶ kiln.FusedMatMul(Wo [C, C], Bo, no activation, residual x) ─▶ y (x's type)
//   becomes
//   x ─▶ kiln.AttentionBlock(S, Bn, Wq, Bq, KV, Wo, Bo; epsilon, scale) ─▶ y
//   (and a LayerNormPatchRows stays for its rows, its l now "")
//
// Checked on semantics, not names: l, q, the attention's input and output views read only by
// the next node and not graph outputs; the LayerNormalization over the last axis only, float
// statistics, no Mean/InvStdDev outputs; no mask; H heads of D = C / H (KV [B, Nk, 2H, D]) in
// the views the seq_first flags of Q and the output say — [B, N, H, D] flagged; [B, 1, N, D]
// unflagged, one head only, since for more [B, H, N, D] orders the bytes otherwise; the residual
// is the LayerNorm's own input; static dims; every weight float16 with Bo
// and y of x's type; widths the CUDA kernel takes (attention_block_fits). A float32 graph never
// matches: optimize_for_engine runs this pass after convert_to_fp16 on fp16 engines, and in the
// pipeline (where it finds nothing in float32) everywhere else.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_attention_block(Graph& g);  // AttentionBlock nodes made

}  // namespace kiln
