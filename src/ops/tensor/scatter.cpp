// ScatterElements and ScatterND: copies of data with addressed elements replaced or combined
// (reduction none/add/mul/max/min). Updates apply in order, so with duplicate indices and no
// reduction the last one wins, as in the ONNX reference.
#include <algorithm>
#include <cstring>

#include "ops/tensor/tensor_groups.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::tensor_ops {
namespace {

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Reduction reduction_of(const OpContextBase& ctx) {
  std::string r = ctx.attrs().get_string("reduction", "none");
  if (r == "none") return Reduction::kNone;
  if (r == "add") return Reduction::kAdd;
  if (r == "mul") return Reduction::kMul;
  if (r == "max") return Reduction::kMax;
  if (r == "min") return Reduction::kMin;
  ctx.invalid("unknown reduction '" + r + "'");
}

// Combines in the element's own type; 16-bit floats go through float and round once.
template <class T> T combine(T a, T b, Reduction r) {
  if constexpr (std::is_same_v<T, bool>) {
    switch (r) {
      case Reduction::kAdd: case Reduction::kMax: return a || b;
      case Reduction::kMul: case Reduction::kMin: return a && b;
      default: return b;
    }
  } else if constexpr (std::is_same_v<T, f16> || std::is_same_v<T, bf16>) {
    double x = to_double(a), y = to_double(b);
    return from_double<T>(r == Reduction::kAdd ? x + y : r == Reduction::kMul ? x * y
                          : r == Reduction::kMax ? std::max(x, y) : r == Reduction::kMin ? std::min(x, y) : y);
  } else {
    switch (r) {
      case Reduction::kAdd: return T(a + b);
      case Reduction::kMul: return T(a * b);
      case Reduction::kMax: return std::max(a, b);
      case Reduction::kMin: return std::min(a, b);
      default: return b;
    }
  }
}

std::vector<ValueType> scatter_infer_common(const InferContext& ctx) {
  if (ctx.dtype(2) != ctx.dtype(0)) ctx.invalid("updates and data differ in dtype");
  reduction_of(ctx);
  return {ctx.type(0)};
}

std::vector<ValueType> scatter_elements_infer(const InferContext& ctx) {
  require_index_type(ctx, 1);
  const Shape* data = ctx.shape(0);
  if (data) normalize_axis(ctx, ctx.attrs().get_int("axis", 0), int(data->size()));
  return scatter_infer_common(ctx);
}

std::vector<Tensor> scatter_elements_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  Reduction red = reduction_of(ctx);
  int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  if (ind.rank() != x.rank() || upd.dims() != ind.dims() || upd.dtype() != x.dtype())
    ctx.invalid("indices and updates must have the same shape and data's rank");
  for (int d = 0; d < x.rank(); ++d)
    if (d != axis && ind.dim(d) > x.dim(d)) ctx.invalid("indices dims exceed data dims");
  const int64_t dim = x.dim(axis);
  std::vector<int64_t> idx = ind.to_int64_vector();
  for (int64_t& i : idx) {
    if (i < -dim || i >= dim) ctx.invalid("index " + std::to_string(i) + " is out of range");
    if (i < 0) i += dim;
  }
  Tensor out = x.clone();
  Dims xs = contiguous_strides(x.dims());
  const int64_t axis_stride = xs[size_t(axis)];
  xs[size_t(axis)] = 0;
  Dims unit(xs.size(), 0);
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      T* dst = out.data<T>();
      const T* u = upd.data<T>();
      if (ind.numel() == 0) return;
      OffsetWalker w(ind.dims(), xs, unit, 0, 0, 0);
      for (int64_t i = 0; i < ind.numel(); ++i, w.next()) {
        T& slot = dst[w.off0 + idx[size_t(i)] * axis_stride];
        slot = combine(slot, u[i], red);
      }
    }
  });
  return {out};
}

std::vector<ValueType> scatter_nd_infer(const InferContext& ctx) {
  ctx.require_dtype(1, {DType::kI64});
  const Shape* data = ctx.shape(0);
  const Shape* idx = ctx.shape(1);
  const Shape* upd = ctx.shape(2);
  if (data && idx && upd && !idx->empty() && idx->back().known()) {
    int64_t k = idx->back().value;
    if (k < 1 || k > int64_t(data->size())) ctx.invalid("indices' last dim is out of range");
    if (upd->size() != idx->size() - 1 + data->size() - size_t(k))
      ctx.invalid("updates have the wrong rank");
  }
  return scatter_infer_common(ctx);
}

std::vector<Tensor> scatter_nd_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  Reduction red = reduction_of(ctx);
  if (ind.rank() < 1 || upd.dtype() != x.dtype()) ctx.invalid("bad indices rank or updates dtype");
  int64_t k = ind.dims().back();
  if (k < 1 || k > x.rank()) ctx.invalid("indices' last dim is out of range");
  Dims want(ind.dims().begin(), ind.dims().end() - 1);
  want.insert(want.end(), x.dims().begin() + k, x.dims().end());
  if (upd.dims() != want)
    ctx.invalid("updates have dims " + dims_to_string(upd.dims()) + ", expected " + dims_to_string(want));
  Dims xs = contiguous_strides(x.dims());
  int64_t slice = 1;
  for (int d = int(k); d < x.rank(); ++d) slice *= x.dim(d);
  const int64_t tuples = k ? ind.numel() / k : 0;
  std::vector<int64_t> idx = ind.to_int64_vector();
  std::vector<int64_t> offsets(static_cast<size_t>(tuples));
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t dim = x.dim(int(j)), v = idx[size_t(t * k + j)];
      if (v < -dim || v >= dim) ctx.invalid("index " + std::to_string(v) + " is out of range");
      off += (v < 0 ? v + dim : v) * xs[size_t(j)];
    }
    offsets[size_t(t)] = off;
  }
  Tensor out = x.clone();
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      T* dst = out.data<T>();
      const T* u = upd.data<T>();
      for (int64_t t = 0; t < tuples; ++t)
        for (int64_t j = 0; j < slice; ++j) {
          T& slot = dst[offsets[size_t(t)] + j];
          slot = combine(slot, u[t * slice + j], red);
        }
    }
  });
  return {out};
}

}  // namespace

void register_scatter_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "ScatterElements", .min_inputs = 3, .max_inputs = 3,
         .infer = scatter_elements_infer, .cpu = scatter_elements_cpu});
  r.add({.domain = "", .name = "ScatterND", .min_inputs = 3, .max_inputs = 3,
         .infer = scatter_nd_infer, .cpu = scatter_nd_cpu});
}

}  // namespace kiln::tensor_ops
