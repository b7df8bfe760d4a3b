// Activation functions with scalar attributes: Relu, LeakyRelu, Elu, Selu, Celu, HardSigmoid,
// HardSwish, ThresholdedRelu, Softplus, Softsign, Mish, Shrink, Gelu.
// Formulas run in the compute type (float for f32/f16/bf16, double for f64).
#include <cmath>

#include "ops/elementwise/broadcast_loop.h"
#include "ops/elementwise/elementwise_ops.h"
#include "ops/elementwise/gelu_math.h"

namespace kiln::ew {
namespace {

[[noreturn]] void bad_dtype(const OpContextBase& ctx, DType dt) {
  ctx.unsupported(std::string("input of type ") + dtype_name(dt) + " is not supported");
}

// Applies fn (generic over float/double) to a float tensor.
template <class Fn> std::vector<Tensor> map_float(const KernelContext& ctx, Fn fn) {
  const Tensor& x = ctx.input(0);
  Tensor out(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T>) unary_map<T, T>(x, out, fn);
    else bad_dtype(ctx, x.dtype());
  });
  return {out};
}

// Ops that first appeared after opset 13 are not defined for older models.
void require_opset(const InferContext& ctx, int since) {
  if (ctx.opset() < since)
    ctx.invalid(ctx.node.op_type + " requires opset " + std::to_string(since) +
                " or later; the model has opset " + std::to_string(ctx.opset()));
}

std::vector<ValueType> float_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  const std::string& op = ctx.node.op_type;
  if (op == "HardSwish") require_opset(ctx, 14);
  if (op == "Mish") require_opset(ctx, 18);
  return {ctx.type(0)};
}

// --- Relu: floats and signed integers (opset 14) ---

std::vector<ValueType> relu_infer(const InferContext& ctx) {
  DType dt = ctx.dtype(0);
  if (!dtype_is_float(dt) && !dtype_is_signed_int(dt)) bad_dtype(ctx, dt);
  return {ctx.type(0)};
}

std::vector<Tensor> relu_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor out(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T> || (is_int_v<T> && std::is_signed_v<T>)) {
      // x < 0 ? 0 : x keeps NaN.
      unary_map<T, T>(x, out, [](auto v) { return v < decltype(v)(0) ? decltype(v)(0) : v; });
    } else {
      bad_dtype(ctx, x.dtype());
    }
  });
  return {out};
}

std::vector<Tensor> leaky_relu_cpu(const KernelContext& ctx) {
  const float alpha = ctx.attrs().get_float("alpha", 0.01f);
  return map_float(ctx, [=](auto x) {
    using C = decltype(x);
    return x < C(0) ? C(alpha) * x : x;
  });
}

std::vector<Tensor> elu_cpu(const KernelContext& ctx) {
  const float alpha = ctx.attrs().get_float("alpha", 1.0f);
  return map_float(ctx, [=](auto x) {
    using C = decltype(x);
    return x < C(0) ? C(alpha) * std::expm1(x) : x;
  });
}

std::vector<Tensor> selu_cpu(const KernelContext& ctx) {
  const float alpha = ctx.attrs().get_float("alpha", 1.67326319217681884765625f);
  const float gamma = ctx.attrs().get_float("gamma", 1.05070102214813232421875f);
  return map_float(ctx, [=](auto x) {
    using C = decltype(x);
    return x > C(0) ? C(gamma) * x : C(gamma) * (C(alpha) * std::expm1(x));
  });
}

std::vector<Tensor> celu_cpu(const KernelContext& ctx) {
  const float alpha = ctx.attrs().get_float("alpha", 1.0f);
  if (alpha == 0.0f) ctx.invalid("alpha must not be 0");
  return map_float(ctx, [=](auto x) {
    using C = decltype(x);
    return x > C(0) ? x : C(alpha) * std::expm1(x / C(alpha));
  });
}

// Comparisons rather than fmin/fmax, so a NaN stays NaN.
template <class C> C clamp01(C v) { return v < C(0) ? C(0) : v > C(1) ? C(1) : v; }

std::vector<Tensor> hard_sigmoid_cpu(const KernelContext& ctx) {
  const float alpha = ctx.attrs().get_float("alpha", 0.2f);
  const float beta = ctx.attrs().get_float("beta", 0.5f);
  return map_float(ctx, [=](auto x) {
    using C = decltype(x);
    return clamp01(C(alpha) * x + C(beta));
  });
}

std::vector<Tensor> hard_swish_cpu(const KernelContext& ctx) {
  return map_float(ctx, [](auto x) {
    using C = decltype(x);
    return x * clamp01(x / C(6) + C(0.5));
  });
}

std::vector<Tensor> thresholded_relu_cpu(const KernelContext& ctx) {
  const float alpha = ctx.attrs().get_float("alpha", 1.0f);
  return map_float(ctx, [=](auto x) {
    using C = decltype(x);
    return x > C(alpha) ? x : C(0);
  });
}

// log(1 + e^x) without overflow for large x.
template <class C> C softplus(C x) {
  return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

std::vector<Tensor> softplus_cpu(const KernelContext& ctx) {
  return map_float(ctx, [](auto x) { return softplus(x); });
}

std::vector<Tensor> softsign_cpu(const KernelContext& ctx) {
  return map_float(ctx, [](auto x) {
    using C = decltype(x);
    return x / (C(1) + std::fabs(x));
  });
}

std::vector<Tensor> mish_cpu(const KernelContext& ctx) {
  return map_float(ctx, [](auto x) { return x * std::tanh(softplus(x)); });
}

// --- Gelu (opset 20): approximate = "none" (erf) or "tanh" ---

bool gelu_is_tanh(const OpContextBase& ctx) {
  std::string mode = ctx.attrs().get_string("approximate", "none");
  if (mode != "none" && mode != "tanh")
    ctx.invalid("approximate must be \"none\" or \"tanh\", not \"" + mode + "\"");
  return mode == "tanh";
}

std::vector<ValueType> gelu_infer(const InferContext& ctx) {
  require_opset(ctx, 20);
  gelu_is_tanh(ctx);
  ctx.require_dtype(0, kFloatTypes);
  return {ctx.type(0)};
}

std::vector<Tensor> gelu_cpu(const KernelContext& ctx) {
  if (gelu_is_tanh(ctx)) return map_float(ctx, [](auto x) { return ew::gelu_tanh(x); });
  return map_float(ctx, [](auto x) { return ew::gelu_erf(x); });
}

// --- Shrink: all numeric types; integers compute in double and saturate ---

std::vector<ValueType> shrink_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kNumericTypes);
  return {ctx.type(0)};
}

std::vector<Tensor> shrink_cpu(const KernelContext& ctx) {
  const float lambd = ctx.attrs().get_float("lambd", 0.5f);
  const float bias = ctx.attrs().get_float("bias", 0.0f);
  const Tensor& x = ctx.input(0);
  Tensor out(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T>) {
      unary_map<T, T>(x, out, [=](auto v) {
        using C = decltype(v);
        return v < -C(lambd) ? v + C(bias) : v > C(lambd) ? v - C(bias) : C(0);
      });
    } else if constexpr (is_int_v<T>) {
      unary_map<T, T>(x, out, [=](T v) {
        double d = double(v);
        return saturate_cast<T>(d < -double(lambd) ? d + bias : d > double(lambd) ? d - bias : 0.0);
      });
    } else {
      bad_dtype(ctx, x.dtype());
    }
  });
  return {out};
}

void add(OpRegistry& r, const char* name, InferFn infer, CpuKernelFn cpu) {
  r.add({.domain = "", .name = name, .infer = infer, .cpu = cpu});
}

}  // namespace

void register_activation_ops(OpRegistry& r) {
  add(r, "Relu", relu_infer, relu_cpu);
  add(r, "LeakyRelu", float_infer, leaky_relu_cpu);
  add(r, "Elu", float_infer, elu_cpu);
  add(r, "Selu", float_infer, selu_cpu);
  add(r, "Celu", float_infer, celu_cpu);
  add(r, "HardSigmoid", float_infer, hard_sigmoid_cpu);
  add(r, "HardSwish", float_infer, hard_swish_cpu);
  add(r, "ThresholdedRelu", float_infer, thresholded_relu_cpu);
  add(r, "Softplus", float_infer, softplus_cpu);
  add(r, "Softsign", float_infer, softsign_cpu);
  add(r, "Mish", float_infer, mish_cpu);
  add(r, "Shrink", shrink_infer, shrink_cpu);
  add(r, "Gelu", gelu_infer, gelu_cpu);
}

}  // namespace kiln::ew
