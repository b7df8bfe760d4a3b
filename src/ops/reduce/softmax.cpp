// Softmax, LogSoftmax, Hardmax. From opset 13 they work along one axis (default -1); before,
// the input was coerced to 2-D at `axis` (default 1) and the op ran over each flattened row,
// which is the same loop with axis_len = prod(dims[axis:]) and inner = 1.
// Numerically stable: the row maximum is subtracted before exp; sums are in double.
// Exps come from exp_nonpositive (vectorized, a few ulp of double).
#include <cmath>
#include <limits>
#include <vector>

#include "ops/reduce/arg_select.h"
#include "ops/reduce/exp_nonpositive.h"

namespace kiln::reduce {
namespace {

enum class Kind { kSoftmax, kLogSoftmax, kHardmax };

AxisView softmax_view(const OpContextBase& ctx, const Dims& dims) {
  const int rank = int(dims.size());
  if (ctx.opset() >= 13) return axis_view(dims, normalize_axis(ctx, ctx.attrs().get_int("axis", -1), rank));
  const int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 1), rank);
  AxisView v;
  for (int i = 0; i < rank; ++i) (i < axis ? v.outer : v.axis_len) *= dims[size_t(i)];
  return v;
}

std::vector<ValueType> softmax_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  const ValueType& in = ctx.type(0);
  if (in.shape) {
    const int rank = int(in.shape->size());
    normalize_axis(ctx, ctx.attrs().get_int("axis", ctx.opset() >= 13 ? -1 : 1), rank);
  }
  return {in};
}

// Rows along the last (or flattened) axis: the attention-score hot path. The shifted values
// and their exps stay in double buffers so each output is rounded once.
template <Kind K, class T> void softmax_rows(const T* x, T* y, const AxisView& v) {
  const int64_t n = v.axis_len;
  parallel_for(v.outer, std::max<int64_t>(1, 16384 / n), [&](int64_t b, int64_t e) {
    std::vector<double> shifted(static_cast<size_t>(n)), ex(static_cast<size_t>(n));
    for (int64_t row = b; row < e; ++row) {
      const T* src = x + row * n;
      T* dst = y + row * n;
      double m4[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
      int64_t i = 0;
      for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; ++k) m4[k] = std::max(m4[k], to_double(src[i + k]));
      for (; i < n; ++i) m4[0] = std::max(m4[0], to_double(src[i]));
      const double m = std::max(std::max(m4[0], m4[1]), std::max(m4[2], m4[3]));
      for (i = 0; i < n; ++i) shifted[size_t(i)] = to_double(src[i]) - m;
      exp_nonpositive(shifted.data(), ex.data(), n);
      double s4[4] = {0, 0, 0, 0};
      for (i = 0; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; ++k) s4[k] += ex[size_t(i + k)];
      for (; i < n; ++i) s4[0] += ex[size_t(i)];
      const double s = (s4[0] + s4[1]) + (s4[2] + s4[3]);
      if constexpr (K == Kind::kSoftmax) {
        for (i = 0; i < n; ++i) dst[i] = from_double<T>(ex[size_t(i)] / s);
      } else {
        const double log_s = std::log(s);
        for (i = 0; i < n; ++i) dst[i] = from_double<T>(shifted[size_t(i)] - log_s);
      }
    }
  });
}

// Axis with a contiguous inner block: per-column max and sum over chunks of columns.
template <Kind K, class T> void softmax_cols(const T* x, T* y, const AxisView& v) {
  const int64_t chunks = (v.inner + kColumnChunk - 1) / kColumnChunk;
  const int64_t work = v.axis_len * std::min(v.inner, kColumnChunk);
  parallel_for(v.outer * chunks, std::max<int64_t>(1, 16384 / work), [&](int64_t b, int64_t e) {
    double m[kColumnChunk], s[kColumnChunk], shifted[kColumnChunk], ex[kColumnChunk];
    for (int64_t item = b; item < e; ++item) {
      const int64_t o = item / chunks, c0 = (item % chunks) * kColumnChunk;
      const int64_t n = std::min(kColumnChunk, v.inner - c0);
      const int64_t off = o * v.axis_len * v.inner + c0;
      // exps of one axis position's columns (shifted by their maxima)
      auto exps_at = [&](int64_t a) {
        const T* src = x + off + a * v.inner;
        for (int64_t i = 0; i < n; ++i) shifted[i] = to_double(src[i]) - m[i];
        exp_nonpositive(shifted, ex, n);
      };
      for (int64_t i = 0; i < n; ++i) {
        m[i] = -INFINITY;
        s[i] = 0.0;
      }
      for (int64_t a = 0; a < v.axis_len; ++a) {
        const T* src = x + off + a * v.inner;
        for (int64_t i = 0; i < n; ++i) m[i] = std::max(m[i], to_double(src[i]));
      }
      for (int64_t a = 0; a < v.axis_len; ++a) {
        exps_at(a);
        for (int64_t i = 0; i < n; ++i) s[i] += ex[i];
      }
      if constexpr (K == Kind::kLogSoftmax)
        for (int64_t i = 0; i < n; ++i) s[i] = std::log(s[i]);
      for (int64_t a = 0; a < v.axis_len; ++a) {
        T* dst = y + off + a * v.inner;
        if constexpr (K == Kind::kSoftmax) {
          exps_at(a);
          for (int64_t i = 0; i < n; ++i) dst[i] = from_double<T>(ex[i] / s[i]);
        } else {
          const T* src = x + off + a * v.inner;
          for (int64_t i = 0; i < n; ++i) dst[i] = from_double<T>(to_double(src[i]) - m[i] - s[i]);
        }
      }
    }
  });
}

// One-hot of the first maximum along the axis.
template <class T> void hardmax(const T* x, T* y, const AxisView& v) {
  std::vector<int64_t> idx(size_t(v.outer * v.inner));
  arg_select<true, false>(x, idx.data(), v);
  const T zero = from_double<T>(0.0), one = from_double<T>(1.0);
  std::fill(y, y + v.outer * v.axis_len * v.inner, zero);
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i)
      y[(o * v.axis_len + idx[size_t(o * v.inner + i)]) * v.inner + i] = one;
}

template <Kind K> std::vector<Tensor> softmax_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!dtype_is_float(x.dtype()))
    ctx.unsupported(std::string("input of type ") + dtype_name(x.dtype()) + " is not supported");
  const AxisView v = softmax_view(ctx, x.dims());
  Tensor y(x.dtype(), x.dims());
  if (y.numel() == 0) return {y};
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (kIsFloat<T>) {
      if constexpr (K == Kind::kHardmax) hardmax(x.data<T>(), y.data<T>(), v);
      else if (v.inner == 1) softmax_rows<K>(x.data<T>(), y.data<T>(), v);
      else softmax_cols<K>(x.data<T>(), y.data<T>(), v);
    }
  });
  return {y};
}

}  // namespace

void register_softmax_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Softmax", .min_inputs = 1, .max_inputs = 1, .infer = softmax_infer,
         .cpu = softmax_cpu<Kind::kSoftmax>});
  r.add({.domain = "", .name = "LogSoftmax", .min_inputs = 1, .max_inputs = 1,
         .infer = softmax_infer, .cpu = softmax_cpu<Kind::kLogSoftmax>});
  r.add({.domain = "", .name = "Hardmax", .min_inputs = 1, .max_inputs = 1, .infer = softmax_infer,
         .cpu = softmax_cpu<Kind::kHardmax>});
}

}  // namespace kiln::reduce
