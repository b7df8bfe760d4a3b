// GridSample (opset 16: 4-D, bilinear/nearest/bicubic; opset 20: N-D, linear/nearest/cubic).
// Semantics follow PyTorch's grid_sample (CPU): coordinates are unnormalized, padded
// (border clip / reflection) and then sampled; bicubic pads each tap instead of the
// coordinate; nearest rounds half to even in 2-D (nearbyint) and half away from zero in 3-D
// (std::round), as PyTorch's CPU kernels do. Coordinate math runs in float for 32/16-bit
// inputs (like PyTorch) and in double for f64.
#include <climits>
#include <cmath>

#include "ops/op_util.h"
#include "ops/spatial/spatial_ops.h"

namespace kiln::spatial {
namespace {

enum class GsMode { kLinear, kNearest, kCubic };
enum class GsPad { kZeros, kBorder, kReflection };

struct GsAttrs {
  GsMode mode = GsMode::kLinear;
  GsPad pad = GsPad::kZeros;
  bool align_corners = false;
};

GsAttrs parse_gs_attrs(const OpContextBase& ctx) {
  if (ctx.opset() < 16) ctx.unsupported("GridSample needs opset 16");
  GsAttrs g;
  const bool v20 = ctx.opset() >= 20;
  const std::string mode = ctx.attrs().get_string("mode", v20 ? "linear" : "bilinear");
  if (mode == (v20 ? "linear" : "bilinear")) g.mode = GsMode::kLinear;
  else if (mode == "nearest") g.mode = GsMode::kNearest;
  else if (mode == (v20 ? "cubic" : "bicubic")) g.mode = GsMode::kCubic;
  else ctx.invalid("mode '" + mode + "' is not valid at opset " + std::to_string(ctx.opset()));
  const std::string pad = ctx.attrs().get_string("padding_mode", "zeros");
  if (pad == "zeros") g.pad = GsPad::kZeros;
  else if (pad == "border") g.pad = GsPad::kBorder;
  else if (pad == "reflection") g.pad = GsPad::kReflection;
  else ctx.invalid("padding_mode '" + pad + "' is not valid");
  g.align_corners = ctx.attrs().get_int("align_corners", 0) != 0;
  return g;
}

void check_rank(const OpContextBase& ctx, int rank) {
  if (ctx.opset() < 20 && rank != 4)
    ctx.invalid("X must be 4-D before opset 20, got rank " + std::to_string(rank));
  if (rank < 3) ctx.invalid("X must have rank >= 3, got " + std::to_string(rank));
}

std::vector<ValueType> grid_sample_infer(const InferContext& ctx) {
  parse_gs_attrs(ctx);
  ctx.require_dtype(0, kFloatTypes);
  if (!dtype_is_float(ctx.dtype(1))) ctx.invalid("grid must be a float tensor");
  const Shape* xs = ctx.shape(0);
  const Shape* gs = ctx.shape(1);
  const DType dt = ctx.dtype(0);
  int rank = xs ? int(xs->size()) : gs ? int(gs->size()) : -1;
  if (rank < 0) return {{dt, std::nullopt}};
  check_rank(ctx, rank);
  if (xs && gs && gs->size() != xs->size()) ctx.invalid("grid rank must equal X rank");
  const int r = rank - 2;
  if (gs && gs->back().known() && gs->back().value != r)
    ctx.invalid("grid's last dimension must be " + std::to_string(r));
  Shape out(static_cast<size_t>(rank));
  out[0] = xs && (*xs)[0].known() ? (*xs)[0] : gs ? (*gs)[0] : xs ? (*xs)[0] : Dim();
  if (xs && gs && (*xs)[0].known() && (*gs)[0].known() && (*xs)[0].value != (*gs)[0].value)
    ctx.invalid("X and grid batch sizes differ");
  out[1] = xs ? (*xs)[1] : Dim();
  for (int i = 0; i < r; ++i) out[size_t(2 + i)] = gs ? (*gs)[size_t(1 + i)] : Dim();
  return {{dt, out}};
}

template <class A> A unnormalize(A g, int64_t size, bool align) {
  return align ? ((g + 1) / 2) * A(size - 1) : ((g + 1) * A(size) - 1) / 2;
}

template <class A> A clip_coord(A x, int64_t size) {
  return std::min(A(size - 1), std::max(x, A(0)));
}

// Reflects x into [twice_low/2, twice_high/2] (PyTorch's reflect_coordinates).
template <class A> A reflect_coord(A x, int64_t twice_low, int64_t twice_high) {
  if (twice_low == twice_high) return A(0);
  const A lo = A(twice_low) / 2, span = A(twice_high - twice_low) / 2;
  x = std::fabs(x - lo);
  const A extra = std::fmod(x, span);
  const A flips = std::floor(x / span);
  return std::fmod(flips, A(2)) == 0 ? extra + lo : span - extra + lo;
}

template <class A> A pad_coord(A x, int64_t size, const GsAttrs& g) {
  if (g.pad == GsPad::kBorder) {
    x = clip_coord(x, size);
  } else if (g.pad == GsPad::kReflection) {
    x = g.align_corners ? reflect_coord(x, 0, 2 * (size - 1)) : reflect_coord(x, -1, 2 * size - 1);
    x = clip_coord(x, size);
  }
  // Non-finite or huge coordinates become a far out-of-range one (PyTorch does the same).
  if (!std::isfinite(double(x)) || double(x) > double(INT_MAX) - 1 || double(x) < double(INT_MIN))
    return A(-100);
  return x;
}

template <class A> struct Tap1 {
  int64_t index;
  A weight;
  bool valid;
};

// The 1-D taps along one spatial axis for normalized coordinate g.
template <class A>
int axis_taps(A g, int64_t size, const GsAttrs& g_attrs, int spatial_rank, Tap1<A>* taps) {
  auto in_bounds = [&](int64_t i) { return i >= 0 && i < size; };
  if (g_attrs.mode == GsMode::kCubic) {
    const A x = unnormalize(g, size, g_attrs.align_corners);
    const A x0 = std::floor(x);
    const A t = x - x0;
    constexpr A a = A(-0.75);
    auto conv1 = [&](A v) { return ((a + 2) * v - (a + 3)) * v * v + 1; };
    auto conv2 = [&](A v) { return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a; };
    const A w[4] = {conv2(t + 1), conv1(t), conv1(1 - t), conv2(2 - t)};
    for (int k = 0; k < 4; ++k) {
      const A c = pad_coord(x0 - 1 + A(k), size, g_attrs);
      const auto i = int64_t(c);
      taps[k] = {i, w[k], in_bounds(i)};
    }
    return 4;
  }
  const A x = pad_coord(unnormalize(g, size, g_attrs.align_corners), size, g_attrs);
  if (g_attrs.mode == GsMode::kNearest) {
    const A r = spatial_rank == 3 ? std::round(x) : std::nearbyint(x);
    const auto i = int64_t(r);
    taps[0] = {i, A(1), in_bounds(i)};
    return 1;
  }
  const A x0 = std::floor(x);
  const auto i0 = int64_t(x0);
  taps[0] = {i0, (x0 + 1) - x, in_bounds(i0)};
  taps[1] = {i0 + 1, x - x0, in_bounds(i0 + 1)};
  return 2;
}

template <class T>
void grid_sample_typed(const Tensor& x, const Tensor& grid, const GsAttrs& g, Tensor& y) {
  using A = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int rank = x.rank(), r = rank - 2;
  const int64_t n_batch = x.dim(0), channels = x.dim(1);
  int64_t in_plane = 1, points = 1;
  for (int d = 0; d < r; ++d) {
    in_plane *= x.dim(2 + d);
    points *= grid.dim(1 + d);
  }
  Dims strides(static_cast<size_t>(r));
  int64_t stride = 1;
  for (int d = r - 1; d >= 0; --d) {
    strides[size_t(d)] = stride;
    stride *= x.dim(2 + d);
  }
  const int per_axis = g.mode == GsMode::kCubic ? 4 : g.mode == GsMode::kLinear ? 2 : 1;
  int combos = 1;
  for (int d = 0; d < r; ++d) combos *= per_axis;

  const T* in = x.data<T>();
  T* out = y.data<T>();
  std::vector<double> grid_vals(size_t(grid.numel()));
  visit_dtype(grid.dtype(), [&](auto tag) {
    using G = typename decltype(tag)::type;
    if constexpr (std::is_same_v<G, float> || std::is_same_v<G, double> ||
                  std::is_same_v<G, f16> || std::is_same_v<G, bf16>) {
      const G* p = grid.data<G>();
      for (int64_t i = 0; i < grid.numel(); ++i) grid_vals[size_t(i)] = to_double(p[i]);
    }
  });
  std::vector<int64_t> offs(size_t(points * combos));
  std::vector<A> wts(size_t(points * combos));
  for (int64_t n = 0; n < n_batch; ++n) {
    // Sampling table for this batch item: the coordinate work is shared by all channels.
    parallel_for(points, 256, [&](int64_t b, int64_t e) {
      std::vector<Tap1<A>> taps(size_t(r * 4));
      for (int64_t p = b; p < e; ++p) {
        const double* gp = grid_vals.data() + (n * points + p) * r;
        for (int d = 0; d < r; ++d)  // grid lists the last spatial axis first
          axis_taps<A>(A(gp[r - 1 - d]), x.dim(2 + d), g, r, taps.data() + d * 4);
        for (int c = 0; c < combos; ++c) {
          int64_t off = 0;
          A w = A(1);
          bool valid = true;
          int rem = c;
          for (int d = r - 1; d >= 0; --d) {  // x weight first, as PyTorch multiplies
            const Tap1<A>& t = taps[size_t(d * 4 + rem % per_axis)];
            rem /= per_axis;
            off += t.index * strides[size_t(d)];
            w *= t.weight;
            valid = valid && t.valid;
          }
          offs[size_t(p * combos + c)] = valid ? off : 0;
          wts[size_t(p * combos + c)] = valid ? w : A(0);
        }
      }
    });
    const T* xin = in + n * channels * in_plane;
    T* yout = out + n * channels * points;
    parallel_for(channels * points, 1024, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t c = i / points, p = i % points;
        const T* plane = xin + c * in_plane;
        A acc = A(0);
        for (int k = 0; k < combos; ++k) {
          const A w = wts[size_t(p * combos + k)];
          if (w != A(0)) acc += w * A(to_double(plane[offs[size_t(p * combos + k)]]));
        }
        yout[i] = from_double<T>(double(acc));
      }
    });
  }
}

std::vector<Tensor> grid_sample_cpu(const KernelContext& ctx) {
  const GsAttrs g = parse_gs_attrs(ctx);
  const Tensor& x = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  if (!dtype_is_float(x.dtype()))
    ctx.unsupported(std::string("X of type ") + dtype_name(x.dtype()) + " is not supported");
  if (!dtype_is_float(grid.dtype())) ctx.invalid("grid must be a float tensor");
  check_rank(ctx, x.rank());
  const int r = x.rank() - 2;
  if (grid.rank() != x.rank()) ctx.invalid("grid rank must equal X rank");
  if (grid.dim(0) != x.dim(0)) ctx.invalid("X and grid batch sizes differ");
  if (grid.dims().back() != r)
    ctx.invalid("grid's last dimension must be " + std::to_string(r));
  Dims out_dims = {x.dim(0), x.dim(1)};
  for (int d = 0; d < r; ++d) out_dims.push_back(grid.dim(1 + d));
  Tensor y(x.dtype(), out_dims);
  if (y.numel() == 0) return {y};
  for (int d = 0; d < r; ++d)
    if (x.dim(2 + d) == 0) ctx.invalid("cannot sample from an empty spatial axis");
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                  std::is_same_v<T, f16> || std::is_same_v<T, bf16>)
      grid_sample_typed<T>(x, grid, g, y);
  });
  return {y};
}

}  // namespace

void register_grid_sample(OpRegistry& r) {
  r.add({.domain = "",
         .name = "GridSample",
         .min_inputs = 2,
         .max_inputs = 2,
         .infer = grid_sample_infer,
         .cpu = grid_sample_cpu});
}

}  // namespace kiln::spatial
