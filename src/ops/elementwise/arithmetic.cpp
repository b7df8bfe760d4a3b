// Add, Sub, Mul, Div, Mod with numpy broadcasting. Both inputs have one type T.
// Integers wrap on overflow; Div truncates toward zero (C++); Mod with fmod=0 gives the
// divisor's sign (Python's %), with fmod=1 the dividend's (C's fmod / %). An integer division
// or modulo by zero is an error naming the op, reported after the loop.
#include <atomic>
#include <cmath>

#include "ops/elementwise/broadcast_loop.h"
#include "ops/elementwise/elementwise_ops.h"

namespace kiln::ew {
namespace {

std::vector<ValueType> binary_numeric_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kNumericTypes);
  require_same_dtypes(ctx);
  return {{ctx.dtype(0), infer_broadcast_shape(ctx)}};
}

// Runs make(TypeTag<T>) -> op(compute a, compute b) over the broadcast of inputs 0 and 1.
template <class Make> std::vector<Tensor> same_type_binary(const KernelContext& ctx, Make make) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype())
    ctx.invalid(std::string("inputs have different types: ") + dtype_name(a.dtype()) + " and " +
                dtype_name(b.dtype()));
  Tensor out(a.dtype(), broadcast_dims(ctx, a.dims(), b.dims()));
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T> || is_int_v<T>) binary_map<T, T, T>(a, b, out, make(tag));
    else ctx.unsupported(std::string("inputs of type ") + dtype_name(a.dtype()) + " are not supported");
  });
  return {out};
}

[[noreturn]] void division_by_zero(const KernelContext& ctx) {
  ctx.error(ErrorCode::kInvalidArgument, "integer division by zero");
}

std::vector<Tensor> add_cpu(const KernelContext& ctx) {
  return same_type_binary(ctx, [](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_int_v<T>) return [](T x, T y) { return wrap_add(x, y); };
    else return [](auto x, auto y) { return x + y; };
  });
}

std::vector<Tensor> sub_cpu(const KernelContext& ctx) {
  return same_type_binary(ctx, [](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_int_v<T>) return [](T x, T y) { return wrap_sub(x, y); };
    else return [](auto x, auto y) { return x - y; };
  });
}

std::vector<Tensor> mul_cpu(const KernelContext& ctx) {
  return same_type_binary(ctx, [](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_int_v<T>) return [](T x, T y) { return wrap_mul(x, y); };
    else return [](auto x, auto y) { return x * y; };
  });
}

std::vector<Tensor> div_cpu(const KernelContext& ctx) {
  std::atomic<bool> by_zero{false};
  auto out = same_type_binary(ctx, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_int_v<T>) {
      return [&](T x, T y) {
        if (y == 0) {
          by_zero.store(true, std::memory_order_relaxed);
          return T(0);
        }
        if constexpr (std::is_signed_v<T>)
          if (y == -1) return wrap_neg(x);  // MIN / -1 overflows
        return T(x / y);
      };
    } else {
      return [](auto x, auto y) { return x / y; };
    }
  });
  if (by_zero) division_by_zero(ctx);
  return out;
}

// --- Mod ---

bool mod_is_fmod(const OpContextBase& ctx, DType dt) {
  int64_t fmod = ctx.attrs().get_int("fmod", 0);
  if (fmod != 0 && fmod != 1) ctx.invalid("fmod must be 0 or 1, not " + std::to_string(fmod));
  if (dtype_is_float(dt) && fmod != 1) ctx.invalid("fmod must be 1 for floating-point inputs");
  return fmod == 1;
}

std::vector<ValueType> mod_infer(const InferContext& ctx) {
  auto types = binary_numeric_infer(ctx);
  mod_is_fmod(ctx, ctx.dtype(0));
  return types;
}

std::vector<Tensor> mod_cpu(const KernelContext& ctx) {
  const bool fmod = mod_is_fmod(ctx, ctx.input(0).dtype());
  std::atomic<bool> by_zero{false};
  auto out = same_type_binary(ctx, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_int_v<T>) {
      return [&](T x, T y) {
        if (y == 0) {
          by_zero.store(true, std::memory_order_relaxed);
          return T(0);
        }
        if constexpr (std::is_signed_v<T>) {
          if (y == -1) return T(0);  // MIN % -1 overflows
          T r = T(x % y);
          if (!fmod && r != 0 && ((r < 0) != (y < 0))) r = T(r + y);
          return r;
        } else {
          return T(x % y);
        }
      };
    } else {
      return [](auto x, auto y) { return std::fmod(x, y); };
    }
  });
  if (by_zero) division_by_zero(ctx);
  return out;
}

}  // namespace

void register_arithmetic_ops(OpRegistry& r) {
  auto add = [&](const char* name, CpuKernelFn cpu) {
    r.add({.domain = "", .name = name, .min_inputs = 2, .max_inputs = 2,
           .infer = binary_numeric_infer, .cpu = cpu});
  };
  add("Add", add_cpu);
  add("Sub", sub_cpu);
  add("Mul", mul_cpu);
  add("Div", div_cpu);
  r.add({.domain = "", .name = "Mod", .min_inputs = 2, .max_inputs = 2, .infer = mod_infer,
         .cpu = mod_cpu});
}

}  // namespace kiln::ew
