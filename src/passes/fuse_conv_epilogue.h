// What CNN backbones (ResNet in AnchorDETR, DETR, Mask2Former-R50) put after each Conv, taken
// into it, so the output is written once instead of three or four times:
//
//   x ─▶ Conv(W, B) ─▶ [BatchNormalization] ─▶ [Add(z)] ─▶ [Relu | Gelu] ─▶ y
//
//   BatchNormalization (inference form: constant scale, bias, mean, var; one output) is folded
//   into the Conv's weights and bias; then, when an Add or an activation follows,
//                                  ⇒   x ─▶ FusedConv(W', B', z, activation) ─▶ y
//   with FusedConv = act(Conv(x) + z) (ops/conv/fused_conv.h). A BN alone leaves a plain Conv.
//
// Each value inside feeds only the next node and is not a graph output; z has y's dtype and the
// same fully determined shape (a shortcut, not a broadcast bias); W constant for the BN fold;
// Conv 1-D or 2-D (what the CUDA backend runs), float32 or float16. Of an Add of two Convs (a
// bottleneck with a projected shortcut) the first in graph order takes it and the other's
// output becomes z. The fused node takes the last node's name and output. Runs last: the other
// passes read plain Convs.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_conv_epilogue(Graph& g);  // Convs rewritten

}  // namespace kiln
