// fuse_gelu: the GELU that exporters write out op by op becomes one ONNX Gelu (opset 20
// semantics; the node carries opset 20 even in older models, which is what Gelu's inference and
// kernels read).
//
//   erf form → Gelu approximate="none":
//
//     x ─┬─ Div(·, √2) | Mul(·, 1/√2) ─▶ Erf ─▶ Add(·, 1) ─▶ s ─┐
//        └──────────────────────────────────────────────────────┴─▶ 0.5 · x · s ─▶ y
//
//   tanh form → Gelu approximate="tanh":
//
//     x ─┬─ Pow(x, 3) | x·(x·x) ─▶ Mul(·, 0.044715) ─▶ Add(x, ·) ─▶ Mul(·, √(2/π)) ─▶ Tanh ─▶ Add(·, 1) ─▶ s
//        └──────────────────────────────────────────────────────────────────────────────────────────────┴─▶ 0.5 · x · s
//
//   0.5 · x · s in the groupings exporters write: (x·s)·0.5, (x·0.5)·s, x·(s·0.5), with Div(·, 2)
//   for ·0.5 and either operand order of every Mul and Add.
//
// match() requires float x, every constant a one-element tensor within its dtype's rounding of
// the exact value (and of rank ≤ x's, so broadcasting cannot change the shape), and every
// intermediate read only by the next node of the pattern (not a graph output).
#pragma once
#include "ir/graph.h"

namespace kiln {

// Rewrites every match in place; returns how many Gelu nodes it made.
int fuse_gelu(Graph& g);

}  // namespace kiln
