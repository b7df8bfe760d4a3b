// ONNX GlobalAveragePool, GlobalMaxPool and GlobalLpPool: one value per (batch, channel)
// over every spatial element; output N x C x 1 x ... x 1.
#include <cmath>
#include <limits>

#include "ops/conv/conv_ops.h"
#include "ops/op_util.h"

namespace kiln::conv {
namespace {

enum class GlobalKind { kAverage, kMax, kLp };

double read_p(const OpContextBase& ctx, GlobalKind kind) {
  if (kind != GlobalKind::kLp) return 0;
  int64_t p = ctx.attrs().get_int("p", 2);
  if (p < 1) ctx.invalid("p must be positive, got " + std::to_string(p));
  return double(p);
}

void check_rank(const OpContextBase& ctx, size_t rank) {
  if (rank < 3)
    ctx.invalid("X has rank " + std::to_string(rank) + "; expected N x C x spatial dims");
}

template <GlobalKind K>
std::vector<ValueType> global_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  read_p(ctx, K);
  const Shape* x = ctx.shape(0);
  if (!x) return {{ctx.dtype(0), std::nullopt}};
  check_rank(ctx, x->size());
  Shape out(x->size(), Dim(1));
  out[0] = (*x)[0];
  out[1] = (*x)[1];
  return {{ctx.dtype(0), out}};
}

template <GlobalKind K>
std::vector<Tensor> global_cpu(const KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  if (!dtype_is_float(X.dtype())) ctx.unsupported(std::string("dtype ") + dtype_name(X.dtype()));
  check_rank(ctx, X.dims().size());
  const double p = read_p(ctx, K);
  Dims out(X.dims().size(), 1);
  out[0] = X.dim(0);
  out[1] = X.dim(1);
  Tensor Y(X.dtype(), out);
  const int64_t planes = X.dim(0) * X.dim(1), S = planes ? X.numel() / planes : 0;
  visit_dtype(X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                  std::is_same_v<T, f16> || std::is_same_v<T, bf16>) {
      const T* x = X.data<T>();
      T* y = Y.data<T>();
      parallel_for(planes, std::max<int64_t>(1, 4096 / std::max<int64_t>(S, 1)),
                   [&](int64_t b, int64_t e) {
        for (int64_t nc = b; nc < e; ++nc) {
          const T* xp = x + nc * S;
          double acc = K == GlobalKind::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
          for (int64_t i = 0; i < S; ++i) {
            const double v = to_double(xp[i]);
            if constexpr (K == GlobalKind::kMax) {
              if (v > acc || std::isnan(v)) acc = v;
              if (std::isnan(acc)) break;  // NaN propagates
            } else if constexpr (K == GlobalKind::kAverage) {
              acc += v;
            } else {
              acc += std::pow(std::fabs(v), p);
            }
          }
          if constexpr (K == GlobalKind::kAverage) acc = S ? acc / double(S) : acc;
          if constexpr (K == GlobalKind::kLp) acc = std::pow(acc, 1.0 / p);
          y[nc] = from_double<T>(acc);
        }
      });
    }
  });
  return {Y};
}

}  // namespace

void register_global_pools(OpRegistry& r) {
  r.add({.domain = "", .name = "GlobalAveragePool", .infer = global_infer<GlobalKind::kAverage>,
         .cpu = global_cpu<GlobalKind::kAverage>});
  r.add({.domain = "", .name = "GlobalMaxPool", .infer = global_infer<GlobalKind::kMax>,
         .cpu = global_cpu<GlobalKind::kMax>});
  r.add({.domain = "", .name = "GlobalLpPool", .infer = global_infer<GlobalKind::kLp>,
         .cpu = global_cpu<GlobalKind::kLp>});
}

}  // namespace kiln::conv
