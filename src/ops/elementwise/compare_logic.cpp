// Comparisons (-> bool), the bool logic ops And/Or/Xor, and Where; all broadcast numpy-style.
// Comparisons follow IEEE: anything compared with NaN is false.
#include <functional>

#include "ops/elementwise/broadcast_loop.h"
#include "ops/elementwise/elementwise_ops.h"

namespace kiln::ew {
namespace {

std::vector<ValueType> compare_infer(const InferContext& ctx) {
  if (ctx.node.op_type == "Equal") ctx.require_dtype(0, kAllTypes);
  else ctx.require_dtype(0, kNumericTypes);
  require_same_dtypes(ctx);
  return {{DType::kBool, infer_broadcast_shape(ctx)}};
}

// Checks two same-typed inputs and makes the bool output of their broadcast shape.
Tensor bool_output(const KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype())
    ctx.invalid(std::string("inputs have different types: ") + dtype_name(a.dtype()) + " and " +
                dtype_name(b.dtype()));
  return Tensor(DType::kBool, broadcast_dims(ctx, a.dims(), b.dims()));
}

template <class Cmp> std::vector<Tensor> compare_cpu(const KernelContext& ctx) {
  Tensor out = bool_output(ctx);
  const Tensor& a = ctx.input(0);
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      if constexpr (std::is_same_v<T, bool>)
        if (!std::is_same_v<Cmp, std::equal_to<>>) ctx.unsupported("bool inputs are not supported");
      binary_map<T, T, bool>(a, ctx.input(1), out, [](auto x, auto y) { return Cmp{}(x, y); });
    } else {
      ctx.unsupported("inputs of undefined type");
    }
  });
  return {out};
}

std::vector<ValueType> logic_infer(const InferContext& ctx) {
  ctx.require_dtype(0, {DType::kBool});
  ctx.require_dtype(1, {DType::kBool});
  return {{DType::kBool, infer_broadcast_shape(ctx)}};
}

template <class Fn> std::vector<Tensor> logic_cpu(const KernelContext& ctx) {
  Tensor out = bool_output(ctx);
  if (ctx.input(0).dtype() != DType::kBool) ctx.unsupported("inputs must be bool");
  binary_map<bool, bool, bool>(ctx.input(0), ctx.input(1), out, Fn{});
  return {out};
}

struct AndFn { bool operator()(bool x, bool y) const { return x && y; } };
struct OrFn { bool operator()(bool x, bool y) const { return x || y; } };
struct XorFn { bool operator()(bool x, bool y) const { return x != y; } };

// --- Where(condition, X, Y) ---

std::vector<ValueType> where_infer(const InferContext& ctx) {
  ctx.require_dtype(0, {DType::kBool});
  ctx.require_dtype(1, kAllTypes);
  if (ctx.dtype(2) != ctx.dtype(1))
    ctx.invalid(std::string("X has type ") + dtype_name(ctx.dtype(1)) + " but Y has type " +
                dtype_name(ctx.dtype(2)));
  return {{ctx.dtype(1), infer_broadcast_shape(ctx)}};
}

std::vector<Tensor> where_cpu(const KernelContext& ctx) {
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (c.dtype() != DType::kBool) ctx.unsupported("condition must be bool");
  if (x.dtype() != y.dtype()) ctx.invalid("X and Y must have one type");
  Dims dims = broadcast_dims(ctx, broadcast_dims(ctx, c.dims(), x.dims()), y.dims());
  Tensor out(x.dtype(), dims);
  BroadcastPlan<3> p = make_plan<3>(dims, {&c.dims(), &x.dims(), &y.dims()});
  const int64_t sc = p.inner_stride(0), sx = p.inner_stride(1), sy = p.inner_stride(2);
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      const bool* pc = c.data<bool>();
      const T* px = x.data<T>();
      const T* py = y.data<T>();
      T* po = out.data<T>();
      parallel_runs(p, [&](int64_t o, const std::array<int64_t, 3>& in, int64_t len) {
        const bool* cc = pc + in[0];
        const T* xx = px + in[1];
        const T* yy = py + in[2];
        T* z = po + o;
        if (sc && sx && sy) {
          for (int64_t i = 0; i < len; ++i) z[i] = cc[i] ? xx[i] : yy[i];
        } else {
          for (int64_t i = 0; i < len; ++i) z[i] = cc[i * sc] ? xx[i * sx] : yy[i * sy];
        }
      });
    } else {
      ctx.unsupported("inputs of undefined type");
    }
  });
  return {out};
}

}  // namespace

void register_compare_logic_ops(OpRegistry& r) {
  auto add = [&](const char* name, int inputs, InferFn infer, CpuKernelFn cpu) {
    r.add({.domain = "", .name = name, .min_inputs = inputs, .max_inputs = inputs, .infer = infer,
           .cpu = cpu});
  };
  add("Equal", 2, compare_infer, compare_cpu<std::equal_to<>>);
  add("Less", 2, compare_infer, compare_cpu<std::less<>>);
  add("Greater", 2, compare_infer, compare_cpu<std::greater<>>);
  add("LessOrEqual", 2, compare_infer, compare_cpu<std::less_equal<>>);
  add("GreaterOrEqual", 2, compare_infer, compare_cpu<std::greater_equal<>>);
  add("And", 2, logic_infer, logic_cpu<AndFn>);
  add("Or", 2, logic_infer, logic_cpu<OrFn>);
  add("Xor", 2, logic_infer, logic_cpu<XorFn>);
  add("Where", 3, where_infer, where_cpu);
}

}  // namespace kiln::ew
