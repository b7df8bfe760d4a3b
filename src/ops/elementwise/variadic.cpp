// Max, Min, Sum, Mean over one or more inputs of one type, all broadcast together.
// Max/Min propagate NaN (numpy's maximum/minimum). Sum/Mean accumulate in double and round
// once at the end.
#include <cmath>

#include "ops/elementwise/broadcast_loop.h"
#include "ops/elementwise/elementwise_ops.h"

namespace kiln::ew {
namespace {

std::vector<ValueType> variadic_infer(const InferContext& ctx) {
  const bool float_only = ctx.node.op_type == "Sum" || ctx.node.op_type == "Mean";
  ctx.require_dtype(0, float_only ? kFloatTypes : kNumericTypes);
  require_same_dtypes(ctx);
  return {{ctx.dtype(0), infer_broadcast_shape(ctx)}};
}

// Checks the inputs and returns their common broadcast dims.
Dims check_inputs(const KernelContext& ctx, bool float_only) {
  if (ctx.num_inputs() == 0) ctx.invalid("needs at least one input");
  DType dt = ctx.input(0).dtype();
  if (!dtype_is_float(dt) && (float_only || dt == DType::kBool))
    ctx.unsupported(std::string("inputs of type ") + dtype_name(dt) + " are not supported");
  Dims out = ctx.input(0).dims();
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != ctx.input(0).dtype()) ctx.invalid("inputs must all have one type");
    out = broadcast_dims(ctx, out, t.dims());
  }
  return out;
}

template <bool kMax> std::vector<Tensor> max_min_cpu(const KernelContext& ctx) {
  Dims dims = check_inputs(ctx, false);
  const Tensor& first = ctx.input(0);
  if (ctx.num_inputs() == 1) return {first.clone()};
  Tensor out(first.dtype(), dims);
  visit_dtype(first.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T> || is_int_v<T>) {
      auto pick = [](auto a, auto b) {
        if constexpr (is_float_v<T>)
          if (std::isnan(a) || std::isnan(b)) return a + b;  // NaN
        if constexpr (kMax) return a < b ? b : a;
        else return b < a ? b : a;
      };
      binary_map<T, T, T>(first, ctx.input(1), out, pick);
      // Later inputs fold into out in place: each element is read and then written by the
      // same iteration.
      for (size_t i = 2; i < ctx.num_inputs(); ++i) binary_map<T, T, T>(out, ctx.input(i), out, pick);
    } else {
      ctx.unsupported(std::string("inputs of type ") + dtype_name(first.dtype()) + " are not supported");
    }
  });
  return {out};
}

template <bool kMean> std::vector<Tensor> sum_mean_cpu(const KernelContext& ctx) {
  Dims dims = check_inputs(ctx, true);
  const Tensor& first = ctx.input(0);
  if (ctx.num_inputs() == 1) return {first.clone()};
  Tensor out(first.dtype(), dims);
  Tensor acc(DType::kF64, dims);
  const double n = double(ctx.num_inputs());
  visit_dtype(first.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T>) {
      auto add = [](auto a, auto b) { return double(a) + double(b); };
      binary_map<T, T, double>(first, ctx.input(1), acc, add);
      for (size_t i = 2; i < ctx.num_inputs(); ++i) binary_map<double, T, double>(acc, ctx.input(i), acc, add);
      unary_map<double, T>(acc, out, [n](double s) { return from_compute_double<T>(kMean ? s / n : s); });
    } else {
      ctx.unsupported(std::string("inputs of type ") + dtype_name(first.dtype()) + " are not supported");
    }
  });
  return {out};
}

}  // namespace

void register_variadic_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Max", .max_inputs = -1, .infer = variadic_infer, .cpu = max_min_cpu<true>});
  r.add({.domain = "", .name = "Min", .max_inputs = -1, .infer = variadic_infer, .cpu = max_min_cpu<false>});
  r.add({.domain = "", .name = "Sum", .max_inputs = -1, .infer = variadic_infer, .cpu = sum_mean_cpu<false>});
  r.add({.domain = "", .name = "Mean", .max_inputs = -1, .infer = variadic_infer, .cpu = sum_mean_cpu<true>});
}

}  // namespace kiln::ew
