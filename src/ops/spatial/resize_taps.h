// Per-axis sampling taps for Resize: for every output coordinate along one axis, which input
// indices contribute with which weights. N-D Resize is separable, so the kernel is a product
// of these 1-D tables.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/spatial/resize_plan.h"

namespace kiln::spatial {

struct AxisTaps {
  int64_t in = 0;
  int64_t out = 0;
  int taps = 1;                  // entries per output coordinate
  std::vector<int64_t> index;    // out * taps, clamped into [0, in) (edge padding)
  std::vector<double> weight;    // out * taps
  std::vector<uint8_t> outside;  // out; tf_crop_and_resize points outside the input
  bool any_outside = false;
  bool identity = false;         // out[i] == in[i] for every i: the axis can be skipped
};

// The input coordinate that output coordinate o maps to (the coordinate transformation).
double resize_source_coord(const ResizeAttrs& a, const AxisPlan& p, int64_t o);

// Nearest-mode input index (before clamping) for source coordinate x.
int64_t resize_nearest_index(NearestMode mode, double x);

// Builds the taps of one axis for the attributes' mode (nearest: one tap of weight 1).
AxisTaps make_axis_taps(const ResizeAttrs& a, const AxisPlan& p);

// Two taps an output that copy: index i with weight 1, then weight 0, at every i (whatever the
// mode gave the second tap's index).
bool taps_copy(const AxisTaps& t);

}  // namespace kiln::spatial
