// Ops that produce shape-like or generated tensors: Shape, Size, ConstantOfShape, Range,
// NonZero (whose output length depends on the data).
#include <cmath>
#include <cstring>

#include "ops/tensor/tensor_groups.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::tensor_ops {
namespace {

// Shape's [start, end) window over the dims (attributes since opset 15), clamped.
std::pair<int64_t, int64_t> shape_window(const OpContextBase& ctx, int64_t rank) {
  int64_t start = 0, end = rank;
  if (ctx.opset() >= 15) {
    start = ctx.attrs().get_int("start", 0);
    end = ctx.attrs().get_int("end", rank);
  }
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  return {start, std::max(start, end)};
}

std::vector<ValueType> shape_infer(const InferContext& ctx) {
  const Shape* in = ctx.shape(0);
  if (!in) return {{DType::kI64, Shape{Dim()}}};
  auto [s, e] = shape_window(ctx, int64_t(in->size()));
  return {{DType::kI64, Shape{Dim(e - s)}}};
}

std::vector<Tensor> shape_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  auto [s, e] = shape_window(ctx, x.rank());
  return {Tensor::from_vector<int64_t>({e - s}, Dims(x.dims().begin() + s, x.dims().begin() + e))};
}

std::vector<ValueType> size_infer(const InferContext& ctx) {
  ctx.type(0);
  return {{DType::kI64, Shape{}}};
}

std::vector<Tensor> size_cpu(const KernelContext& ctx) {
  return {Tensor::scalar<int64_t>(ctx.input(0).numel())};
}

// The fill value: the `value` attribute (one element of any kiln dtype), default float 0.
void check_shape_values(const OpContextBase& ctx, const std::vector<int64_t>& dims) {
  for (int64_t d : dims)
    if (d < 0) ctx.invalid("shape value " + std::to_string(d) + " is negative");
}

std::vector<ValueType> constant_of_shape_infer(const InferContext& ctx) {
  ctx.require_dtype(0, {DType::kI64});
  DType dt = constant_of_shape_value(ctx).dtype();
  if (auto dims = constant_ints(ctx, 0)) {
    check_shape_values(ctx, *dims);
    return {{dt, shape_of(*dims)}};
  }
  auto n = known_length(ctx, 0);
  return {{dt, n ? std::optional<Shape>(unknown_shape(size_t(*n))) : std::nullopt}};
}

std::vector<Tensor> constant_of_shape_cpu(const KernelContext& ctx) {
  Tensor v = constant_of_shape_value(ctx);
  Dims dims = kernel_ints(ctx, 0, "shape");
  check_shape_values(ctx, dims);
  checked_numel(ctx, dims);
  Tensor out(v.dtype(), dims);
  visit_width(dtype_size(v.dtype()), [&](auto tag) {
    using U = typename decltype(tag)::type;
    U bits;
    std::memcpy(&bits, v.raw(), sizeof(U));
    std::fill(static_cast<U*>(out.raw()), static_cast<U*>(out.raw()) + out.numel(), bits);
  });
  return {out};
}

constexpr std::initializer_list<DType> kRangeTypes = {DType::kF32, DType::kF64, DType::kI32,
                                                      DType::kI64};

// Range's element count: max(ceil((limit - start) / delta), 0).
int64_t range_count(const OpContextBase& ctx, const Tensor& start, const Tensor& limit,
                    const Tensor& delta) {
  for (const Tensor* t : {&start, &limit, &delta})
    if (t->numel() != 1) ctx.invalid("start, limit and delta must be scalars");
  if (dtype_is_float(start.dtype())) {
    double s = start.at_double(0), l = limit.at_double(0), d = delta.at_double(0);
    if (d == 0 || !std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d))
      ctx.invalid("delta must be nonzero and all values finite");
    double n = std::ceil((l - s) / d);
    if (n > double(int64_t(1) << 40)) ctx.invalid("Range has too many elements");
    return n > 0 ? int64_t(n) : 0;
  }
  int64_t s = start.at_int(0), l = limit.at_int(0), d = delta.at_int(0);
  if (d == 0) ctx.invalid("delta must be nonzero");
  __int128 span = __int128(l) - s, step = d;  // wide: l - s may not fit in int64
  if ((span > 0) != (step > 0) || span == 0) return 0;
  __int128 n = span > 0 ? (span + step - 1) / step : (-span - step - 1) / -step;
  if (n > (__int128(1) << 40)) ctx.invalid("Range has too many elements");
  return int64_t(n);
}

std::vector<ValueType> range_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kRangeTypes);
  for (size_t i = 1; i < 3; ++i)
    if (ctx.dtype(i) != ctx.dtype(0)) ctx.invalid("start, limit and delta differ in dtype");
  const Tensor *s = ctx.constant(0), *l = ctx.constant(1), *d = ctx.constant(2);
  if (s && l && d) return {{ctx.dtype(0), Shape{Dim(range_count(ctx, *s, *l, *d))}}};
  return {{ctx.dtype(0), Shape{Dim()}}};
}

std::vector<Tensor> range_cpu(const KernelContext& ctx) {
  const Tensor &s = ctx.input(0), &l = ctx.input(1), &d = ctx.input(2);
  if (l.dtype() != s.dtype() || d.dtype() != s.dtype()) ctx.invalid("start, limit and delta differ in dtype");
  int64_t n = range_count(ctx, s, l, d);
  Tensor out(s.dtype(), {n});
  visit_dtype(s.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      T start = s.data<T>()[0], delta = d.data<T>()[0];
      for (int64_t i = 0; i < n; ++i) out.data<T>()[i] = T(start + T(i) * delta);
    } else if constexpr (std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>) {
      T start = s.data<T>()[0], delta = d.data<T>()[0];
      for (int64_t i = 0; i < n; ++i) out.data<T>()[i] = T(start + T(i) * delta);
    } else {
      ctx.unsupported(std::string("Range of ") + dtype_name(s.dtype()));
    }
  });
  return {out};
}

std::vector<ValueType> nonzero_infer(const InferContext& ctx) {
  const Shape* in = ctx.shape(0);
  Dim rank = in ? Dim(int64_t(std::max<size_t>(in->size(), 1))) : Dim();
  return {{DType::kI64, Shape{rank, Dim()}}};
}

std::vector<Tensor> nonzero_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  // A scalar reads as a one-element vector, as onnxruntime does.
  Dims dims = x.rank() == 0 ? Dims{1} : x.dims();
  std::vector<int64_t> hits;
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      const T* p = x.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i)
        if (to_double(p[i]) != 0.0) hits.push_back(i);
    }
  });
  const int64_t n = int64_t(hits.size()), rank = int64_t(dims.size());
  Tensor out(DType::kI64, {rank, n});
  int64_t* o = out.data<int64_t>();
  for (int64_t j = 0; j < n; ++j) {
    int64_t rem = hits[size_t(j)];
    for (int64_t a = rank; a-- > 0;) {
      o[a * n + j] = rem % dims[size_t(a)];
      rem /= dims[size_t(a)];
    }
  }
  return {out};
}

}  // namespace

Tensor constant_of_shape_value(const OpContextBase& ctx) {
  if (!ctx.attrs().has("value")) return Tensor::scalar<float>(0.0f);
  const Tensor& v = ctx.attrs().get_tensor("value");
  if (v.numel() != 1) ctx.invalid("value must hold exactly one element");
  return v;
}

void register_shape_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Shape", .infer = shape_infer, .cpu = shape_cpu});
  r.add({.domain = "", .name = "Size", .infer = size_infer, .cpu = size_cpu});
  r.add({.domain = "", .name = "ConstantOfShape", .infer = constant_of_shape_infer,
         .cpu = constant_of_shape_cpu});
  r.add({.domain = "", .name = "Range", .min_inputs = 3, .max_inputs = 3, .infer = range_infer,
         .cpu = range_cpu});
  r.add({.domain = "", .name = "NonZero", .infer = nonzero_infer, .cpu = nonzero_cpu});
}

}  // namespace kiln::tensor_ops
