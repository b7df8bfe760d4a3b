// CumSum (opset 11-20): running sum along the axis given by a scalar int32/int64 input;
// `exclusive` leaves out the current element, `reverse` runs from the end. Float types
// accumulate in double and round each output once; integers accumulate in int64 and wrap.
#include "ops/reduce/reduce_common.h"

namespace kiln::reduce {
namespace {

void check_axis_tensor(const OpContextBase& ctx, DType dt, size_t rank, int64_t numel) {
  if (dt != DType::kI64 && dt != DType::kI32)
    ctx.invalid(std::string("axis must be int32 or int64, got ") + dtype_name(dt));
  if (rank > 1 || numel != 1) ctx.invalid("axis must be a scalar");
}

bool cumsum_dtype_ok(DType dt) {
  return dtype_is_float(dt) || dt == DType::kI64 || dt == DType::kI32 || dt == DType::kI8 ||
         dt == DType::kU8;
}

std::vector<ValueType> cumsum_infer(const InferContext& ctx) {
  if (!cumsum_dtype_ok(ctx.dtype(0)))
    ctx.unsupported(std::string("input of type ") + dtype_name(ctx.dtype(0)) + " is not supported");
  const ValueType& at = ctx.type(1);
  if (at.shape && shape_known(*at.shape))
    check_axis_tensor(ctx, at.dtype, at.shape->size(), numel_of(shape_dims(*at.shape)));
  const ValueType& in = ctx.type(0);
  if (const Tensor* c = ctx.constant(1); c && in.shape)
    normalize_axis(ctx, c->at_int(0), int(in.shape->size()));
  return {in};
}

template <class T>
void cumsum_run(const T* x, T* y, const AxisView& v, bool exclusive, bool reverse) {
  using C = compute_t<T>;
  const int64_t chunks = (v.inner + kColumnChunk - 1) / kColumnChunk;
  const int64_t work = std::max<int64_t>(1, v.axis_len * std::min(v.inner, kColumnChunk));
  parallel_for(v.outer * chunks, std::max<int64_t>(1, 32768 / work), [&](int64_t b, int64_t e) {
    C acc[kColumnChunk];
    for (int64_t item = b; item < e; ++item) {
      const int64_t o = item / chunks, c0 = (item % chunks) * kColumnChunk;
      const int64_t n = std::min(kColumnChunk, v.inner - c0);
      const int64_t off = o * v.axis_len * v.inner + c0;
      for (int64_t i = 0; i < n; ++i) acc[i] = C(0);
      for (int64_t step = 0; step < v.axis_len; ++step) {
        const int64_t a = reverse ? v.axis_len - 1 - step : step;
        const T* src = x + off + a * v.inner;
        T* dst = y + off + a * v.inner;
        for (int64_t i = 0; i < n; ++i) {
          const C cur = to_compute(src[i]);
          if (exclusive) dst[i] = from_compute<T>(acc[i]);
          if constexpr (std::is_integral_v<C>) acc[i] = C(uint64_t(acc[i]) + uint64_t(cur));
          else acc[i] += cur;
          if (!exclusive) dst[i] = from_compute<T>(acc[i]);
        }
      }
    }
  });
}

std::vector<Tensor> cumsum_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!cumsum_dtype_ok(x.dtype()))
    ctx.unsupported(std::string("input of type ") + dtype_name(x.dtype()) + " is not supported");
  const Tensor& at = ctx.input(1);
  check_axis_tensor(ctx, at.dtype(), size_t(at.rank()), at.numel());
  const int axis = normalize_axis(ctx, at.at_int(0), x.rank());
  const bool exclusive = ctx.attrs().get_int("exclusive", 0) != 0;
  const bool reverse = ctx.attrs().get_int("reverse", 0) != 0;
  Tensor y(x.dtype(), x.dims());
  if (y.numel() == 0) return {y};
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T> && !std::is_same_v<T, bool>)
      cumsum_run(x.data<T>(), y.data<T>(), axis_view(x.dims(), axis), exclusive, reverse);
  });
  return {y};
}

}  // namespace

void register_cumsum_op(OpRegistry& r) {
  r.add({.domain = "", .name = "CumSum", .min_inputs = 2, .max_inputs = 2, .infer = cumsum_infer,
         .cpu = cumsum_cpu});
}

}  // namespace kiln::reduce
