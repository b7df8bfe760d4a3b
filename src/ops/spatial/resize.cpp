// Resize (opsets 11-19): shape inference and the CPU kernel. Nearest is a gather (any
// numeric type, exact); linear/cubic are separable passes in double, with a float fast path
// for the common case of (bi)linear resizing of the last two axes of an f32 tensor.
#include "ops/spatial/spatial_ops.h"

#include <algorithm>
#include <cmath>

#include "ops/op_util.h"
#include "ops/spatial/resize_plan.h"
#include "ops/spatial/resize_taps.h"

namespace kiln::spatial {
namespace {

constexpr size_t kX = 0, kRoi = 1, kScales = 2, kSizes = 3;

// An input given as a name but holding no elements counts as absent (the spec's convention).
bool tensor_present(const KernelContext& ctx, size_t i) {
  return ctx.has_input(i) && ctx.input(i).numel() > 0;
}

void check_x_dtype(const OpContextBase& ctx, const ResizeAttrs& a, DType dt) {
  if (dtype_is_float(dt)) return;
  if (a.mode == ResizeMode::kNearest &&
      (dt == DType::kI64 || dt == DType::kI32 || dt == DType::kI8 || dt == DType::kU8))
    return;
  ctx.unsupported(std::string("input of type ") + dtype_name(dt) + " is not supported" +
                  (a.mode == ResizeMode::kNearest ? "" : " for linear/cubic modes"));
}

std::vector<double> float_values(const OpContextBase& ctx, const Tensor& t, const char* what) {
  if (!dtype_is_float(t.dtype()))
    ctx.invalid(std::string(what) + " must be a float tensor, got " + dtype_name(t.dtype()));
  if (t.rank() != 1) ctx.invalid(std::string(what) + " must be 1-D");
  std::vector<double> v(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = t.at_double(i);
  return v;
}

std::vector<int64_t> size_values(const OpContextBase& ctx, const Tensor& t) {
  if (t.dtype() != DType::kI64) ctx.invalid("sizes must be int64");
  if (t.rank() != 1) ctx.invalid("sizes must be 1-D");
  return t.to_int64_vector();
}

// Is optional input i present in inference terms: false when omitted or known to be empty.
std::optional<bool> infer_present(const InferContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return false;
  if (const Tensor* t = ctx.constant(i)) return t->numel() > 0;
  const Shape* s = ctx.shape(i);
  if (s && s->size() == 1 && (*s)[0].known()) return (*s)[0].value > 0;
  return std::nullopt;
}

std::vector<ValueType> resize_infer(const InferContext& ctx) {
  ResizeAttrs a = parse_resize_attrs(ctx);
  check_x_dtype(ctx, a, ctx.dtype(kX));
  const Shape* xs = ctx.shape(kX);
  if (!xs) return {{ctx.dtype(kX), std::nullopt}};
  const int rank = int(xs->size());
  const std::vector<int> axes = resize_axes(ctx, a, rank);
  auto has_scales = infer_present(ctx, kScales), has_sizes = infer_present(ctx, kSizes);
  if (has_scales == true && has_sizes == true)
    ctx.invalid("only one of scales and sizes may be given");
  if (has_scales == false && has_sizes == false) ctx.invalid("one of scales or sizes is required");
  Shape out = *xs;
  for (int d : axes) out[size_t(d)] = Dim();  // unknown until proven otherwise

  const Tensor* sizes_t = has_sizes == true ? ctx.constant(kSizes) : nullptr;
  const Tensor* scales_t = has_scales == true ? ctx.constant(kScales) : nullptr;
  if (sizes_t) {
    std::vector<int64_t> sizes = size_values(ctx, *sizes_t);
    if (sizes.size() != axes.size()) ctx.invalid("sizes must have one value per resized axis");
    if (a.policy == AspectPolicy::kStretch) {
      for (size_t i = 0; i < axes.size(); ++i) {
        if (sizes[i] < 0) ctx.invalid("sizes must be non-negative");
        out[size_t(axes[i])] = Dim(sizes[i]);
      }
    } else {
      bool known = true;
      for (int d : axes) known = known && (*xs)[size_t(d)].known();
      if (known) {
        Dims in(size_t(rank), 1);
        for (int d : axes) in[size_t(d)] = (*xs)[size_t(d)].value;
        auto plan = plan_resize(ctx, a, in, nullptr, &sizes, nullptr);
        for (int d : axes) out[size_t(d)] = Dim(plan[size_t(d)].out);
      }
    }
  } else if (scales_t) {
    std::vector<double> scales = float_values(ctx, *scales_t, "scales");
    if (scales.size() != axes.size()) ctx.invalid("scales must have one value per resized axis");
    for (size_t i = 0; i < axes.size(); ++i) {
      const Dim& in = (*xs)[size_t(axes[i])];
      if (!(scales[i] > 0.0) || !std::isfinite(scales[i]))
        ctx.invalid("scales must be positive and finite");
      if (in.known()) out[size_t(axes[i])] = Dim(int64_t(std::floor(scales[i] * double(in.value))));
      else if (scales[i] == 1.0) out[size_t(axes[i])] = in;
    }
  }
  return {{ctx.dtype(kX), out}};
}

// Nearest: a pure gather with per-axis input offsets, exact for every type.
template <class T>
void gather_nearest(const Tensor& x, const std::vector<AxisTaps>& taps, double extrapolation,
                    Tensor& y) {
  const int rank = x.rank();
  const Dims in_strides = contiguous_strides(x.dims());
  std::vector<std::vector<int64_t>> offs(static_cast<size_t>(rank));
  bool any_outside = false;
  for (int d = 0; d < rank; ++d) {
    const AxisTaps& t = taps[size_t(d)];
    offs[size_t(d)].resize(size_t(t.out));
    for (int64_t o = 0; o < t.out; ++o)
      offs[size_t(d)][size_t(o)] = t.index[size_t(o)] * in_strides[size_t(d)];
    any_outside = any_outside || t.any_outside;
  }
  const T* in = x.data<T>();
  T* out = y.data<T>();
  const T fill = from_double<T>(extrapolation);
  const int64_t wo = rank == 0 ? 1 : y.dims().back();
  const int64_t rows = wo == 0 ? 0 : y.numel() / wo;
  parallel_for(rows, 64, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      int64_t base = 0, rem = row;
      bool outside = false;
      for (int d = rank - 2; d >= 0; --d) {
        const int64_t od = rem % taps[size_t(d)].out;
        rem /= taps[size_t(d)].out;
        base += offs[size_t(d)][size_t(od)];
        outside = outside || taps[size_t(d)].outside[size_t(od)];
      }
      T* dst = out + row * wo;
      if (rank == 0) {
        dst[0] = in[0];
        continue;
      }
      const std::vector<int64_t>& last = offs[size_t(rank - 1)];
      const std::vector<uint8_t>& last_out = taps[size_t(rank - 1)].outside;
      for (int64_t o = 0; o < wo; ++o)
        dst[o] = (outside || (any_outside && last_out[size_t(o)])) ? fill : in[base + last[size_t(o)]];
    }
  });
}

// One separable pass: resizes axis d of `src` (dims cur) into a new buffer.
std::vector<double> resize_pass(const std::vector<double>& src, Dims& cur, int d,
                                const AxisTaps& t) {
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= cur[size_t(i)];
  for (size_t i = size_t(d) + 1; i < cur.size(); ++i) inner *= cur[i];
  const int64_t in_len = cur[size_t(d)];
  std::vector<double> dst(size_t(outer * t.out * inner));
  parallel_for(outer * t.out, std::max<int64_t>(1, 4096 / std::max<int64_t>(inner, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t r = b; r < e; ++r) {
                   const int64_t o = r % t.out, q = r / t.out;
                   double* out = dst.data() + r * inner;
                   const double* base = src.data() + q * in_len * inner;
                   std::fill(out, out + inner, 0.0);
                   for (int k = 0; k < t.taps; ++k) {
                     const double w = t.weight[size_t(o * t.taps + k)];
                     if (w == 0.0) continue;
                     const double* s = base + t.index[size_t(o * t.taps + k)] * inner;
                     for (int64_t i = 0; i < inner; ++i) out[i] += w * s[i];
                   }
                 }
               });
  cur[size_t(d)] = t.out;
  return dst;
}

template <class T>
void resize_generic(const Tensor& x, const std::vector<AxisTaps>& taps, double extrapolation,
                    Tensor& y) {
  const T* in = x.data<T>();
  std::vector<double> buf(size_t(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) buf[size_t(i)] = to_double(in[i]);
  Dims cur = x.dims();
  // Downsampling axes first keeps the intermediate buffers small.
  std::vector<int> order;
  for (int d = 0; d < x.rank(); ++d)
    if (!taps[size_t(d)].identity) order.push_back(d);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const auto& ta = taps[size_t(a)];
    const auto& tb = taps[size_t(b)];
    return double(ta.out) / double(ta.in) < double(tb.out) / double(tb.in);
  });
  for (int d : order) buf = resize_pass(buf, cur, d, taps[size_t(d)]);
  T* out = y.data<T>();
  const int rank = x.rank();
  bool any_outside = false;
  for (const AxisTaps& t : taps) any_outside = any_outside || t.any_outside;
  parallel_for(y.numel(), 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      double v = buf[size_t(i)];
      if (any_outside) {
        int64_t rem = i;
        for (int d = rank - 1; d >= 0; --d) {
          const int64_t od = rem % taps[size_t(d)].out;
          rem /= taps[size_t(d)].out;
          if (taps[size_t(d)].outside[size_t(od)]) v = extrapolation;
        }
      }
      out[i] = from_double<T>(v);
    }
  });
}

// f32, only the last two axes resized, at most two taps each (bilinear up/down without
// antialiasing stretch): horizontal pass per input row, then a vertical blend.
bool bilinear_f32_applies(const Tensor& x, const std::vector<AxisTaps>& taps) {
  const int rank = x.rank();
  if (x.dtype() != DType::kF32 || rank < 2) return false;
  for (int d = 0; d < rank - 2; ++d)
    if (!taps[size_t(d)].identity) return false;
  for (int d = rank - 2; d < rank; ++d)
    if (taps[size_t(d)].taps != 2 || taps[size_t(d)].any_outside) return false;
  return true;
}

void resize_bilinear_f32(const Tensor& x, const std::vector<AxisTaps>& taps, Tensor& y) {
  const int rank = x.rank();
  const AxisTaps& ty = taps[size_t(rank - 2)];
  const AxisTaps& tx = taps[size_t(rank - 1)];
  const int64_t h = ty.in, w = tx.in, ho = ty.out, wo = tx.out;
  const int64_t planes = h * w == 0 ? 0 : x.numel() / (h * w);
  std::vector<int64_t> x0(static_cast<size_t>(wo)), x1(static_cast<size_t>(wo));
  std::vector<float> wx0(static_cast<size_t>(wo)), wx1(static_cast<size_t>(wo));
  for (int64_t o = 0; o < wo; ++o) {
    x0[size_t(o)] = tx.index[size_t(2 * o)];
    x1[size_t(o)] = tx.index[size_t(2 * o + 1)];
    wx0[size_t(o)] = float(tx.weight[size_t(2 * o)]);
    wx1[size_t(o)] = float(tx.weight[size_t(2 * o + 1)]);
  }
  const float* in = x.data<float>();
  float* out = y.data<float>();
  parallel_for(planes, 1, [&](int64_t b, int64_t e) {
    std::vector<float> rows(size_t(h * wo));
    for (int64_t p = b; p < e; ++p) {
      const float* src = in + p * h * w;
      for (int64_t r = 0; r < h; ++r) {
        const float* s = src + r * w;
        float* t = rows.data() + r * wo;
        for (int64_t o = 0; o < wo; ++o)
          t[o] = wx0[size_t(o)] * s[x0[size_t(o)]] + wx1[size_t(o)] * s[x1[size_t(o)]];
      }
      float* dst = out + p * ho * wo;
      for (int64_t oy = 0; oy < ho; ++oy) {
        const float a = float(ty.weight[size_t(2 * oy)]), c = float(ty.weight[size_t(2 * oy + 1)]);
        const float* r0 = rows.data() + ty.index[size_t(2 * oy)] * wo;
        const float* r1 = rows.data() + ty.index[size_t(2 * oy + 1)] * wo;
        float* d = dst + oy * wo;
        for (int64_t o = 0; o < wo; ++o) d[o] = a * r0[o] + c * r1[o];
      }
    }
  });
}

std::vector<Tensor> resize_cpu(const KernelContext& ctx) {
  ResizeAttrs a = parse_resize_attrs(ctx);
  const Tensor& x = ctx.input(kX);
  check_x_dtype(ctx, a, x.dtype());
  const bool has_scales = tensor_present(ctx, kScales), has_sizes = tensor_present(ctx, kSizes);
  if (has_scales && has_sizes) ctx.invalid("only one of scales and sizes may be given");
  if (!has_scales && !has_sizes) ctx.invalid("one of scales or sizes is required");
  std::vector<double> scales, roi;
  std::vector<int64_t> sizes;
  if (has_scales) scales = float_values(ctx, ctx.input(kScales), "scales");
  if (has_sizes) sizes = size_values(ctx, ctx.input(kSizes));
  // roi only matters (and is only required) for tf_crop_and_resize.
  const bool crop = a.coord == CoordMode::kTfCropAndResize;
  if (crop) {
    if (!tensor_present(ctx, kRoi)) ctx.invalid("tf_crop_and_resize requires roi");
    roi = float_values(ctx, ctx.input(kRoi), "roi");
  }
  std::vector<AxisPlan> plan = plan_resize(ctx, a, x.dims(), has_scales ? &scales : nullptr,
                                           has_sizes ? &sizes : nullptr, crop ? &roi : nullptr);
  Dims out_dims;
  for (const AxisPlan& p : plan) {
    if (p.in == 0 && p.out != 0) ctx.invalid("cannot resize an empty axis to a non-empty one");
    out_dims.push_back(p.out);
  }
  Tensor y(x.dtype(), out_dims);
  if (y.numel() == 0) return {y};
  std::vector<AxisTaps> taps;
  for (const AxisPlan& p : plan) taps.push_back(make_axis_taps(a, p));

  if (a.mode == ResizeMode::kNearest) {
    visit_dtype(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (!std::is_void_v<T> && !std::is_same_v<T, bool>)
        gather_nearest<T>(x, taps, a.extrapolation, y);
    });
    return {y};
  }
  if (bilinear_f32_applies(x, taps)) {
    resize_bilinear_f32(x, taps, y);
    return {y};
  }
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                  std::is_same_v<T, f16> || std::is_same_v<T, bf16>)
      resize_generic<T>(x, taps, a.extrapolation, y);
  });
  return {y};
}

}  // namespace

void register_resize(OpRegistry& r) {
  r.add({.domain = "",
         .name = "Resize",
         .min_inputs = 1,
         .max_inputs = 4,
         .infer = resize_infer,
         .cpu = resize_cpu});
}

}  // namespace kiln::spatial
