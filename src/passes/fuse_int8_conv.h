// The INT8 convolution fusion, beside fuse_int8_matmul:
//
//   X ─QuantizeLinear(s_x, 0:int8)─DequantizeLinear(s_x, 0)─┐
//                                                            Conv | kiln.FusedConv ─▶ Y
//   W int8 [O, C, kh, kw] ─DequantizeLinear(s_w [O] on axis 0 | one s_w, zero 0)─┘
//     ⇒  kiln.Int8Conv(X, s_x, W, s_w, [B], [Z]) ─▶ Y        (Conv's attributes, FusedConv's activation)
//
// The activation operand as fuse_int8_matmul takes it (float32, symmetric int8, one scale);
// 2-D convolutions with group 1 and C·kh·kw ≤ kInt8MaxK; per-channel scales along the output
// channels only; B and Z float32. Grouped and depthwise convolutions, 1-D/3-D ones and anything
// else stay as they are.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_int8_conv(Graph& g);  // convolutions fused

}  // namespace kiln
