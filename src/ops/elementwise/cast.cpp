// Cast (target type from the `to` attribute) and CastLike (target type of input 1), between
// every pair of kiln's types:
//   float -> integer: truncation toward zero, saturating at the integer's limits, NaN -> 0
//                     (C++ leaves out-of-range undefined; CUDA's conversion saturates).
//   integer -> narrower integer: wraps modulo 2^bits, as static_cast.
//   anything -> bool: != 0 (NaN is true).   bool -> anything: 0 or 1.
//   -> f16/bf16/f32: round to nearest even, once (f64 -> f16 does not pass through float).
// Opset 19's `saturate` attribute only concerns float8 types, which kiln lacks: ignored.
#include "ops/elementwise/broadcast_loop.h"
#include "ops/elementwise/elementwise_ops.h"

namespace kiln::ew {
namespace {

DType cast_target(const OpContextBase& ctx) {
  if (!ctx.attrs().has("to")) ctx.invalid("missing required attribute 'to'");
  int64_t to = ctx.attrs().get_int("to");
  try {
    return dtype_from_onnx(int32_t(to));
  } catch (const Error& e) {
    ctx.unsupported("cannot cast to " + onnx_type_name(int32_t(to)) + ": " + e.what());
  }
}

template <class TI, class TO> TO convert(TI v) {
  if constexpr (std::is_same_v<TI, TO>) {
    return v;
  } else if constexpr (std::is_same_v<TO, bool>) {
    return load(v) != 0;  // for NaN too
  } else if constexpr (is_int_v<TO>) {
    if constexpr (is_float_v<TI>) return saturate_cast<TO>(double(load(v)));
    else return static_cast<TO>(v);  // integers and bool: modular, as C++20 defines
  } else if constexpr (std::is_same_v<TO, float> && !std::is_same_v<TI, double>) {
    return static_cast<float>(load(v));  // exact from halves and bool; one rounding from ints
  } else if constexpr (std::is_same_v<TO, double>) {
    return static_cast<double>(load(v));
  } else if constexpr (std::is_same_v<TI, float> || is_half_v<TI>) {
    return store<TO>(static_cast<float>(load(v)));  // float -> half: one rounding
  } else {
    // f64 or integer -> float/half: through double, which holds every int32 exactly (and
    // int64 up to 2^53); one rounding from there.
    return from_compute_double<TO>(static_cast<double>(v));
  }
}

Tensor cast_to(const OpContextBase& ctx, const Tensor& x, DType to) {
  if (x.dtype() == to) return x.clone();
  Tensor out(to, x.dims());
  visit_dtype(x.dtype(), [&](auto itag) {
    using TI = typename decltype(itag)::type;
    // TI is tested out here: clang 14 (the fuzz build) instantiates an inner lambda's discarded
    // `if constexpr` branch when its condition depends only on the outer lambda's type.
    if constexpr (std::is_void_v<TI>) {
      ctx.unsupported("cast involving an undefined type");
    } else {
      visit_dtype(to, [&](auto otag) {
        using TO = typename decltype(otag)::type;
        if constexpr (std::is_void_v<TO>) {
          ctx.unsupported("cast involving an undefined type");
        } else {
          const TI* in = x.data<TI>();
          TO* o = out.data<TO>();
          parallel_for(x.numel(), kMinChunk, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) o[i] = convert<TI, TO>(in[i]);
          });
        }
      });
    }
  });
  return out;
}

std::vector<ValueType> cast_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kAllTypes);
  return {{cast_target(ctx), ctx.type(0).shape}};
}

std::vector<Tensor> cast_cpu(const KernelContext& ctx) {
  return {cast_to(ctx, ctx.input(0), cast_target(ctx))};
}

std::vector<ValueType> cast_like_infer(const InferContext& ctx) {
  if (ctx.opset() < 15) ctx.invalid("CastLike requires opset 15 or later");
  ctx.require_dtype(0, kAllTypes);
  ctx.require_dtype(1, kAllTypes);
  return {{ctx.dtype(1), ctx.type(0).shape}};
}

std::vector<Tensor> cast_like_cpu(const KernelContext& ctx) {
  return {cast_to(ctx, ctx.input(0), ctx.input(1).dtype())};
}

}  // namespace

void register_cast_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Cast", .infer = cast_infer, .cpu = cast_cpu});
  r.add({.domain = "", .name = "CastLike", .min_inputs = 2, .max_inputs = 2,
         .infer = cast_like_infer, .cpu = cast_like_cpu});
}

}  // namespace kiln::ew
