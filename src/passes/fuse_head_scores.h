// fuse_head_scores: the head split in front of AnchorDETR's RCDA score products (the seed's
// "AddBiasTranspose" plugin: Add bias → Transpose → Mul(scale) → Reshape → Transpose) as it is
// left once fuse_matmul_epilogue has the bias in the projection's GEMM, into one
// kiln.HeadScores (src/ops/attention/head_scores.h) that reads the projections in place:
//
//   Q4 [B, L, N, D] ─▶ Transpose(0,2,1,3) ─▶ [Mul(·, s)] ─┐
//   K4 [B, J, N, D] ─▶ Transpose(0,2,3,1) ────────────────MatMul ─▶ S [B, N, L, J]
//
//      ⇒   Q4, K4 ─▶ kiln.HeadScores(scale = s) ─▶ S
//
// (Q4 and K4 are the projections' Reshapes [B, L, N·D] → [B, L, N, D]: views, no copy. K's
// Transpose is eliminate_noops' composition of the exported head split (0,2,1,3) and kᵀ.) The
// scale is a one-element finite float constant, either operand of the Mul, absent meaning 1;
// Mul's output has the Transpose's shape (the scalar broadcasts to it, not it to the scalar).
// Q4 and K4 rank 4 with B, N and D provably equal; one dtype, float32 or float16; the Transposes'
// and the Mul's outputs read only by the chain and not graph outputs. Removed per product: two
// Transposes and the Mul — three copies of Q or K. Not exact where s is not a power of two: the
// graph rounds Q·s to the storage type before the product; the fused node scales the sum
// (the GEMM's alpha), one rounding fewer. Runs after fuse_masked_softmax and fuse_row_column_read
// (which read the scores' consumers), before fuse_data_movement would take the Transposes.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_head_scores(Graph& g);  // score products fused

}  // namespace kiln
