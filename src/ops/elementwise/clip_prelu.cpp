// Clip and PRelu: activations whose parameters are tensors.
//   Clip: opset 6-10 reads min/max attributes; 11+ reads optional scalar inputs 1 and 2 (either
//   may be omitted). When min > max every value becomes max, as the spec says.
//   PRelu: slope broadcasts one way, to X's shape.
#include <limits>

#include "ops/elementwise/broadcast_loop.h"
#include "ops/elementwise/elementwise_ops.h"

namespace kiln::ew {
namespace {

// --- Clip ---

std::vector<ValueType> clip_infer(const InferContext& ctx) {
  if (ctx.opset() < 11) {
    ctx.require_dtype(0, kFloatTypes);
    return {ctx.type(0)};
  }
  ctx.require_dtype(0, ctx.opset() < 12 ? kFloatTypes : kNumericTypes);
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    if (ctx.dtype(i) != ctx.dtype(0))
      ctx.invalid(std::string(i == 1 ? "min" : "max") + " has type " + dtype_name(ctx.dtype(i)) +
                  " but the input has type " + dtype_name(ctx.dtype(0)));
    const Shape* s = ctx.shape(i);
    if (s && shape_known(*s) && numel_of(shape_dims(*s)) != 1)
      ctx.invalid(std::string(i == 1 ? "min" : "max") + " must be a scalar, not of shape " +
                  shape_to_string(*s));
  }
  return {ctx.type(0)};
}

std::vector<Tensor> clip_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor out(x.dtype(), x.dims());
  for (size_t i = 1; i < 3 && ctx.opset() >= 11; ++i) {
    if (!ctx.has_input(i)) continue;
    const Tensor& b = ctx.input(i);
    if (b.dtype() != x.dtype()) ctx.invalid("min/max must have the input's type");
    if (b.numel() != 1) ctx.invalid("min/max must be a scalar, not " + dims_to_string(b.dims()));
  }
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T> || is_int_v<T>) {
      using C = compute_t<T>;
      C lo, hi;
      if constexpr (is_float_v<T>) {
        lo = -std::numeric_limits<C>::infinity();
        hi = std::numeric_limits<C>::infinity();
      } else {
        lo = std::numeric_limits<C>::lowest();
        hi = std::numeric_limits<C>::max();
      }
      if (ctx.opset() < 11) {
        if constexpr (!is_float_v<T>) ctx.unsupported("Clip before opset 11 takes only floats");
        if (ctx.attrs().has("min")) lo = C(ctx.attrs().get_float("min"));
        if (ctx.attrs().has("max")) hi = C(ctx.attrs().get_float("max"));
      } else {
        if (ctx.has_input(1)) lo = load(ctx.input(1).data<T>()[0]);
        if (ctx.has_input(2)) hi = load(ctx.input(2).data<T>()[0]);
      }
      unary_map<T, T>(x, out, [=](C v) {
        C r = v < lo ? lo : v;  // NaN passes both comparisons unchanged
        return r > hi ? hi : r;
      });
    } else {
      ctx.unsupported(std::string("input of type ") + dtype_name(x.dtype()) + " is not supported");
    }
  });
  return {out};
}

// --- PRelu ---

constexpr std::initializer_list<DType> kPreluTypes = {DType::kF32, DType::kF16, DType::kBF16,
                                                      DType::kF64, DType::kI32, DType::kI64};

// Slope must broadcast to X without changing X's shape.
void check_slope(const OpContextBase& ctx, const Shape& x, const Shape& slope) {
  bool ok = slope.size() <= x.size();
  for (size_t i = 0; ok && i < slope.size(); ++i) {
    const Dim& s = slope[slope.size() - 1 - i];
    const Dim& d = x[x.size() - 1 - i];
    if (s.known() && s.value != 1 && d.known() && s.value != d.value) ok = false;
  }
  if (!ok)
    ctx.invalid("slope of shape " + shape_to_string(slope) + " does not broadcast to X's shape " +
                shape_to_string(x));
}

std::vector<ValueType> prelu_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kPreluTypes);
  if (ctx.dtype(1) != ctx.dtype(0))
    ctx.invalid(std::string("slope has type ") + dtype_name(ctx.dtype(1)) + " but X has type " +
                dtype_name(ctx.dtype(0)));
  if (ctx.shape(0) && ctx.shape(1)) check_slope(ctx, *ctx.shape(0), *ctx.shape(1));
  return {ctx.type(0)};
}

std::vector<Tensor> prelu_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& slope = ctx.input(1);
  if (slope.dtype() != x.dtype()) ctx.invalid("slope must have X's type");
  check_slope(ctx, shape_of(x.dims()), shape_of(slope.dims()));
  Tensor out(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T>) {
      binary_map<T, T, T>(x, slope, out, [](auto v, auto s) { return v < decltype(v)(0) ? s * v : v; });
    } else if constexpr (std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>) {
      binary_map<T, T, T>(x, slope, out, [](T v, T s) { return v < 0 ? wrap_mul(s, v) : v; });
    } else {
      ctx.unsupported(std::string("input of type ") + dtype_name(x.dtype()) + " is not supported");
    }
  });
  return {out};
}

}  // namespace

void register_clip_prelu_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Clip", .min_inputs = 1, .max_inputs = 3, .infer = clip_infer,
         .cpu = clip_cpu});
  r.add({.domain = "", .name = "PRelu", .min_inputs = 2, .max_inputs = 2, .infer = prelu_infer,
         .cpu = prelu_cpu});
}

}  // namespace kiln::ew
