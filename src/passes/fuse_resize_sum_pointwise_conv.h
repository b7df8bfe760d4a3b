// Absorbs the 1x1 Conv that reads a ResizeSum (SegFormer's classifier after its decode head),
// so the summed map — 768 channels at 1/4 of the input resolution in B2 — is never stored:
//
//   X_0 ─▶┐
//   X_1 ─▶├─ kiln.ResizeSum ─▶ h [B, C, H, W] ─▶ Conv(W [Co, C, 1, 1], B [Co]) ─▶ y [B, Co, H, W]
//   ...  ─▶┘
//                    ⇒   X_0, X_1, ... ─▶ kiln.ResizeSumPointwiseConv(W [Co, C], B) ─▶ y
//
// Matched: a Conv whose X is a ResizeSum's output read by nothing else (and not a graph
// output), that is a per-pixel matrix product (is_pointwise_conv: 2-D, kernel 1x1, strides 1,
// no pads, group 1, constant W and bias) with W and B in h's type, W [Co, C, 1, 1] with C h's
// channels and B of Co values. The fused node keeps the ResizeSum's attributes and inputs, takes
// the Conv's name and writes its output. A MatMul reading h is not taken: in SegFormer the
// classifier is a Conv, and a MatMul over NCHW h would contract over the width.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_resize_sum_pointwise_conv(Graph& g);  // Convs absorbed

}  // namespace kiln
