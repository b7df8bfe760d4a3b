// Softmax over a masked_fill(mask, -inf) in one kernel (the seeds' MaskedSoftmax plugin), as
// AnchorDETR's row and column attention exports it for padded images:
//
//   mask (bool) ─[Cast to bool]─▶ Where(·, -inf, X) ─▶ S ─▶ Softmax(last axis) ─▶ Y
//                                      ⇒   kiln.MaskedSoftmax(X, mask) ─▶ Y
//
// The Where's fill is a constant whose every element is -inf (another value, finite or +inf, is
// a different computation and is left alone); its output S has X's dtype and shape (the mask
// and the fill broadcast to X, not X to them), feeds only the Softmax and is not a graph
// output; Softmax is opset 13 or later on the last axis (before 13 it flattened the trailing
// axes). X is fp32 or fp16 (what the GPU kernel stores). The fused node takes the Softmax's
// name and output. Runs after fuse_attention, which takes a Where → Softmax → MatMul(·, V)
// attention whole.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_masked_softmax(Graph& g);  // masked softmaxes fused

}  // namespace kiln
