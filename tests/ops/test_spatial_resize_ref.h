// Independent double-precision Resize reference for the tests: follows the spec's
// formulation literally (neighbours chosen as the n nearest indices of an edge-padded axis,
// ties to the lower index; N-D as nested 1-D interpolations), not the kernel's tap tables.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "ir/tensor.h"

namespace kiln::test::resize_ref {

struct Params {
  std::string mode = "nearest";
  std::string coord = "half_pixel";
  std::string nearest = "round_prefer_floor";
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0.0;
};

struct Axis {
  int64_t in, out;
  double scale;           // output / input
  double len_resized;     // scale * in
  double roi_start = 0.0, roi_end = 1.0;
};

inline double coord_of(const Params& p, const Axis& a, double x, bool* outside) {
  const double L = double(a.in), s = a.scale, Lr = a.len_resized;
  *outside = false;
  if (p.coord == "half_pixel") return (x + 0.5) / s - 0.5;
  if (p.coord == "pytorch_half_pixel") return a.out > 1 ? (x + 0.5) / s - 0.5 : 0.0;
  if (p.coord == "asymmetric") return x / s;
  if (p.coord == "tf_half_pixel_for_nn") return (x + 0.5) / s;
  if (p.coord == "align_corners") return Lr == 1.0 ? 0.0 : x * (L - 1) / (Lr - 1);
  if (p.coord == "half_pixel_symmetric") {
    const double adj = double(a.out) / Lr;
    return L / 2 * (1 - adj) + (x + 0.5) / s - 0.5;
  }
  // tf_crop_and_resize
  double xo = Lr == 1.0 ? (a.roi_end - a.roi_start) * (L - 1) / 2
                        : x * (a.roi_end - a.roi_start) * (L - 1) / (Lr - 1);
  xo += a.roi_start * (L - 1);
  *outside = xo < 0 || xo > L - 1;
  return xo;
}

inline double keys(double t, double A) {
  t = std::fabs(t);
  if (t <= 1) return (A + 2) * t * t * t - (A + 3) * t * t + 1;
  if (t < 2) return A * t * t * t - 5 * A * t * t + 8 * A * t - 4 * A;
  return 0;
}

// Coefficients for ratio in (0, 1] (ratio 1: x is an integer; neighbours then lie below it).
inline std::vector<double> coeffs(const Params& p, double ratio, double scale) {
  if (p.mode == "nearest") {
    if (ratio == 1.0) return {0, 1};
    bool up = p.nearest == "round_prefer_floor" ? ratio > 0.5
              : p.nearest == "round_prefer_ceil" ? ratio >= 0.5
              : p.nearest == "ceil";
    return {up ? 0.0 : 1.0, up ? 1.0 : 0.0};
  }
  const double s = p.antialias ? std::min(scale, 1.0) : 1.0;
  std::vector<double> c;
  if (p.mode == "linear") {
    const int start = int(std::floor(-1 / s)) + 1;
    for (int i = start; i < 2 - start; ++i) c.push_back(std::max(0.0, 1 - std::fabs((i - ratio) * s)));
  } else {
    const int start = int(std::floor(-2 / s)) + 1;
    for (int i = start; i < 2 - start; ++i) c.push_back(keys(s * (i - ratio), p.cubic_a));
  }
  double sum = 0;
  for (double v : c) sum += v;
  for (double& v : c) v /= sum;
  return c;
}

// The n indices nearest to x (ties: lower index first), in [-pad, len + pad), ascending.
inline std::vector<int64_t> neighbours(double x, int n, int64_t len) {
  const int64_t pad = (n + 1) / 2;
  std::vector<int64_t> idx;
  // Candidates near x only (the n nearest always lie within n of floor(x)).
  const auto fl = int64_t(std::floor(x));
  for (int64_t i = std::max(-pad, fl - n - 1); i < std::min(len + pad, fl + n + 2); ++i) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    double da = std::fabs(x - double(a)), db = std::fabs(x - double(b));
    return da != db ? da < db : a < b;
  });
  idx.resize(static_cast<size_t>(n));
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Resizes `data` (dims) to the axes' output lengths.
inline std::vector<double> resize(const Params& p, const std::vector<double>& data,
                                  const Dims& dims, const std::vector<Axis>& axes) {
  const int rank = int(dims.size());
  Dims out_dims;
  for (const Axis& a : axes) out_dims.push_back(a.out);
  int64_t total = 1;
  for (int64_t d : out_dims) total *= d;
  std::vector<int64_t> in_strides(size_t(rank), 1);
  for (int d = rank - 2; d >= 0; --d) in_strides[size_t(d)] = in_strides[size_t(d + 1)] * dims[size_t(d + 1)];
  std::vector<double> out(static_cast<size_t>(total));
  std::vector<int64_t> oi(static_cast<size_t>(rank));
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t rem = flat;
    for (int d = rank - 1; d >= 0; --d) {
      oi[size_t(d)] = rem % out_dims[size_t(d)];
      rem /= out_dims[size_t(d)];
    }
    // Per axis: the contributing (index, weight) pairs.
    std::vector<std::vector<std::pair<int64_t, double>>> taps(static_cast<size_t>(rank));
    bool outside_any = false;
    for (int d = 0; d < rank; ++d) {
      const Axis& a = axes[size_t(d)];
      bool outside = false;
      const double x = coord_of(p, a, double(oi[size_t(d)]), &outside);
      outside_any = outside_any || outside;
      const double fl = std::floor(x);
      const double ratio = x == fl ? 1.0 : x - fl;
      std::vector<double> c = coeffs(p, ratio, a.scale);
      std::vector<int64_t> nb = neighbours(x, int(c.size()), a.in);
      if (p.exclude_outside && p.mode != "nearest") {
        double sum = 0;
        for (size_t k = 0; k < c.size(); ++k) {
          if (nb[k] < 0 || nb[k] >= a.in) c[k] = 0;
          sum += c[k];
        }
        for (double& v : c) v /= sum;
      }
      for (size_t k = 0; k < c.size(); ++k)
        taps[size_t(d)].push_back({std::clamp<int64_t>(nb[k], 0, a.in - 1), c[k]});
    }
    if (outside_any) {
      out[size_t(flat)] = p.extrapolation;
      continue;
    }
    // Tensor-product sum over the per-axis neighbours.
    std::function<double(int, int64_t)> nest = [&](int d, int64_t base) -> double {
      if (d == rank) return data[size_t(base)];
      double acc = 0;
      for (const auto& [i, w] : taps[size_t(d)]) acc += w * nest(d + 1, base + i * in_strides[size_t(d)]);
      return acc;
    };
    out[size_t(flat)] = nest(0, 0);
  }
  return out;
}

}  // namespace kiln::test::resize_ref
