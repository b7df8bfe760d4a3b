// Writes the activation after a token-layout depthwise conv in the conv's own store (SegFormer's
// MixFFN: fc1 → dwconv → GELU → fc2, the GELU a separate read and write of the widest tensor):
//
//   x ─▶ DepthwiseConvNHWC(activation none) ─▶ t ─▶ Relu | Gelu(approximate none | tanh) ─▶ y
//                                  ⇒   x ─▶ DepthwiseConvNHWC(activation relu | gelu | gelu_tanh) ─▶ y
//
// t feeds only the activation and is not a graph output. Runs after fuse_token_dwconv (which
// makes the conv) and fuse_gelu (which makes the Gelu); the fused node takes the activation's
// name and output. The conv computes it on its fp32 sum, so fp16 engines round once instead of
// twice.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_dwconv_activation(Graph& g);  // activations absorbed

}  // namespace kiln
