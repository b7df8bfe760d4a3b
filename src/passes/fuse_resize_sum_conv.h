// fuse_resize_sum_conv: SegFormer's decode head ends in its upsample-and-sum (kiln.ResizeSum,
// with the Relu) and the 1x1 classifier conv; as one kiln.ResizeSumConv node
// (ops/spatial/resize_sum_conv.h) the summed [B, C, H, W] map never reaches memory. In the
// float16 form that convert_to_fp16 leaves:
//
//   x_0, ..., x_{n-1} ─▶ kiln.ResizeSum(attrs) ─▶ s [B, C, H, W] (f16)
//     ─▶ Conv(W [K, C, 1, 1] f16, B [K] f32|f16) ─▶ y [B, K, H, W] (B's type)
//   becomes
//   x_0, ..., x_{n-1}, W, B ─▶ kiln.ResizeSumConv(attrs) ─▶ y
//
// and when the identity input x_p (the one at the output size, which the kernel copies) is
//   t [B, N, Cin] (f16) ─▶ kiln.FusedMatMul(Wp [Cin, C], Bp [C], no activation or residual) ─▶ x_p
// with Cin 64 and x_p read by nothing else, that projection goes in too (the kernel reads the
// narrower t, so x_p never reaches memory):
//   x_0, ..., t, ..., x_{n-1}, W, B, Wp, Bp ─▶ kiln.ResizeSumConv(attrs, projected_input = p) ─▶ y
//
// Matched: s is read only by the Conv (its input X) and is not a graph output; the Conv has a
// constant W and a constant bias, group 1, a 1x1 kernel (kernel_shape 1x1 or absent), strides
// and dilations 1, pads 0, auto_pad NOTSET or VALID; s and W are float16, B float16 or float32
// and y of B's type; every dim is static and the sum and conv are ones the CUDA kernel takes
// (resize_sum_conv_layout: token inputs, upsampled or copied, C in chunks of 64, K <= 160).
// The projection also needs constant float16 Wp and Bp, float16 t and x_p, and x_p not a graph
// output; else the node is fused without it. The fused node takes the Conv's name and output,
// and ResizeSum's attributes. A float32 graph never matches: optimize_for_engine runs this pass
// after convert_to_fp16 on fp16 engines, and in the pipeline (where it finds nothing) everywhere
// else.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_resize_sum_conv(Graph& g);  // ResizeSumConv nodes made

}  // namespace kiln
