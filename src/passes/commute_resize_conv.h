// Runs a 1x1 convolution over concatenated, resized features at each branch's own (lower)
// resolution, before the resize (SegFormer's decode head):
//
//   y_0 ─────────────▶┐
//   y_1 ─▶ Resize ───▶├─▶ Concat(channel axis) ─▶ Conv 1x1 (W [M, ΣC_i, 1, 1], b) ─▶ z
//   y_2 ─▶ Resize ───▶┘
//                          ⇒
//   y_0 ─▶ Conv 1x1 (W_0, b) ──────────────▶┐
//   y_1 ─▶ Conv 1x1 (W_1) ─▶ Resize' ─▶ Add ─▶ Add ─▶ z
//   y_2 ─▶ Conv 1x1 (W_2) ─▶ Resize' ──────────▶┘
//
// W_i = W[:, channels of input i]; Resize' is the branch's Resize with its attributes, roi and
// scales, and `sizes` (when given) with M channels instead of C_i.
//
// Why it is exact (up to fp rounding): Conv1x1(Concat_i(x_i)) = b + Σ_i W_i·x_i per pixel. A
// Resize over the last two axes computes every output element as Σ_k w_k·x[same n, same c,
// taps k] with weights w_k that depend only on the output position (not on the channel), so it
// commutes with any per-pixel linear map over channels: R(W_i·y) = W_i·R(y). A bias commutes
// because the weights of every output pixel sum to 1: R(y + b) = R(y) + b·Σ_k w_k = R(y) + b,
// so it may ride on any one branch (the pass picks a branch without Resize when there is one,
// else the first). Per ONNX Resize (onnx.reference op_resize, checked): nearest takes one tap
// with weight 1; linear weights are (1 − r, r); cubic with exclude_outside 0 takes Keys'
// polynomials, c0 = ((A(r+1) − 5A)(r+1) + 8A)(r+1) − 4A, c1 = ((A+2)r − (A+3))r² + 1,
// c2 = c1 at 1 − r, c3 = c0 at 1 − r, whose sum is 1 for every r and A, and taps beyond the
// border read the edge value (padding) with their weight kept, so the sum stays 1. Separable
// passes multiply per-axis weights: still 1. Not matched: tf_crop_and_resize (extrapolated
// pixels are a constant, not a weighted average), antialias, exclude_outside 1, a
// keep_aspect_ratio_policy other than stretch, scales/sizes that touch the batch or channel
// axis.
//
// Matched: Conv in 2-D (rank 4), group 1, kernel 1x1, strides 1, no pads, W constant, bias
// constant or absent; its input a Concat on the channel axis read only by it; each Concat
// input either a Resize (as above, constant scales or sizes, output read only by the Concat)
// or any other tensor (not a Resize: a Resize feeding the Concat must qualify, and read by
// nothing else); every tensor float32 or float16; channel and spatial dims static.
//
// When it fires (a win, not only a rewrite): work = 1x1-conv multiply-adds + elements written by
// Resize, Concat and Add. With P_0 the output pixels, P_i branch i's pixels before its Resize,
// C = ΣC_i, M output channels, n branches of which R are resized:
//   before: M·C·P_0 + Σ_resized C_i·P_0 + C·P_0
//   after:  M·Σ_i C_i·P_i + R·M·P_0 + (n − 1)·M·P_0
// and it fires when after < before and at least one branch is upsampled (P_i < P_0): without
// one, the rule could still favour trading the Concat for Adds, which is no real saving (the
// conv only splits into smaller GEMMs). SegFormer-B2's decode head goes from 3072→768 at 1/4
// scale to 768→768 at 1/4, 1/8, 1/16, 1/32 (a third of the multiply-adds).
#pragma once
#include "ir/graph.h"

namespace kiln {

int commute_resize_conv(Graph& g);  // convolutions rewritten

}  // namespace kiln
