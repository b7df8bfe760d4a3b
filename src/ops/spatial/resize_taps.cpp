#include "ops/spatial/resize_taps.h"

#include <algorithm>
#include <cmath>

namespace kiln::spatial {
namespace {

// Keys' cubic convolution kernel with parameter A, |t| in [0, 2).
double cubic_kernel(double t, double A) {
  t = std::fabs(t);
  if (t <= 1.0) return ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0;
  if (t < 2.0) return ((A * t - 5.0 * A) * t + 8.0 * A) * t - 4.0 * A;
  return 0.0;
}

}  // namespace

double resize_source_coord(const ResizeAttrs& a, const AxisPlan& p, int64_t o) {
  const double x = double(o), s = p.scale, len_in = double(p.in), len_out = p.length_resized;
  switch (a.coord) {
    case CoordMode::kHalfPixel:
      return (x + 0.5) / s - 0.5;
    case CoordMode::kHalfPixelSymmetric: {
      // Centres the (possibly truncated) output on the input: only differs from half_pixel
      // when scale * in is not an integer.
      double adjustment = double(p.out) / len_out;
      double offset = len_in / 2.0 * (1.0 - adjustment);
      return offset + (x + 0.5) / s - 0.5;
    }
    case CoordMode::kPytorchHalfPixel:
      return p.out > 1 ? (x + 0.5) / s - 0.5 : 0.0;
    case CoordMode::kAlignCorners:
      // The ONNX reference (and its conformance data) divides by scale * in - 1, not out - 1.
      return len_out == 1.0 ? 0.0 : x * (len_in - 1.0) / (len_out - 1.0);
    case CoordMode::kAsymmetric:
      return x / s;
    case CoordMode::kTfHalfPixelForNn:
      return (x + 0.5) / s;
    case CoordMode::kTfCropAndResize: {
      const double span = (p.roi_end - p.roi_start) * (len_in - 1.0);
      if (len_out == 1.0) return p.roi_start * (len_in - 1.0) + span / 2.0;
      return p.roi_start * (len_in - 1.0) + x * span / (len_out - 1.0);
    }
  }
  return 0.0;
}

int64_t resize_nearest_index(NearestMode mode, double x) {
  const double fl = std::floor(x);
  const double frac = x - fl;
  const auto i = int64_t(fl);
  if (frac == 0.0) return i;
  switch (mode) {
    case NearestMode::kRoundPreferFloor:
      return frac <= 0.5 ? i : i + 1;
    case NearestMode::kRoundPreferCeil:
      return frac < 0.5 ? i : i + 1;
    case NearestMode::kFloor:
      return i;
    case NearestMode::kCeil:
      return i + 1;
  }
  return i;
}

AxisTaps make_axis_taps(const ResizeAttrs& a, const AxisPlan& p) {
  AxisTaps t;
  t.in = p.in;
  t.out = p.out;
  t.outside.assign(size_t(p.out), 0);
  // Antialiasing stretches the filter by 1/scale when downsampling (linear and cubic only).
  const bool stretch = a.antialias && a.mode != ResizeMode::kNearest && p.scale < 1.0;
  const double fs = stretch ? p.scale : 1.0;
  int start = 0;  // first tap's offset from floor(x)
  switch (a.mode) {
    case ResizeMode::kNearest:
      t.taps = 1;
      break;
    case ResizeMode::kLinear:
      start = stretch ? int(std::floor(-1.0 / fs)) + 1 : 0;
      t.taps = 2 - 2 * start;
      break;
    case ResizeMode::kCubic:
      start = stretch ? int(std::floor(-2.0 / fs)) + 1 : -1;
      t.taps = 2 - 2 * start;
      break;
  }
  const size_t n = size_t(p.out) * size_t(t.taps);
  t.index.assign(n, 0);
  t.weight.assign(n, 0.0);
  const int64_t last = std::max<int64_t>(p.in - 1, 0);
  for (int64_t o = 0; o < p.out; ++o) {
    const double x = resize_source_coord(a, p, o);
    if (a.coord == CoordMode::kTfCropAndResize && (x < 0.0 || x > double(p.in - 1))) {
      t.outside[size_t(o)] = 1;
      t.any_outside = true;
    }
    int64_t* idx = &t.index[size_t(o) * size_t(t.taps)];
    double* w = &t.weight[size_t(o) * size_t(t.taps)];
    if (a.mode == ResizeMode::kNearest) {
      idx[0] = std::clamp<int64_t>(resize_nearest_index(a.nearest, x), 0, last);
      w[0] = 1.0;
      continue;
    }
    const double fl = std::floor(x);
    const double r = x - fl;
    const auto base = int64_t(fl);
    for (int k = 0; k < t.taps; ++k) {
      const double d = fs * (double(start + k) - r);  // scaled distance from x
      idx[k] = base + start + k;
      w[k] = a.mode == ResizeMode::kLinear ? std::max(0.0, 1.0 - std::fabs(d))
                                           : cubic_kernel(d, a.cubic_a);
    }
    if (a.mode == ResizeMode::kCubic && !stretch) {
      // Keys' polynomial in the ONNX form, evaluated per tap so the taps sum to 1 exactly.
      const double A = a.cubic_a;
      w[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
      w[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
      w[2] = ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1;
      w[3] = ((A * (2 - r) - 5 * A) * (2 - r) + 8 * A) * (2 - r) - 4 * A;
    }
    double sum = 0.0;
    for (int k = 0; k < t.taps; ++k) {
      if (a.exclude_outside && (idx[k] < 0 || idx[k] >= p.in)) w[k] = 0.0;
      sum += w[k];
    }
    if ((stretch || a.exclude_outside) && sum != 0.0)
      for (int k = 0; k < t.taps; ++k) w[k] /= sum;
    for (int k = 0; k < t.taps; ++k) idx[k] = std::clamp<int64_t>(idx[k], 0, last);
  }
  // Identity: every output takes exactly its own input element (then the axis is skipped).
  t.identity = p.in == p.out && !t.any_outside;
  for (int64_t o = 0; o < p.out && t.identity; ++o) {
    double own = 0.0;
    for (int k = 0; k < t.taps; ++k) {
      const size_t j = size_t(o) * size_t(t.taps) + size_t(k);
      if (t.index[j] == o) own += t.weight[j];
      else if (t.weight[j] != 0.0) t.identity = false;
    }
    if (own != 1.0) t.identity = false;
  }
  return t;
}

bool taps_copy(const AxisTaps& t) {
  if (t.in != t.out || t.taps != 2) return false;
  for (int64_t i = 0; i < t.out; ++i)
    if (t.index[size_t(2 * i)] != i || t.weight[size_t(2 * i)] != 1.0 || t.weight[size_t(2 * i + 1)] != 0.0) return false;
  return true;
}

}  // namespace kiln::spatial
