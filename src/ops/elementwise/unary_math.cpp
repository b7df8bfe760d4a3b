// Unary math ops: one input, same-shaped output. Each op is a small struct naming the dtypes
// it accepts and its formula on the compute type (float for f32/f16/bf16, double for f64).
#include <cmath>

#include "ops/elementwise/broadcast_loop.h"
#include "ops/elementwise/elementwise_ops.h"
#include "ops/registry.h"

namespace kiln::ew {
namespace {

enum class Accepts { kFloat, kSignedOrFloat, kNumeric };

bool accepts(Accepts a, DType dt) {
  switch (a) {
    case Accepts::kFloat: return dtype_is_float(dt);
    case Accepts::kSignedOrFloat: return dtype_is_float(dt) || dtype_is_signed_int(dt);
    case Accepts::kNumeric: return dtype_is_float(dt) || dt == DType::kU8 || dtype_is_signed_int(dt);
  }
  return false;
}

// Float-only formulas.
#define KILN_FLOAT_UNARY(NAME, EXPR)                                  \
  struct NAME {                                                       \
    static constexpr Accepts accepts = Accepts::kFloat;               \
    template <class C> static C f(C x) { return EXPR; }               \
  };
KILN_FLOAT_UNARY(Exp, std::exp(x))
KILN_FLOAT_UNARY(Log, std::log(x))
KILN_FLOAT_UNARY(Sqrt, std::sqrt(x))
KILN_FLOAT_UNARY(Reciprocal, C(1) / x)
KILN_FLOAT_UNARY(Floor, std::floor(x))
KILN_FLOAT_UNARY(Ceil, std::ceil(x))
KILN_FLOAT_UNARY(Round, std::nearbyint(x))  // default rounding mode: half to even
KILN_FLOAT_UNARY(Sin, std::sin(x))
KILN_FLOAT_UNARY(Cos, std::cos(x))
KILN_FLOAT_UNARY(Tan, std::tan(x))
KILN_FLOAT_UNARY(Asin, std::asin(x))
KILN_FLOAT_UNARY(Acos, std::acos(x))
KILN_FLOAT_UNARY(Atan, std::atan(x))
KILN_FLOAT_UNARY(Sinh, std::sinh(x))
KILN_FLOAT_UNARY(Cosh, std::cosh(x))
KILN_FLOAT_UNARY(Asinh, std::asinh(x))
KILN_FLOAT_UNARY(Acosh, std::acosh(x))
KILN_FLOAT_UNARY(Atanh, std::atanh(x))
KILN_FLOAT_UNARY(Tanh, std::tanh(x))
// exp of a negative argument only: no overflow for large |x|.
KILN_FLOAT_UNARY(Sigmoid, x >= C(0) ? C(1) / (C(1) + std::exp(-x)) : std::exp(x) / (C(1) + std::exp(x)))
#undef KILN_FLOAT_UNARY

// Ops also defined on integers. Integer inputs are computed by int_f.
struct Abs {
  static constexpr Accepts accepts = Accepts::kNumeric;
  template <class C> static C f(C x) { return std::fabs(x); }
  template <class I> static I int_f(I x) {
    if constexpr (std::is_signed_v<I>) return x < 0 ? wrap_neg(x) : x;
    else return x;
  }
};
struct Neg {
  static constexpr Accepts accepts = Accepts::kSignedOrFloat;
  template <class C> static C f(C x) { return -x; }
  template <class I> static I int_f(I x) { return wrap_neg(x); }
};
struct Sign {
  static constexpr Accepts accepts = Accepts::kNumeric;
  template <class C> static C f(C x) { return std::isnan(x) ? x : C((x > C(0)) - (x < C(0))); }
  template <class I> static I int_f(I x) { return I((x > I(0)) - (x < I(0))); }
};
struct Erf {
  static constexpr Accepts accepts = Accepts::kNumeric;
  template <class C> static C f(C x) { return std::erf(x); }
  template <class I> static I int_f(I x) { return saturate_cast<I>(std::erf(double(x))); }
};

template <class Op> std::vector<ValueType> unary_infer(const InferContext& ctx) {
  if (!accepts(Op::accepts, ctx.dtype(0)))
    ctx.unsupported(std::string("input of type ") + dtype_name(ctx.dtype(0)) + " is not supported");
  return {ctx.type(0)};
}

template <class Op> std::vector<Tensor> unary_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!accepts(Op::accepts, x.dtype()))
    ctx.unsupported(std::string("input of type ") + dtype_name(x.dtype()) + " is not supported");
  Tensor out(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T>) {
      unary_map<T, T>(x, out, [](compute_t<T> v) { return Op::f(v); });
    } else if constexpr (is_int_v<T>) {
      if constexpr (requires { Op::template int_f<T>(T(0)); })
        unary_map<T, T>(x, out, [](T v) { return Op::template int_f<T>(v); });
    }
  });
  return {out};
}

template <class Op> void add_unary(OpRegistry& r, const char* name) {
  r.add({.domain = "", .name = name, .infer = unary_infer<Op>, .cpu = unary_cpu<Op>});
}

// --- bool-valued and bool ops ---

std::vector<ValueType> float_to_bool_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  return {{DType::kBool, ctx.type(0).shape}};
}

std::vector<Tensor> isnan_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor out(DType::kBool, x.dims());
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T>) unary_map<T, bool>(x, out, [](auto v) { return std::isnan(v); });
    else ctx.unsupported(std::string("input of type ") + dtype_name(x.dtype()) + " is not supported");
  });
  return {out};
}

std::vector<Tensor> isinf_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const bool neg = ctx.attrs().get_int("detect_negative", 1) != 0;
  const bool pos = ctx.attrs().get_int("detect_positive", 1) != 0;
  Tensor out(DType::kBool, x.dims());
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T>) {
      unary_map<T, bool>(x, out, [=](auto v) {
        return std::isinf(v) && (v > 0 ? pos : neg);
      });
    } else {
      ctx.unsupported(std::string("input of type ") + dtype_name(x.dtype()) + " is not supported");
    }
  });
  return {out};
}

std::vector<ValueType> not_infer(const InferContext& ctx) {
  ctx.require_dtype(0, {DType::kBool});
  return {ctx.type(0)};
}

std::vector<Tensor> not_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kBool) ctx.unsupported("input must be bool");
  Tensor out(DType::kBool, x.dims());
  unary_map<bool, bool>(x, out, [](bool v) { return !v; });
  return {out};
}

}  // namespace

void register_unary_math_ops(OpRegistry& r) {
  add_unary<Exp>(r, "Exp");
  add_unary<Log>(r, "Log");
  add_unary<Sqrt>(r, "Sqrt");
  add_unary<Reciprocal>(r, "Reciprocal");
  add_unary<Floor>(r, "Floor");
  add_unary<Ceil>(r, "Ceil");
  add_unary<Round>(r, "Round");
  add_unary<Sin>(r, "Sin");
  add_unary<Cos>(r, "Cos");
  add_unary<Tan>(r, "Tan");
  add_unary<Asin>(r, "Asin");
  add_unary<Acos>(r, "Acos");
  add_unary<Atan>(r, "Atan");
  add_unary<Sinh>(r, "Sinh");
  add_unary<Cosh>(r, "Cosh");
  add_unary<Asinh>(r, "Asinh");
  add_unary<Acosh>(r, "Acosh");
  add_unary<Atanh>(r, "Atanh");
  add_unary<Tanh>(r, "Tanh");
  add_unary<Sigmoid>(r, "Sigmoid");
  add_unary<Abs>(r, "Abs");
  add_unary<Neg>(r, "Neg");
  add_unary<Sign>(r, "Sign");
  add_unary<Erf>(r, "Erf");
  r.add({.domain = "", .name = "IsNaN", .infer = float_to_bool_infer, .cpu = isnan_cpu});
  r.add({.domain = "", .name = "IsInf", .infer = float_to_bool_infer, .cpu = isinf_cpu});
  r.add({.domain = "", .name = "Not", .infer = not_infer, .cpu = not_cpu});
}

}  // namespace kiln::ew
