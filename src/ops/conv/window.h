// Sliding-window geometry shared by Conv, ConvTranspose and the pools: attribute parsing
// (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode), output extents, and a
// normalized 3-D form so kernels need one code path for 1-D, 2-D and 3-D.
#pragma once
#include <array>

#include "ops/op_util.h"

namespace kiln::conv {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

// Spatial ranks kiln implements (ONNX allows more; we report those as unsupported).
inline constexpr int kMaxSpatial = 3;

struct WindowAttrs {
  int n = 0;             // spatial rank
  Dims kernel;           // empty when not known (Conv without kernel_shape, W dims unknown)
  Dims strides;          // n, each >= 1
  Dims dilations;        // n, each >= 1
  Dims pads;             // 2n: begins then ends, each >= 0 (used only with NOTSET)
  AutoPad auto_pad = AutoPad::kNotSet;
  bool ceil_mode = false;  // pools only
};

// Reads and validates the window attributes for n spatial axes. `kernel` comes from
// kernel_shape when present (must be n long), else from `kernel_fallback` (may be empty).
WindowAttrs read_window(const OpContextBase& ctx, int n, const Dims& kernel_fallback,
                        bool read_ceil_mode);

// Checks rank is 3..5 (1-3 spatial axes), else invalid (< 3) or unsupported (> 5).
int spatial_rank(const OpContextBase& ctx, int rank, const char* what);

// One axis of a forward window: out[o] reads in[o*s - pb + k*d] for k in [0, kernel).
struct Axis {
  int64_t in = 1, out = 1, k = 1, s = 1, d = 1, pb = 0, pe = 0;
  int64_t extent() const { return (k - 1) * d + 1; }
};

// Resolves pads for this input extent and computes the output extent (Conv: pool = false;
// pools apply ceil_mode). Inputs too small for the window are a model error.
Axis forward_axis(const OpContextBase& ctx, const WindowAttrs& w, int axis, int64_t in, bool pool);

// Output dim for shape inference; unknown input or kernel gives an unknown Dim.
Dim forward_dim(const OpContextBase& ctx, const WindowAttrs& w, int axis, const Dim& in, bool pool);

// Up to three axes padded on the left with unit axes: ax[0..2] = D, H, W.
struct Geom3 {
  std::array<Axis, 3> ax;
  int64_t in_size() const { return ax[0].in * ax[1].in * ax[2].in; }
  int64_t out_size() const { return ax[0].out * ax[1].out * ax[2].out; }
  int64_t kernel_size() const { return ax[0].k * ax[1].k * ax[2].k; }
};
Geom3 to_geom3(const std::vector<Axis>& axes);

// The range [lo, hi) of o in [0, count) with 0 <= o*s + offset < in.
void valid_range(int64_t offset, int64_t s, int64_t in, int64_t count, int64_t& lo, int64_t& hi);

}  // namespace kiln::conv
