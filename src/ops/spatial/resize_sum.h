// ResizeSum (domain "kiln"): feature maps bilinearly resized to one size and summed, optionally
// through a Relu, in one pass over the output. Put in the graph by passes/fuse_resize_sum in
// place of SegFormer's decode head
//   tokens ─▶ Transpose(0,2,1) ─▶ Reshape ─▶ Resize(linear) ─▶ Add ─▶ ... ─▶ [Relu]
//
//   X_i  [B, C, h_i, w_i] (layout "nchw") or tokens [B, h_i*w_i, C] (layout "tokens": row-major
//        (y, x) pixels, channels last, so the Transpose + Reshape in front need not run)
//   Y    [B, C, height, width] with
//        Y[b,c,y,x] = act( Σ_i Σ_{j,k<2} wy_i[y,j]·wx_i[x,k]·X_i[b, c, iy_i[y,j], ix_i[x,k]] )
// where (iy, wy) and (ix, wx) are ONNX Resize's mode "linear" taps for the input's
// coordinate_transformation_mode (resize_taps.h, edge-clamped; no antialias, exclude_outside 0).
// An input already at height x width with half_pixel and scale 1 is taken as is (weights 1, 0).
//
// Attributes (lists hold one entry per input; scales two):
//   height, width                     output size (required)
//   layouts                           "nchw" | "tokens"
//   input_heights, input_widths       h_i, w_i (checked against the nchw inputs' dims)
//   coordinate_transformation_modes   Resize's, every mode but tf_crop_and_resize
//   scales                            (h, w) per input: Resize's `scales`, or 0 where Resize had
//                                     `sizes` (then scale = out / in, as Resize computes it)
//   activation                        "none" (default) | "relu"
#pragma once
#include <vector>

#include "ops/op.h"
#include "ops/spatial/resize_taps.h"

namespace kiln::spatial {

inline constexpr const char* kResizeSumOp = "ResizeSum";
// Inputs one node may sum: the CUDA kernel takes them in one parameter block.
inline constexpr int kResizeSumMaxInputs = 8;

struct ResizeSumInput {
  bool tokens = false;
  int64_t height = 0, width = 0;
  AxisTaps rows, cols;  // 2 taps per output row / column
};

struct ResizeSumPlan {
  int64_t batch = 0, channels = 0, height = 0, width = 0;
  bool relu = false;
  std::vector<ResizeSumInput> inputs;
};

// Reads and checks the attributes against the inputs' static dims, then builds every input's
// taps. Errors name the node (invalid model / unsupported).
ResizeSumPlan plan_resize_sum(const OpContextBase& ctx, const std::vector<Dims>& input_dims);

// Shape inference on the inputs' types (shapes as far as known): Y's type, or an error naming the
// node. kiln.ResizeSumConv checks its feature maps with it.
ValueType resize_sum_type(const OpContextBase& ctx, const std::vector<ValueType>& inputs);

}  // namespace kiln::spatial
