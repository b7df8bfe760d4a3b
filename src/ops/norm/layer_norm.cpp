// LayerNormalization (opset 17): normalizes over axes [axis, rank), then scales and shifts by
// Scale and B broadcast to X. Optional outputs Mean and InvStdDev have X's shape with the
// normalized axes kept as 1, in the stash_type dtype.
//
// kiln extension for fp16 engines (convert_precision.h): X may be float32 while Scale, B and Y
// are float16 (a LayerNorm reading an fp32 residual stream), or float16 while they are float32
// (one starting it). Y always has Scale's type; the statistics are computed as usual.
#include "ops/norm/norm_ops.h"

#include <optional>

#include "ops/norm/norm_common.h"

namespace kiln::norm {
namespace {

DType stash_dtype(const OpContextBase& ctx) {
  int64_t code = ctx.attrs().get_int("stash_type", 1);
  DType dt = DType::kUndefined;
  try {
    dt = dtype_from_onnx(int32_t(code));
  } catch (const Error&) {
  }
  if (!dtype_is_float(dt))
    ctx.unsupported("stash_type " + std::to_string(code) + " is not a supported float type");
  return dt;
}

// Rows of `inner` elements: statistics in double (two-pass), y = (x - mean) * inv * s + b with
// s/b advancing by their row stride (0 when shared by all rows). Written without callbacks so
// the f32 [rows, C] case vectorizes; rows are spread over threads.
template <class T, class U>
void layer_norm_rows(const T* x, U* y, int64_t rows, int64_t inner, const double* s,
                     int64_t s_stride, const double* b, int64_t b_stride, double eps,
                     double* mean_out, double* inv_out) {
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)),
               [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * inner;
      U* yr = y + r * inner;
      const double* sr = s + r * s_stride;
      const double* br = b + r * b_stride;
      double sum = 0.0;
      for (int64_t i = 0; i < inner; ++i) sum += to_double(xr[i]);
      double mean = inner > 0 ? sum / double(inner) : 0.0;
      double sq = 0.0;
      for (int64_t i = 0; i < inner; ++i) {
        double d = to_double(xr[i]) - mean;
        sq += d * d;
      }
      double inv = 1.0 / std::sqrt((inner > 0 ? sq / double(inner) : 0.0) + eps);
      for (int64_t i = 0; i < inner; ++i)
        yr[i] = from_double<U>((to_double(xr[i]) - mean) * inv * sr[i] + br[i]);
      if (mean_out) mean_out[r] = mean;
      if (inv_out) inv_out[r] = inv;
    }
  });
}

}  // namespace

DType layer_norm_y_dtype(const OpContextBase& ctx, DType x, DType scale, std::optional<DType> bias) {
  if (bias && *bias != scale)
    ctx.invalid(std::string("B is ") + dtype_name(*bias) + ", Scale is " + dtype_name(scale));
  const bool mixed = (x == DType::kF32 && scale == DType::kF16) || (x == DType::kF16 && scale == DType::kF32);
  if (scale != x && !mixed)
    ctx.invalid(std::string("Scale is ") + dtype_name(scale) + ", X is " + dtype_name(x) +
                " (they must match, or be float32 and float16)");
  return scale;
}

std::vector<ValueType> layer_norm_infer(const InferContext& ctx) {
  if (ctx.opset() < 17) ctx.invalid("LayerNormalization needs opset >= 17");
  ctx.require_dtype(0, kFloatTypes);
  const DType y = layer_norm_y_dtype(ctx, ctx.dtype(0), ctx.dtype(1),
                                     ctx.has_input(2) ? std::optional<DType>(ctx.dtype(2)) : std::nullopt);
  DType u = stash_dtype(ctx);
  int64_t axis = ctx.attrs().get_int("axis", -1);
  std::vector<ValueType> out{{y, ctx.type(0).shape}};
  if (ctx.num_outputs() == 1) return out;
  std::optional<Shape> stat_shape;
  if (const Shape* s = ctx.shape(0)) {
    int a = normalize_axis(ctx, axis, int(s->size()));
    Shape st = *s;
    for (size_t i = size_t(a); i < st.size(); ++i) st[i] = Dim(1);
    stat_shape = st;
  }
  for (size_t i = 1; i < ctx.num_outputs(); ++i) out.push_back({u, stat_shape});
  return out;
}

Tensor layer_norm_last_axis(const OpContextBase& ctx, const Tensor& x, const std::vector<double>& scale,
                            const std::vector<double>& bias, double eps, DType y_dtype) {
  const int64_t inner = x.rank() ? x.dims().back() : 1, rows = inner ? x.numel() / inner : 0;
  KILN_ASSERT(int64_t(scale.size()) == inner && (bias.empty() || int64_t(bias.size()) == inner));
  const std::vector<double> zeros(bias.empty() ? size_t(inner) : 0, 0.0);
  Tensor y(y_dtype, x.dims());
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_float(ctx, y_dtype, [&](auto out_tag) {
      using U = typename decltype(out_tag)::type;
      layer_norm_rows(x.data<T>(), y.data<U>(), rows, inner, scale.data(), 0, bias.empty() ? zeros.data() : bias.data(),
                      0, eps, nullptr, nullptr);
    });
  });
  return y;
}

std::vector<Tensor> layer_norm_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Dims& dims = x.dims();
  if (x.rank() == 0) ctx.invalid("X must have rank >= 1");
  int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", -1), x.rank());
  double eps = ctx.attrs().get_float("epsilon", 1e-5f);
  DType u = stash_dtype(ctx);
  const DType y_dtype = layer_norm_y_dtype(ctx, x.dtype(), ctx.input(1).dtype(),
                                           ctx.has_input(2) ? std::optional<DType>(ctx.input(2).dtype()) : std::nullopt);

  Dims outer_dims(dims.begin(), dims.begin() + axis), inner_dims(dims.begin() + axis, dims.end());
  int64_t rows = numel_of(outer_dims), inner = numel_of(inner_dims);

  // Parameters usually vary only over the normalized axes; then one row of them serves all
  // rows. Otherwise they are expanded to X's full shape.
  auto param = [&](size_t i, const char* what, int64_t& row_stride) -> std::vector<double> {
    const Tensor& p = ctx.input(i);
    Dims pd = p.dims();
    while (!pd.empty() && pd.front() == 1) pd.erase(pd.begin());
    if (pd.size() <= inner_dims.size()) {
      row_stride = 0;
      return expand_to(ctx, p, inner_dims, what);
    }
    row_stride = inner;
    return expand_to(ctx, p, dims, what);
  };
  int64_t scale_stride = 0, bias_stride = 0;
  std::vector<double> scale = param(1, "Scale", scale_stride);
  std::vector<double> bias;
  if (ctx.has_input(2)) bias = param(2, "B", bias_stride);
  const double* s = scale.data();
  if (bias.empty()) bias.assign(static_cast<size_t>(inner), 0.0);  // no B: add zeros
  const double* b = bias.data();

  bool want_stats = ctx.num_outputs() > 1;
  std::vector<double> mean(want_stats ? size_t(rows) : 0), inv(want_stats ? size_t(rows) : 0);
  Tensor y(y_dtype, dims);
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_float(ctx, y_dtype, [&](auto out_tag) {
      using U = typename decltype(out_tag)::type;
      layer_norm_rows(x.data<T>(), y.data<U>(), rows, inner, s, scale_stride, b, bias_stride, eps,
                      want_stats ? mean.data() : nullptr, want_stats ? inv.data() : nullptr);
    });
  });

  std::vector<Tensor> out{y};
  if (!want_stats) return out;
  Dims stat_dims = dims;
  for (size_t i = size_t(axis); i < stat_dims.size(); ++i) stat_dims[i] = 1;
  for (size_t k = 1; k < ctx.num_outputs(); ++k) {
    const std::vector<double>& src = k == 1 ? mean : inv;
    Tensor t(u, stat_dims);
    visit_float(ctx, u, [&](auto tag) {
      using U = typename decltype(tag)::type;
      U* p = t.data<U>();
      for (int64_t r = 0; r < rows; ++r) p[r] = from_double<U>(src[size_t(r)]);
    });
    out.push_back(t);
  }
  return out;
}

}  // namespace kiln::norm
