// ResizeSumPointwiseConv (domain "kiln"): ResizeSum (resize_sum.h) followed by a 1x1 Conv, in
// one node so that the summed feature map never reaches memory. Put in the graph by
// passes/fuse_resize_sum_pointwise_conv in place of SegFormer's decode head and classifier:
//
//   W  [Co, C]   the Conv's weight (its [Co, C, 1, 1] reshaped)
//   B  [Co]      the Conv's bias, optional ("" when absent)
//   X_i          ResizeSum's inputs, i = 0 .. n-1 (inputs 2 .. n+1), with ResizeSum's attributes
//   Y  [batch, Co, height, width],
//        h[b,:,y,x] = ResizeSum(X_0 .. X_{n-1})[b,:,y,x], rounded to the X's type
//        Y[b,o,y,x] = Σ_c W[o,c] · h[b,c,y,x] + B[o]
// h is rounded to the storage type exactly where the unfused ResizeSum would write it, so the
// fused node computes what ResizeSum + Conv compute up to the GEMM's summation order.
//
// Types: X_i and W one float type; B that type too, or float32 for float16 X (the mixed form
// of fp16 engines, precision_islands.h: Y is then float32, as Conv's mixed form writes it).
#pragma once
#include "ops/op.h"

namespace kiln::spatial {

inline constexpr const char* kResizeSumPointwiseConvOp = "ResizeSumPointwiseConv";
// Slots of W and B; the images start at kResizeSumConvFirstImage.
inline constexpr size_t kResizeSumConvWeight = 0, kResizeSumConvBias = 1, kResizeSumConvFirstImage = 2;

}  // namespace kiln::spatial
