// fuse_mix_ffn: the second half of a SegFormer block — LayerNorm, fc1, the 3×3 depthwise conv
// with its activation, fc2 and the residual add — as one kiln.MixFFN node (ops/conv/mix_ffn.h),
// so the hidden tokens (four times the stream's width) stay on chip. In the float16 form that
// convert_to_fp16 leaves:
//
//   x [B, H·W, C] (f32 or f16) ─▶ LayerNormalization(S, Bn, axis -1) ─▶ l (f16)
//     ─▶ kiln.FusedMatMul(W1 [C, Hd], B1, no activation, no residual) ─▶ h (f16)
//     ─▶ kiln.DepthwiseConvNHWC(Wd [Hd, 1, 3, 3], Bd, stride 1, pads 1, act, height H, width W) ─▶ d (f16)
//     ─▶ kiln.FusedMatMul(W2 [Hd, C], B2, no activation, residual x) ─▶ y (x's type)
//   becomes
//   x ─▶ kiln.MixFFN(S, Bn, W1, B1, Wd, Bd, W2, B2; height, width, epsilon, act) ─▶ y
//
// l, h and d are read only by the next node and are not graph outputs; the residual is the
// LayerNorm's own input; the LayerNorm normalizes the last axis only, with float statistics and
// no Mean/InvStdDev outputs; S, Bn, B1, Bd are [C] or [Hd] exactly (no broadcasting); every
// weight is float16 and the widths are ones the CUDA kernel takes (mix_ffn_fits). A float32 graph
// never matches: optimize_for_engine runs this pass after convert_to_fp16 on fp16 engines, and
// in the pipeline (where it finds nothing in float32) everywhere else.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_mix_ffn(Graph& g);  // MixFFN nodes made

}  // namespace kiln
