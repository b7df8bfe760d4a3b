// Sums upsampled feature maps in one kernel (SegFormer's decode head after
// commute_resize_conv and merge_linear_pointwise_conv):
//
//   t_0 [B, N_0, C] ─▶ Transpose(0,2,1) ─▶ Reshape [B,C,H,W] ─────────────────────▶┐
//   t_1 [B, N_1, C] ─▶ Transpose(0,2,1) ─▶ Reshape [B,C,h_1,w_1] ─▶ Resize ─▶ Add ─▶ Add ─▶ Add ─▶ [Relu] ─▶ y
//   x_2 [B, C, h_2, w_2] ─────────────────────────────────────────▶ Resize ────────────▶┘      ▲
//   ...                                                                                        │
//                                  ⇒   t_0, t_1, x_2, ... ─▶ kiln.ResizeSum ─▶ y
//
// Matched: an Add tree in any association (each inner Add's output read only by its parent Add
// and of the root's static shape [B, C, H, W]: no broadcasting) with 2 to kResizeSumMaxInputs
// leaves, at least one of them a Resize that qualifies:
//   - mode linear, antialias 0, exclude_outside 0, keep_aspect_ratio_policy stretch, any
//     coordinate_transformation_mode but tf_crop_and_resize (resize_taps.h computes them all);
//   - constant scales or sizes that keep the batch and channel axes (scale 1, same length);
//   - input [B, C, h, w] with static dims, output [B, C, H, W] read only by its Add.
// A leaf that is not such a Resize is summed as it is (a nearest or cubic Resize stays a node
// of its own and ResizeSum reads its output). A leaf's image — the Resize's input or the leaf
// itself — that is Reshape([B,C,h,w]) of Transpose(0,2,1) of tokens [B, h*w, C], each read only
// by the next node, is read as tokens and both nodes go. A Relu that is the only reader of the
// root's output is fused too. Every tensor is float32 or float16, all of one dtype; the fused
// node takes the name of the last node it replaces and writes its output, which may be a graph
// output (no other intermediate may be one).
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_resize_sum(Graph& g);  // Add trees replaced

}  // namespace kiln
