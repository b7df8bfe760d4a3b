// Resize's attributes and per-axis plan (output length, scale, roi), shared by shape inference
// and the CPU kernel so both agree on the output shape.
#pragma once
#include <optional>
#include <vector>

#include "ops/op.h"

namespace kiln::spatial {

enum class ResizeMode { kNearest, kLinear, kCubic };
enum class CoordMode {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize
};
enum class NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };
enum class AspectPolicy { kStretch, kNotLarger, kNotSmaller };

struct ResizeAttrs {
  ResizeMode mode = ResizeMode::kNearest;
  CoordMode coord = CoordMode::kHalfPixel;
  NearestMode nearest = NearestMode::kRoundPreferFloor;
  AspectPolicy policy = AspectPolicy::kStretch;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0.0;
  std::vector<int64_t> raw_axes;  // as given (opset >= 18); empty: every axis
};

// Validates and reads the attributes for the node's opset (unknown strings: model error).
ResizeAttrs parse_resize_attrs(const OpContextBase& ctx);

// The resized axes (normalized, in the order roi/scales/sizes list them).
std::vector<int> resize_axes(const OpContextBase& ctx, const ResizeAttrs& attrs, int rank);

struct AxisPlan {
  int64_t in = 0;
  int64_t out = 0;
  double scale = 1.0;            // output/input as the coordinate transforms use it
  double length_resized = 0.0;   // scale * in (sizes given without policy: exactly out)
  double roi_start = 0.0, roi_end = 1.0;
};

// Output lengths and scales for every axis from either scales or sizes (exactly one given,
// one entry per resized axis) and the optional roi (2 entries per resized axis).
std::vector<AxisPlan> plan_resize(const OpContextBase& ctx, const ResizeAttrs& attrs,
                                  const Dims& in_dims, const std::vector<double>* scales,
                                  const std::vector<int64_t>* sizes,
                                  const std::vector<double>* roi);

}  // namespace kiln::spatial
