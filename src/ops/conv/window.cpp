#include "ops/conv/window.h"

#include <algorithm>

namespace kiln::conv {
namespace {

std::string list(const Dims& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "]";
}

Dims read_positive(const OpContextBase& ctx, const char* name, size_t len) {
  Dims v = ctx.attrs().get_ints(name, Dims(len, 1));
  if (v.size() != len)
    ctx.invalid(std::string(name) + " " + list(v) + " must have " + std::to_string(len) +
                " values");
  for (int64_t x : v)
    if (x < 1) ctx.invalid(std::string(name) + " " + list(v) + " must be positive");
  return v;
}

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

int spatial_rank(const OpContextBase& ctx, int rank, const char* what) {
  if (rank < 3)
    ctx.invalid(std::string(what) + " has rank " + std::to_string(rank) +
                "; expected N x C x spatial dims");
  if (rank - 2 > kMaxSpatial)
    ctx.unsupported(std::to_string(rank - 2) + " spatial dimensions (kiln supports 1 to 3)");
  return rank - 2;
}

WindowAttrs read_window(const OpContextBase& ctx, int n, const Dims& kernel_fallback,
                        bool read_ceil_mode) {
  WindowAttrs w;
  w.n = n;
  if (ctx.attrs().has("kernel_shape")) {
    w.kernel = read_positive(ctx, "kernel_shape", size_t(n));
    if (!kernel_fallback.empty() && kernel_fallback != w.kernel)
      ctx.invalid("kernel_shape " + list(w.kernel) + " disagrees with the weights' spatial dims " +
                  list(kernel_fallback));
  } else {
    w.kernel = kernel_fallback;
  }
  w.strides = read_positive(ctx, "strides", size_t(n));
  w.dilations = read_positive(ctx, "dilations", size_t(n));
  w.pads = ctx.attrs().get_ints("pads", Dims(size_t(2 * n), 0));
  if (w.pads.size() != size_t(2 * n))
    ctx.invalid("pads " + list(w.pads) + " must have " + std::to_string(2 * n) + " values");
  for (int64_t p : w.pads)
    if (p < 0) ctx.unsupported("negative pads " + list(w.pads));
  std::string ap = ctx.attrs().get_string("auto_pad", "NOTSET");
  if (ap == "NOTSET") w.auto_pad = AutoPad::kNotSet;
  else if (ap == "SAME_UPPER") w.auto_pad = AutoPad::kSameUpper;
  else if (ap == "SAME_LOWER") w.auto_pad = AutoPad::kSameLower;
  else if (ap == "VALID") w.auto_pad = AutoPad::kValid;
  else ctx.invalid("unknown auto_pad '" + ap + "'");
  if (read_ceil_mode) {
    int64_t c = ctx.attrs().get_int("ceil_mode", 0);
    if (c != 0 && c != 1) ctx.invalid("ceil_mode must be 0 or 1, got " + std::to_string(c));
    w.ceil_mode = c == 1;
  }
  return w;
}

Axis forward_axis(const OpContextBase& ctx, const WindowAttrs& w, int axis, int64_t in, bool pool) {
  KILN_ASSERT(!w.kernel.empty());
  Axis a;
  a.in = in;
  a.k = w.kernel[size_t(axis)];
  a.s = w.strides[size_t(axis)];
  a.d = w.dilations[size_t(axis)];
  const int64_t ext = a.extent();
  if (in < 1) ctx.invalid("spatial axis " + std::to_string(axis) + " is empty");
  switch (w.auto_pad) {
    case AutoPad::kNotSet: {
      a.pb = w.pads[size_t(axis)];
      a.pe = w.pads[size_t(axis + w.n)];
      int64_t span = in + a.pb + a.pe - ext;
      if (span < 0)
        ctx.invalid("window extent " + std::to_string(ext) + " exceeds padded input " +
                    std::to_string(in + a.pb + a.pe) + " on spatial axis " + std::to_string(axis));
      a.out = span / a.s + 1;
      if (pool && w.ceil_mode) {
        a.out = (span + a.s - 1) / a.s + 1;
        // A last window that would start inside the end padding is dropped.
        if ((a.out - 1) * a.s >= in + a.pb) --a.out;
      }
      break;
    }
    case AutoPad::kValid:
      if (in < ext)
        ctx.invalid("window extent " + std::to_string(ext) + " exceeds input " +
                    std::to_string(in) + " on spatial axis " + std::to_string(axis));
      a.out = (in - ext) / a.s + 1;
      break;
    case AutoPad::kSameUpper:
    case AutoPad::kSameLower: {
      a.out = (in + a.s - 1) / a.s;
      int64_t total = std::max<int64_t>(0, (a.out - 1) * a.s + ext - in);
      int64_t small = total / 2, big = total - total / 2;
      a.pb = w.auto_pad == AutoPad::kSameUpper ? small : big;
      a.pe = total - a.pb;
      break;
    }
  }
  return a;
}

Dim forward_dim(const OpContextBase& ctx, const WindowAttrs& w, int axis, const Dim& in, bool pool) {
  if (!in.known() || w.kernel.empty()) return Dim();
  return Dim(forward_axis(ctx, w, axis, in.value, pool).out);
}

Geom3 to_geom3(const std::vector<Axis>& axes) {
  KILN_ASSERT(!axes.empty() && axes.size() <= 3);
  Geom3 g;
  size_t off = 3 - axes.size();
  for (size_t i = 0; i < axes.size(); ++i) g.ax[off + i] = axes[i];
  return g;
}

void valid_range(int64_t offset, int64_t s, int64_t in, int64_t count, int64_t& lo, int64_t& hi) {
  // o*s + offset >= 0  <=>  o >= ceil(-offset / s);  o*s + offset <= in - 1.
  lo = offset >= 0 ? 0 : (-offset + s - 1) / s;
  hi = in - 1 - offset < 0 ? 0 : floor_div(in - 1 - offset, s) + 1;
  lo = std::min(lo, count);
  hi = std::clamp(hi, lo, count);
}

}  // namespace kiln::conv
