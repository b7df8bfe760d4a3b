// Concat and Split: joining and cutting tensors along one axis.
#include <algorithm>
#include <cstring>

#include "ops/tensor/tensor_groups.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::tensor_ops {
namespace {

std::vector<ValueType> concat_infer(const InferContext& ctx) {
  DType dt = ctx.dtype(0);
  std::optional<Shape> out;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.dtype(i) != dt) ctx.invalid("inputs have different dtypes");
    const Shape* s = ctx.shape(i);
    if (s && !out) out = *s;
    if (s && s->size() != out->size()) ctx.invalid("inputs have different ranks");
  }
  if (!out) return {{dt, std::nullopt}};
  int axis = normalize_axis(ctx, ctx.attrs().get_int("axis"), int(out->size()));
  Dim total(0);
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Shape* s = ctx.shape(i);
    if (!s) {
      total = Dim();
      continue;
    }
    for (size_t d = 0; d < s->size(); ++d) {
      if (int(d) == axis) continue;
      Dim& o = (*out)[d];
      const Dim& v = (*s)[d];
      if (o.known() && v.known() && o.value != v.value)
        ctx.invalid("input " + std::to_string(i) + " has shape " + shape_to_string(*s) +
                    ", incompatible with " + shape_to_string(*out) + " off the concat axis");
      if (!o.known() && (v.known() || o.symbol.empty())) o = v;
    }
    const Dim& a = (*s)[size_t(axis)];
    total = total.known() && a.known() ? Dim(total.value + a.value) : Dim();
  }
  (*out)[size_t(axis)] = total;
  return {{dt, out}};
}

std::vector<Tensor> concat_cpu(const KernelContext& ctx) {
  const Tensor& first = ctx.input(0);
  int rank = first.rank();
  int axis = normalize_axis(ctx, ctx.attrs().get_int("axis"), rank);
  Dims out_dims = first.dims();
  out_dims[size_t(axis)] = 0;
  std::vector<int64_t> row_len;  // elements each input adds to one output row
  int64_t inner = 1;
  for (int d = axis + 1; d < rank; ++d) inner *= first.dim(d);
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != first.dtype() || t.rank() != rank) ctx.invalid("inputs differ in dtype or rank");
    for (int d = 0; d < rank; ++d)
      if (d != axis && t.dim(d) != first.dim(d))
        ctx.invalid("input " + std::to_string(i) + " has dims " + dims_to_string(t.dims()) +
                    ", incompatible with " + dims_to_string(first.dims()));
    out_dims[size_t(axis)] += t.dim(axis);
    row_len.push_back(t.dim(axis) * inner);
  }
  Tensor out(first.dtype(), out_dims);
  const size_t es = dtype_size(first.dtype());
  int64_t row = 0;
  for (int64_t l : row_len) row += l;
  if (out.numel() == 0) return {out};
  uint8_t* dst = static_cast<uint8_t*>(out.raw());
  // Split the output's elements evenly across threads; each piece walks rows and inputs.
  parallel_for(out.numel(), 1 << 15, [&](int64_t b, int64_t e) {
    int64_t r = b / row, pos = b % row;
    size_t i = 0;
    while (pos >= row_len[i]) pos -= row_len[i++];
    for (int64_t at = b; at < e;) {
      int64_t n = std::min(row_len[i] - pos, e - at);
      const uint8_t* src = static_cast<const uint8_t*>(ctx.input(i).raw());
      std::memcpy(dst + size_t(at) * es, src + size_t(r * row_len[i] + pos) * es, size_t(n) * es);
      at += n;
      pos += n;
      if (pos == row_len[i]) {
        pos = 0;
        if (++i == row_len.size()) {
          i = 0;
          ++r;
        }
        while (at < e && row_len[i] == 0) {  // skip empty inputs
          if (++i == row_len.size()) {
            i = 0;
            ++r;
          }
        }
      }
    }
  });
  return {out};
}

// Split sizes along the axis, or nullopt when they depend on unknown values.
std::optional<std::vector<int64_t>> split_sizes(const OpContextBase& ctx, const Dim& dim,
                                                std::optional<std::vector<int64_t>> given,
                                                bool given_present, size_t outputs) {
  if (given_present) {
    if (!given) return std::nullopt;
    if (given->size() != outputs)
      ctx.invalid("split has " + std::to_string(given->size()) + " entries for " +
                  std::to_string(outputs) + " outputs");
    int64_t sum = 0;
    for (int64_t v : *given) {
      if (v < 0) ctx.invalid("split sizes must be non-negative");
      sum += v;
    }
    if (dim.known() && sum != dim.value)
      ctx.invalid("split sizes sum to " + std::to_string(sum) + ", not the axis size " +
                  std::to_string(dim.value));
    return given;
  }
  int64_t n = int64_t(outputs);
  bool uneven_ok = false;
  if (ctx.opset() >= 18 && ctx.attrs().has("num_outputs")) {
    n = ctx.attrs().get_int("num_outputs");
    if (n != int64_t(outputs))
      ctx.invalid("num_outputs is " + std::to_string(n) + " but the node has " +
                  std::to_string(outputs) + " outputs");
    uneven_ok = true;
  }
  if (n <= 0) ctx.invalid("Split needs at least one output");
  if (!dim.known()) return std::nullopt;
  int64_t chunk = (dim.value + n - 1) / n;
  if (!uneven_ok && dim.value % n != 0)
    ctx.invalid("axis size " + std::to_string(dim.value) + " does not split evenly into " +
                std::to_string(n) + " parts");
  if (chunk * (n - 1) > dim.value)
    ctx.invalid("axis size " + std::to_string(dim.value) + " cannot be split into " +
                std::to_string(n) + " non-empty parts");
  std::vector<int64_t> sizes(size_t(n), chunk);
  sizes.back() = dim.value - chunk * (n - 1);
  return sizes;
}

std::vector<ValueType> split_infer(const InferContext& ctx) {
  DType dt = ctx.dtype(0);
  size_t n = ctx.num_outputs();
  std::optional<std::vector<int64_t>> given;
  bool present = false;
  if (ctx.opset() < 13) {
    present = ctx.attrs().has("split");
    if (present) given = ctx.attrs().get_ints("split");
  } else if (ctx.has_input(1)) {
    require_index_type(ctx, 1);
    present = true;
    given = constant_ints(ctx, 1);
  }
  if (ctx.opset() >= 18 && present && ctx.attrs().has("num_outputs"))
    ctx.invalid("split and num_outputs cannot both be given");
  const Shape* in = ctx.shape(0);
  if (!in) {
    split_sizes(ctx, Dim(), given, present, n);  // still validates counts
    return std::vector<ValueType>(n, ValueType{dt, std::nullopt});
  }
  int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), int(in->size()));
  auto sizes = split_sizes(ctx, (*in)[size_t(axis)], given, present, n);
  std::vector<ValueType> out;
  for (size_t i = 0; i < n; ++i) {
    Shape s = *in;
    s[size_t(axis)] = sizes ? Dim((*sizes)[i]) : Dim();
    out.push_back({dt, s});
  }
  return out;
}

std::vector<Tensor> split_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank());
  std::optional<std::vector<int64_t>> given;
  bool present = false;
  if (ctx.opset() < 13) {
    present = ctx.attrs().has("split");
    if (present) given = ctx.attrs().get_ints("split");
  } else if (ctx.has_input(1)) {
    present = true;
    given = kernel_ints(ctx, 1, "split");
  }
  int64_t dim = x.dim(axis);
  std::vector<int64_t> sizes = *split_sizes(ctx, Dim(dim), given, present, ctx.num_outputs());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  std::vector<Tensor> out;
  int64_t start = 0;
  for (int64_t size : sizes) {
    Dims od = x.dims();
    od[size_t(axis)] = size;
    Tensor t(x.dtype(), od);
    strided_copy(dtype_size(x.dtype()), t.raw(), {outer, size * inner}, x.raw(), start * inner,
                 {dim * inner, 1});
    out.push_back(t);
    start += size;
  }
  return out;
}

}  // namespace

void register_concat_split_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Concat", .min_inputs = 1, .max_inputs = -1, .infer = concat_infer,
         .cpu = concat_cpu});
  r.add({.domain = "", .name = "Split", .min_inputs = 1, .max_inputs = 2, .min_outputs = 1,
         .max_outputs = -1, .infer = split_infer, .cpu = split_cpu});
}

}  // namespace kiln::tensor_ops
