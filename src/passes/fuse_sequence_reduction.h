// fuse_sequence_reduction: SegFormer's efficient-attention key/value path — the LayerNorm's patch
// rows, the sequence-reduction conv as a GEMM, its LayerNorm and the packed K/V projection — as
// one kiln.SequenceReduction node (ops/norm/sequence_reduction.h), so that neither the patch
// rows, the reduced tokens nor their norm reach memory. In the float16 form that
// convert_to_fp16 and fuse_attention_block leave:
//
//   x [B, H·W, C] (f32) ─▶ kiln.LayerNormPatchRows(S1, B1; height, width, patch, epsilon)
//                              ─▶ Y "" (unread: fuse_attention_block took the query path)
//                              ─▶ P [B, (H/p)·(W/p), p·p·C] (f16)
//     ─▶ kiln.FusedMatMul(Wr [p·p·C, C], Br, no activation, no residual) ─▶ R [B, Nk, C] (f16)
//     ─▶ LayerNormalization(S2, B2, axis -1, epsilon2) ─▶ L2 [B, Nk, C] (f16)
//     ─▶ kiln.FusedMatMul(Wkv [C, N2], Bkv, no activation, no residual) ─▶ KV [B, Nk, N2] (f16)
//   becomes
//   x ─▶ kiln.SequenceReduction(S1, B1, Wr, Br, S2, B2, Wkv, Bkv; height, width, patch, epsilon,
//                               epsilon2) ─▶ KV
//
// Checked on semantics, not names: Y unread and no graph output; P, R and L2 read only by the
// next node (as its first input) and not graph outputs; the LayerNormalization over the last axis
// only, float statistics, with B and no Mean/InvStdDev outputs; GEMMs with bias only and
// constant weights; static dims; every weight and intermediate float16, x float32, and widths the
// CUDA kernel takes (sequence_reduction_fits: C 64 or 128, N2 = 2·C). A float32 graph never
// matches: optimize_for_engine runs this pass after convert_to_fp16 on fp16 engines, and in the
// pipeline (where it finds nothing in float32) everywhere else.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_sequence_reduction(Graph& g);  // SequenceReduction nodes made

}  // namespace kiln
