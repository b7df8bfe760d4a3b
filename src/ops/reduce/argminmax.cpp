// ArgMax / ArgMin (opset 11-20): int64 index of the extreme element along `axis`; ties go to
// the first index, or the last with select_last_index (opset 12+).
#include "ops/reduce/arg_select.h"

namespace kiln::reduce {
namespace {

struct ArgParams {
  int64_t axis = 0;
  bool keepdims = true;
  bool select_last = false;
};

ArgParams arg_params(const OpContextBase& ctx) {
  ArgParams p;
  p.axis = ctx.attrs().get_int("axis", 0);
  p.keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  p.select_last = ctx.attrs().get_int("select_last_index", 0) != 0;
  return p;
}

std::vector<ValueType> arg_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kNumericTypes);
  const ArgParams p = arg_params(ctx);
  ValueType out{DType::kI64, std::nullopt};
  if (const Shape* in = ctx.shape(0)) {
    const int axis = normalize_axis(ctx, p.axis, int(in->size()));
    Shape s = *in;
    if (p.keepdims) s[size_t(axis)] = Dim(1);
    else s.erase(s.begin() + axis);
    out.shape = std::move(s);
  }
  return {out};
}

template <bool kMax> std::vector<Tensor> arg_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() == DType::kBool)
    ctx.unsupported(std::string("input of type ") + dtype_name(x.dtype()) + " is not supported");
  const ArgParams p = arg_params(ctx);
  const int axis = normalize_axis(ctx, p.axis, x.rank());
  Dims dims = x.dims();
  if (p.keepdims) dims[size_t(axis)] = 1;
  else dims.erase(dims.begin() + axis);
  Tensor y(DType::kI64, dims);
  if (y.numel() == 0) return {y};
  const AxisView v = axis_view(x.dims(), axis);
  if (v.axis_len == 0)
    ctx.error(ErrorCode::kInvalidArgument, "cannot select an index along an empty axis");
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T> && !std::is_same_v<T, bool>) {
      if (p.select_last) arg_select<kMax, true>(x.data<T>(), y.data<int64_t>(), v);
      else arg_select<kMax, false>(x.data<T>(), y.data<int64_t>(), v);
    }
  });
  return {y};
}

}  // namespace

void register_arg_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "ArgMax", .min_inputs = 1, .max_inputs = 1, .infer = arg_infer,
         .cpu = arg_cpu<true>});
  r.add({.domain = "", .name = "ArgMin", .min_inputs = 1, .max_inputs = 1, .infer = arg_infer,
         .cpu = arg_cpu<false>});
}

}  // namespace kiln::reduce
