// Chains of elementwise ops in one generated kernel (issue 4): every maximal connected set of
// elementwise nodes of one output shape whose intermediates are read only inside it becomes one
// kiln.Pointwise node carrying the chain as a program (ops/elementwise/pointwise.h).
//
//   a ──▶ Sub ──▶ Mul ──▶ Sigmoid ──▶ Where ──▶ y            a b c m
//   b ──▶─┘  c ──▶─┘        m ──▶ Not ──▶─┘           ⇒     kiln.Pointwise ──▶ y
//                                                           (Sub Mul Sigmoid Not Where)
//
// Taken: Add Sub Mul Div Pow Max Min (two operands), Equal Less Greater LessOrEqual
// GreaterOrEqual, And Or Xor Not IsNaN, Where, Cast, Relu Sigmoid Tanh Erf Gelu Exp Log Sqrt
// Reciprocal Neg Abs Floor Ceil Sin Cos — on float32, float16 and bool values only (float64,
// integers, strings stay as they are). Inputs from outside the group may broadcast up to the
// group's shape; inside it every node has that shape, so no intermediate is broadcast (a node
// that grows its operand's shape starts a new group). An intermediate read by a node outside
// the group or that is a graph output ends the group there: the value is the group's output,
// never recomputed or read from the middle. A group that an outside path leaves and re-enters
// (a cycle once fused) is split: the nodes no such path reaches form one node, the rest are
// tried again (their values between the parts become outputs). Groups of one node are left
// alone, as are groups with more than 16 outside inputs or 8 outputs (the kernel's parameter
// block). The node takes the name of the group's last node.
//
// Placement: last in the pipeline, after the passes that fuse elementwise tails into bigger
// kernels (GELU, LayerNorm, GEMM and conv epilogues, masked softmax) so it only takes what they
// left. For fp16 engines optimize_for_engine runs it after convert_to_fp16 instead of in the
// pipeline, so it sees the final storage types and takes in the Casts of the precision islands
// and graph inputs/outputs, rather than fusing an fp32 chain that conversion would then have to
// rewrite (a Pointwise converted to fp16 keeps fp32 where its program casts to float32).
// Re-running the pipeline on a fused graph (specialize, once shapes are concrete) may fuse more
// (same_dim needs dims known or named alike); a pattern an earlier pass missed on symbolic
// shapes may by then be inside a Pointwise.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_elementwise(Graph& g);  // Pointwise nodes made

}  // namespace kiln
