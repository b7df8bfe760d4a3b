// Pow(X, Y) with numpy broadcasting; the output has X's type and Y may have any numeric type.
//   float X: computed in double and rounded once (x*x when y == 2, sqrt when y == 0.5).
//   integer X, float Y: pow in double, truncated toward zero (saturating).
//   integer X, integer Y: exact, by squaring, wrapping on overflow. A negative exponent gives
//   the truncated 1/x^-y (0 unless |x| == 1); 0 to a negative power is an error.
#include <atomic>
#include <cmath>

#include "ops/elementwise/broadcast_loop.h"
#include "ops/elementwise/elementwise_ops.h"

namespace kiln::ew {
namespace {

constexpr std::initializer_list<DType> kBaseTypes = {DType::kF32, DType::kF16, DType::kBF16,
                                                     DType::kF64, DType::kI64, DType::kI32};

std::vector<ValueType> pow_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kBaseTypes);
  ctx.require_dtype(1, kNumericTypes);
  if (ctx.opset() < 12 && ctx.dtype(0) != ctx.dtype(1))
    ctx.invalid("before opset 12, base and exponent must have the same type");
  return {{ctx.dtype(0), infer_broadcast_shape(ctx)}};
}

template <class T, class E> T int_pow(T x, E e, std::atomic<bool>& zero_to_negative) {
  if constexpr (std::is_signed_v<E>) {
    if (e < 0) {
      if (x == 0) {
        zero_to_negative.store(true, std::memory_order_relaxed);
        return T(0);
      }
      if (x == 1) return T(1);
      if (x == -1) return (e % 2) ? T(-1) : T(1);
      return T(0);
    }
  }
  T result = 1, base = x;
  for (std::make_unsigned_t<E> n = e; n; n >>= 1) {
    if (n & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
  }
  return result;
}

std::vector<Tensor> pow_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& y = ctx.input(1);
  Tensor out(x.dtype(), broadcast_dims(ctx, x.dims(), y.dims()));
  std::atomic<bool> zero_to_negative{false};
  auto bad = [&](DType dt) {
    ctx.unsupported(std::string("input of type ") + dtype_name(dt) + " is not supported");
  };
  visit_dtype(x.dtype(), [&](auto xtag) {
    using T = typename decltype(xtag)::type;
    if constexpr (!(is_float_v<T> || std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>)) {
      bad(x.dtype());
    } else {
      visit_dtype(y.dtype(), [&](auto ytag) {
        using E = typename decltype(ytag)::type;
        if constexpr (!(is_float_v<E> || is_int_v<E>)) {
          bad(y.dtype());
        } else if constexpr (is_float_v<T>) {
          binary_map<T, E, T>(x, y, out, [](auto a, auto b) {
            double ad = double(a), bd = double(b);
            // x*x and sqrt are correctly rounded, as pow is meant to be; sqrt only for
            // finite x > 0 (pow(-0, 0.5) is +0 and pow(-inf, 0.5) is +inf).
            double r = bd == 2.0                                 ? ad * ad
                       : bd == 0.5 && ad > 0 && std::isfinite(ad) ? std::sqrt(ad)
                                                                  : std::pow(ad, bd);
            return from_compute_double<T>(r);
          });
        } else if constexpr (is_float_v<E>) {
          binary_map<T, E, T>(x, y, out, [](T a, auto b) {
            return saturate_cast<T>(std::pow(double(a), double(b)));
          });
        } else {
          binary_map<T, E, T>(x, y, out, [&](T a, E b) { return int_pow(a, b, zero_to_negative); });
        }
      });
    }
  });
  if (zero_to_negative) ctx.error(ErrorCode::kInvalidArgument, "integer 0 raised to a negative power");
  return {out};
}

}  // namespace

void register_pow_op(OpRegistry& r) {
  r.add({.domain = "", .name = "Pow", .min_inputs = 2, .max_inputs = 2, .infer = pow_infer,
         .cpu = pow_cpu});
}

}  // namespace kiln::ew
