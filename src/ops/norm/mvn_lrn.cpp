// MeanVarianceNormalization: y = (x - mean) / (sqrt(var) + 1e-9) with statistics over `axes`
// (default [0, 2, 3]); the ONNX function adds epsilon to the standard deviation, not the
// variance.
// LRN: y = x / (bias + alpha / size * sum of x^2 over a window of `size` channels)^beta, the
// window spanning floor((size-1)/2) channels before and ceil((size-1)/2) after.
#include <algorithm>

#include "ops/norm/norm_common.h"
#include "ops/norm/norm_ops.h"

namespace kiln::norm {
namespace {

// Sorted, normalized, duplicate-free axes; bad or repeated axes are model errors.
std::vector<int> mvn_axes(const OpContextBase& ctx, int rank) {
  std::vector<int64_t> raw = ctx.attrs().get_ints("axes", {0, 2, 3});
  std::vector<int> axes;
  for (int64_t a : raw) axes.push_back(normalize_axis(ctx, a, rank));
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) ctx.invalid("axes has duplicates");
  return axes;
}

// Offsets (in elements) of every multi-index over the listed axes of a row-major tensor.
std::vector<int64_t> offsets_over(const Dims& dims, const std::vector<int>& axes) {
  Dims strides = contiguous_strides(dims);
  std::vector<int64_t> offs{0};
  for (int a : axes) {
    std::vector<int64_t> next;
    next.reserve(offs.size() * size_t(dims[size_t(a)]));
    for (int64_t base : offs)
      for (int64_t i = 0; i < dims[size_t(a)]; ++i) next.push_back(base + i * strides[size_t(a)]);
    offs.swap(next);
  }
  return offs;
}

}  // namespace

std::vector<ValueType> mvn_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  if (const Shape* s = ctx.shape(0)) mvn_axes(ctx, int(s->size()));
  return {ctx.type(0)};
}

std::vector<Tensor> mvn_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int> axes = mvn_axes(ctx, x.rank());
  std::vector<int> kept;
  for (int a = 0; a < x.rank(); ++a)
    if (!std::binary_search(axes.begin(), axes.end(), a)) kept.push_back(a);
  std::vector<int64_t> group_base = offsets_over(x.dims(), kept);
  std::vector<int64_t> member = offsets_over(x.dims(), axes);
  Tensor y(x.dtype(), x.dims());
  if (x.numel() == 0) return {y};
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    int64_t groups = int64_t(group_base.size()), len = int64_t(member.size());
    parallel_for(groups, std::max<int64_t>(1, 16384 / len), [&](int64_t g0, int64_t g1) {
      for (int64_t g = g0; g < g1; ++g) {
        int64_t base = group_base[size_t(g)];
        double sum = 0.0;
        for (int64_t off : member) sum += to_double(xp[base + off]);
        double mean = sum / double(len), sq = 0.0;
        for (int64_t off : member) {
          double d = to_double(xp[base + off]) - mean;
          sq += d * d;
        }
        double denom = std::sqrt(sq / double(len)) + 1e-9;
        for (int64_t off : member)
          yp[base + off] = from_double<T>((to_double(xp[base + off]) - mean) / denom);
      }
    });
  });
  return {y};
}

std::vector<ValueType> lrn_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  if (ctx.attrs().get_int("size") <= 0) ctx.invalid("size must be positive");
  if (const Shape* s = ctx.shape(0); s && s->size() < 2)
    ctx.invalid("X must have rank >= 2 (N x C x ...), got " + shape_to_string(*s));
  return {ctx.type(0)};
}

std::vector<Tensor> lrn_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t size = ctx.attrs().get_int("size");
  if (size <= 0) ctx.invalid("size must be positive");
  if (x.rank() < 2) ctx.invalid("X must have rank >= 2 (N x C x ...)");
  double alpha = ctx.attrs().get_float("alpha", 1e-4f);
  double beta = ctx.attrs().get_float("beta", 0.75f);
  double bias = ctx.attrs().get_float("bias", 1.0f);
  int64_t n = x.dim(0), c = x.dim(1);
  int64_t spatial = n * c == 0 ? 0 : x.numel() / (n * c);
  int64_t before = (size - 1) / 2, after = size - 1 - before;
  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    parallel_for(n * c, std::max<int64_t>(1, 4096 / std::max<int64_t>(spatial * size, 1)),
                 [&](int64_t b0, int64_t b1) {
                   for (int64_t blk = b0; blk < b1; ++blk) {
                     int64_t img = blk / c, ch = blk % c;
                     int64_t lo = std::max<int64_t>(0, ch - before);
                     int64_t hi = std::min<int64_t>(c - 1, ch + after);
                     for (int64_t s = 0; s < spatial; ++s) {
                       double sq = 0.0;
                       for (int64_t k = lo; k <= hi; ++k) {
                         double v = to_double(xp[(img * c + k) * spatial + s]);
                         sq += v * v;
                       }
                       int64_t i = blk * spatial + s;
                       double d = std::pow(bias + alpha / double(size) * sq, beta);
                       yp[i] = from_double<T>(to_double(xp[i]) / d);
                     }
                   }
                 });
  });
  return {y};
}

}  // namespace kiln::norm
