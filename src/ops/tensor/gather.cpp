// Gather, GatherElements and GatherND: reads addressed by an index tensor. Indices may be
// negative (counted from the end); out-of-range indices are model errors, checked before any
// parallel loop.
#include <cstring>

#include "ops/tensor/tensor_groups.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::tensor_ops {
namespace {

// Index values normalized into [0, dim); out-of-range is a model error.
std::vector<int64_t> checked_indices(const OpContextBase& ctx, const Tensor& t, int64_t dim) {
  std::vector<int64_t> v = t.to_int64_vector();
  for (int64_t& i : v) {
    if (i < -dim || i >= dim)
      ctx.invalid("index " + std::to_string(i) + " is out of range for a dim of size " + std::to_string(dim));
    if (i < 0) i += dim;
  }
  return v;
}

std::vector<ValueType> gather_infer(const InferContext& ctx) {
  require_index_type(ctx, 1);
  const Shape* data = ctx.shape(0);
  const Shape* idx = ctx.shape(1);
  if (!data || !idx) return {{ctx.dtype(0), std::nullopt}};
  int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), int(data->size()));
  Shape out(data->begin(), data->begin() + axis);
  out.insert(out.end(), idx->begin(), idx->end());
  out.insert(out.end(), data->begin() + axis + 1, data->end());
  return {{ctx.dtype(0), out}};
}

std::vector<Tensor> gather_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  const int64_t dim = x.dim(axis);
  std::vector<int64_t> idx = checked_indices(ctx, ind, dim);
  Dims od(x.dims().begin(), x.dims().begin() + axis);
  od.insert(od.end(), ind.dims().begin(), ind.dims().end());
  od.insert(od.end(), x.dims().begin() + axis + 1, x.dims().end());
  Tensor out(x.dtype(), od);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const int64_t n = int64_t(idx.size());
  const size_t row = size_t(inner) * dtype_size(x.dtype());
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>(out.raw());
  parallel_for(outer * n, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t w = b; w < e; ++w) {
                   int64_t o = w / n, j = w % n;
                   std::memcpy(dst + size_t(w) * row, src + size_t(o * dim + idx[size_t(j)]) * row, row);
                 }
               });
  return {out};
}

std::vector<ValueType> gather_elements_infer(const InferContext& ctx) {
  require_index_type(ctx, 1);
  const Shape* data = ctx.shape(0);
  const Shape* idx = ctx.shape(1);
  if (data) {
    normalize_axis(ctx, ctx.attrs().get_int("axis", 0), int(data->size()));
    if (idx && idx->size() != data->size()) ctx.invalid("data and indices must have the same rank");
  }
  return {{ctx.dtype(0), idx ? std::optional<Shape>(*idx) : std::nullopt}};
}

std::vector<Tensor> gather_elements_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  if (ind.rank() != x.rank()) ctx.invalid("data and indices must have the same rank");
  for (int d = 0; d < x.rank(); ++d)
    if (d != axis && ind.dim(d) > x.dim(d))
      ctx.invalid("indices dims " + dims_to_string(ind.dims()) + " exceed data dims " +
                  dims_to_string(x.dims()));
  std::vector<int64_t> idx = checked_indices(ctx, ind, x.dim(axis));
  Tensor out(x.dtype(), ind.dims());
  Dims xs = contiguous_strides(x.dims());
  const int64_t axis_stride = xs[size_t(axis)];
  xs[size_t(axis)] = 0;  // the axis coordinate comes from the index instead
  const Dims& od = ind.dims();
  Dims unit(od.size(), 0);
  visit_width(dtype_size(x.dtype()), [&](auto tag) {
    using U = typename decltype(tag)::type;
    const U* src = static_cast<const U*>(x.raw());
    U* dst = static_cast<U*>(out.raw());
    parallel_for(out.numel(), 1 << 14, [&](int64_t b, int64_t e) {
      OffsetWalker w(od, xs, unit, b, 0, 0);
      for (int64_t i = b; i < e; ++i, w.next()) dst[i] = src[w.off0 + idx[size_t(i)] * axis_stride];
    });
  });
  return {out};
}

int64_t batch_dims_of(const OpContextBase& ctx, int data_rank, int idx_rank) {
  int64_t b = ctx.attrs().get_int("batch_dims", 0);
  if (b < 0 || b >= std::min(data_rank, idx_rank))
    ctx.invalid("batch_dims " + std::to_string(b) + " must be less than both ranks");
  return b;
}

std::vector<ValueType> gather_nd_infer(const InferContext& ctx) {
  ctx.require_dtype(1, {DType::kI64});
  const Shape* data = ctx.shape(0);
  const Shape* idx = ctx.shape(1);
  if (!data || !idx) return {{ctx.dtype(0), std::nullopt}};
  int64_t r = int64_t(data->size()), q = int64_t(idx->size());
  if (r < 1 || q < 1) ctx.invalid("data and indices must have rank >= 1");
  int64_t b = batch_dims_of(ctx, int(r), int(q));
  const Dim& k = idx->back();
  if (!k.known()) return {{ctx.dtype(0), std::nullopt}};
  if (k.value < 1 || k.value > r - b)
    ctx.invalid("indices' last dim " + std::to_string(k.value) + " must be in [1, " +
                std::to_string(r - b) + "]");
  Shape out(idx->begin(), idx->end() - 1);
  out.insert(out.end(), data->begin() + b + k.value, data->end());
  return {{ctx.dtype(0), out}};
}

std::vector<Tensor> gather_nd_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  int r = x.rank(), q = ind.rank();
  if (r < 1 || q < 1) ctx.invalid("data and indices must have rank >= 1");
  int64_t b = batch_dims_of(ctx, r, q);
  int64_t k = ind.dims().back();
  if (k < 1 || k > r - b) ctx.invalid("indices' last dim is out of range");
  int64_t batches = 1;
  for (int64_t d = 0; d < b; ++d) {
    if (ind.dim(int(d)) != x.dim(int(d))) ctx.invalid("batch dims of data and indices differ");
    batches *= x.dim(int(d));
  }
  Dims od(ind.dims().begin(), ind.dims().end() - 1);
  od.insert(od.end(), x.dims().begin() + b + k, x.dims().end());
  Tensor out(x.dtype(), od);
  Dims xs = contiguous_strides(x.dims());
  int64_t slice = 1;  // elements per gathered slice: data dims after the indexed ones
  for (int d = int(b + k); d < r; ++d) slice *= x.dim(d);
  const int64_t batch_stride = b > 0 ? xs[size_t(b - 1)] : x.numel();
  const int64_t tuples = ind.numel() / k;  // over all batches
  const int64_t per_batch = batches ? tuples / batches : 0;
  // Resolve every tuple to a data offset up front, validating as we go.
  std::vector<int64_t> idx = ind.to_int64_vector();
  std::vector<int64_t> offsets(static_cast<size_t>(tuples));
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = (per_batch ? t / per_batch : 0) * batch_stride;
    for (int64_t j = 0; j < k; ++j) {
      int64_t dim = x.dim(int(b + j)), v = idx[size_t(t * k + j)];
      if (v < -dim || v >= dim)
        ctx.invalid("index " + std::to_string(v) + " is out of range for a dim of size " + std::to_string(dim));
      off += (v < 0 ? v + dim : v) * xs[size_t(b + j)];
    }
    offsets[size_t(t)] = off;
  }
  const size_t es = dtype_size(x.dtype()), row = size_t(slice) * es;
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>(out.raw());
  parallel_for(tuples, std::max<int64_t>(1, 16384 / std::max<int64_t>(slice, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t)
      std::memcpy(dst + size_t(t) * row, src + size_t(offsets[size_t(t)]) * es, row);
  });
  return {out};
}

}  // namespace

void register_gather_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Gather", .min_inputs = 2, .max_inputs = 2, .infer = gather_infer,
         .cpu = gather_cpu});
  r.add({.domain = "", .name = "GatherElements", .min_inputs = 2, .max_inputs = 2,
         .infer = gather_elements_infer, .cpu = gather_elements_cpu});
  r.add({.domain = "", .name = "GatherND", .min_inputs = 2, .max_inputs = 2,
         .infer = gather_nd_infer, .cpu = gather_nd_cpu});
}

}  // namespace kiln::tensor_ops
