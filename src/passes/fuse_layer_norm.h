// fuse_layer_norm: the LayerNorm that exporters write out op by op (torch.onnx before opset 17,
// hand-written `(x - mean) / sqrt(var + eps)`) becomes one ONNX LayerNormalization (opset 17
// semantics, axis -1; the node carries opset 17 even in older models).
//
//     x ─┬─ ReduceMean(last axis) ─▶ mean ─┐
//        └─────────────────────────────────┴─▶ Sub(x, mean) ─▶ d
//
//     d ─┬─ Pow(d, 2) | Mul(d, d) ─▶ ReduceMean(last axis) ─▶ Add(·, eps) ─▶ Sqrt ─▶ s
//        │                                                                          │
//        └──────────────────────────────────────────────────────────────────────────┴─▶ Div(d, s) | Mul(d, Reciprocal(s)) ─▶ n
//
//        n ─▶ [Mul(·, gamma)] ─▶ [Add(·, beta)] ─▶ y
//
//   LayerNormalization(x, Scale = gamma or ones [C], B = beta or none, epsilon = eps, axis = -1)
//   takes the name and output of the last node it replaces.
//
// match() requires float32/float16 x of known rank whose last dim C is known; both ReduceMeans
// over exactly the last axis (attribute axes before opset 18, a constant axes input from then
// on) with keepdims=1; the mean subtracted from the very tensor it was taken over; eps a
// one-element float constant and the exponent a one-element constant equal to 2, each of rank ≤
// x's (so broadcasting cannot change the shape); every intermediate read only by the next node
// of the pattern and not a graph output (d is read by exactly the square and the division).
// gamma and beta, in either operand order, are absorbed only when they are constants of x's
// dtype whose shape, leading 1s removed, is [C] and whose rank is ≤ x's; otherwise the Mul/Add
// stays after the fused node.
#pragma once
#include "ir/graph.h"

namespace kiln {

// Rewrites every match in place; returns how many LayerNormalization nodes it made.
int fuse_layer_norm(Graph& g);

}  // namespace kiln
