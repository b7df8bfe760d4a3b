// ONNX MaxPool (opset 12+: with Indices, storage_order, dilations, int8/uint8), AveragePool
// (count_include_pad; dilations from opset 19) and LpPool (ceil_mode, dilations from 18).
#include <cmath>
#include <limits>

#include "ops/conv/conv_ops.h"
#include "ops/conv/window.h"

namespace kiln::conv {
namespace {

enum class PoolKind { kMax, kAverage, kLp };

struct PoolParams {
  PoolKind kind;
  bool count_include_pad = false;
  double p = 2.0;
  bool column_major = false;  // MaxPool storage_order 1: Indices over transposed spatial dims
};

PoolParams read_params(const OpContextBase& ctx, PoolKind kind) {
  PoolParams pp{kind};
  const Attributes& a = ctx.attrs();
  if (kind == PoolKind::kAverage) {
    int64_t c = a.get_int("count_include_pad", 0);
    if (c != 0 && c != 1) ctx.invalid("count_include_pad must be 0 or 1");
    pp.count_include_pad = c == 1;
  } else if (kind == PoolKind::kLp) {
    int64_t p = a.get_int("p", 2);
    if (p < 1) ctx.invalid("p must be positive, got " + std::to_string(p));
    pp.p = double(p);
  } else {
    int64_t so = a.get_int("storage_order", 0);
    if (so != 0 && so != 1) ctx.invalid("storage_order must be 0 or 1");
    pp.column_major = so == 1;
  }
  return pp;
}

Shape pool_shape(const OpContextBase& ctx, const Shape& x, std::vector<Axis>* axes) {
  const int n = spatial_rank(ctx, int(x.size()), "X");
  if (!ctx.attrs().has("kernel_shape")) ctx.invalid("kernel_shape is required");
  WindowAttrs win = read_window(ctx, n, {}, true);
  if (win.auto_pad == AutoPad::kNotSet)
    for (int i = 0; i < 2 * n; ++i) {
      const int ax = i % n;
      if (win.pads[size_t(i)] >= (win.kernel[size_t(ax)] - 1) * win.dilations[size_t(ax)] + 1)
        ctx.invalid("pads must be smaller than the window on spatial axis " + std::to_string(ax));
    }
  Shape out = {x[0], x[1]};
  for (int i = 0; i < n; ++i) {
    const Dim& in = x[size_t(2 + i)];
    out.push_back(forward_dim(ctx, win, i, in, true));
    if (axes && in.known()) axes->push_back(forward_axis(ctx, win, i, in.value, true));
  }
  return out;
}

// Taps of one window along one axis: valid [lo, hi) and, for count_include_pad, how many
// fall inside the padded extent.
struct Taps {
  int64_t start, lo, hi, padded;
};
Taps taps(const Axis& a, int64_t o) {
  Taps t;
  t.start = o * a.s - a.pb;
  valid_range(t.start, a.d, a.in, a.k, t.lo, t.hi);
  int64_t plo, phi;
  valid_range(t.start + a.pb, a.d, a.in + a.pb + a.pe, a.k, plo, phi);
  t.padded = phi - plo;
  return t;
}

std::vector<Taps> axis_taps(const Axis& a) {
  std::vector<Taps> t(size_t(a.out));
  for (int64_t o = 0; o < a.out; ++o) t[size_t(o)] = taps(a, o);
  return t;
}

// One pooled value per output position. K and kIndices are compile-time so the max path
// without Indices is a bare compare loop.
template <PoolKind K, bool kIndices, class T>
void pool_kernel(const PoolParams& pp, const T* x, T* y, int64_t* indices, int64_t planes,
                 const Geom3& g) {
  const Axis &A = g.ax[0], &B = g.ax[1], &E = g.ax[2];
  const int64_t pin = g.in_size(), P = g.out_size();
  const std::vector<Taps> tas = axis_taps(A), tbs = axis_taps(B), tes = axis_taps(E);
  parallel_for(planes, 1, [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      const T* xp = x + nc * pin;
      int64_t q = nc * P;
      for (const Taps& ta : tas)
        for (const Taps& tb : tbs)
          for (const Taps& te : tes) {
            double acc = K == PoolKind::kMax ? -std::numeric_limits<double>::infinity() : 0;
            int64_t best = -1;
            for (int64_t ka = ta.lo; ka < ta.hi; ++ka) {
              const int64_t id = ta.start + ka * A.d;
              for (int64_t kb = tb.lo; kb < tb.hi; ++kb) {
                const int64_t ih = tb.start + kb * B.d;
                const T* xrow = xp + (id * B.in + ih) * E.in + te.start;
                for (int64_t ke = te.lo; ke < te.hi; ++ke) {
                  const double v = to_double(xrow[ke * E.d]);
                  if constexpr (K == PoolKind::kMax && kIndices) {
                    if (v > acc || best < 0) {
                      acc = v;
                      const int64_t iw = te.start + ke * E.d;
                      best = pp.column_major ? id + ih * A.in + iw * A.in * B.in
                                             : (id * B.in + ih) * E.in + iw;
                    }
                  } else if constexpr (K == PoolKind::kMax) {
                    if (v > acc) acc = v;
                    best = 0;
                  } else if constexpr (K == PoolKind::kAverage) {
                    acc += v;
                  } else {
                    acc += pp.p == 2 ? v * v : std::pow(std::fabs(v), pp.p);
                  }
                }
              }
            }
            const int64_t valid = (ta.hi - ta.lo) * (tb.hi - tb.lo) * (te.hi - te.lo);
            if constexpr (K == PoolKind::kAverage) {
              const int64_t count =
                  pp.count_include_pad ? ta.padded * tb.padded * te.padded : valid;
              acc = count > 0 ? acc / double(count) : std::numeric_limits<double>::quiet_NaN();
            } else if constexpr (K == PoolKind::kLp) {
              acc = pp.p == 1 ? acc : pp.p == 2 ? std::sqrt(acc) : std::pow(acc, 1.0 / pp.p);
            } else if constexpr (std::is_integral_v<T>) {
              if (valid == 0) acc = double(std::numeric_limits<T>::lowest());  // all padding
            }
            y[q] = from_double<T>(acc);
            if constexpr (kIndices) indices[q] = valid == 0 ? -1 : nc * pin + best;
            ++q;
          }
    }
  });
}

template <PoolKind K>
std::vector<ValueType> pool_infer(const InferContext& ctx) {
  if (K == PoolKind::kMax)
    ctx.require_dtype(0, {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI8,
                          DType::kU8});
  else
    ctx.require_dtype(0, kFloatTypes);
  read_params(ctx, K);
  const DType dt = ctx.dtype(0);
  std::vector<ValueType> out;
  const Shape* x = ctx.shape(0);
  std::optional<Shape> s = x ? std::optional<Shape>(pool_shape(ctx, *x, nullptr)) : std::nullopt;
  out.push_back({dt, s});
  if (ctx.num_outputs() > 1) out.push_back({DType::kI64, s});
  return out;
}

template <PoolKind K>
std::vector<Tensor> pool_cpu(const KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const PoolParams pp = read_params(ctx, K);
  std::vector<Axis> axes;
  Dims out = shape_dims(pool_shape(ctx, shape_of(X.dims()), &axes));
  const Geom3 g = to_geom3(axes);
  Tensor Y(X.dtype(), out);
  Tensor I = ctx.num_outputs() > 1 ? Tensor(DType::kI64, out) : Tensor();
  int64_t* idx = I.defined() ? I.data<int64_t>() : nullptr;
  visit_dtype(X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr bool is_float = std::is_same_v<T, float> || std::is_same_v<T, double> ||
                              std::is_same_v<T, f16> || std::is_same_v<T, bf16>;
    constexpr bool is_byte = std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>;
    if constexpr (is_float || (K == PoolKind::kMax && is_byte)) {
      if (idx)
        pool_kernel<K, true>(pp, X.data<T>(), Y.data<T>(), idx, X.dim(0) * X.dim(1), g);
      else
        pool_kernel<K, false>(pp, X.data<T>(), Y.data<T>(), idx, X.dim(0) * X.dim(1), g);
    }
    else
      ctx.unsupported(std::string("dtype ") + dtype_name(X.dtype()));
  });
  std::vector<Tensor> result = {Y};
  if (I.defined()) result.push_back(I);
  return result;
}

}  // namespace

void register_pools(OpRegistry& r) {
  r.add({.domain = "", .name = "MaxPool", .min_inputs = 1, .max_inputs = 1, .min_outputs = 1,
         .max_outputs = 2, .infer = pool_infer<PoolKind::kMax>, .cpu = pool_cpu<PoolKind::kMax>});
  r.add({.domain = "", .name = "AveragePool", .min_inputs = 1, .max_inputs = 1,
         .infer = pool_infer<PoolKind::kAverage>, .cpu = pool_cpu<PoolKind::kAverage>});
  r.add({.domain = "", .name = "LpPool", .min_inputs = 1, .max_inputs = 1,
         .infer = pool_infer<PoolKind::kLp>, .cpu = pool_cpu<PoolKind::kLp>});
}

}  // namespace kiln::conv
