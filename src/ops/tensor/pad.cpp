// Pad: modes constant, reflect, edge and (opset 19) wrap; pads and constant_value as inputs,
// and (opset 18) an axes input naming which axes the pads cover. Negative pads crop.
#include <cstring>

#include "ops/tensor/tensor_groups.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::tensor_ops {
namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

PadMode pad_mode(const OpContextBase& ctx) {
  std::string m = ctx.attrs().get_string("mode", "constant");
  if (m == "constant") return PadMode::kConstant;
  if (m == "reflect") return PadMode::kReflect;
  if (m == "edge") return PadMode::kEdge;
  if (m == "wrap" && ctx.opset() >= 19) return PadMode::kWrap;
  ctx.invalid("unknown pad mode '" + m + "' for opset " + std::to_string(ctx.opset()));
}

// Per-axis (begin, end) pads from the pads values and optional axes, validated.
std::vector<std::pair<int64_t, int64_t>> axis_pads(const OpContextBase& ctx, int rank,
                                                   const std::vector<int64_t>& pads,
                                                   std::optional<std::vector<int64_t>> axes) {
  if (!axes) {
    axes.emplace();
    for (int i = 0; i < rank; ++i) axes->push_back(i);
  }
  if (pads.size() != 2 * axes->size())
    ctx.invalid("pads has " + std::to_string(pads.size()) + " values for " +
                std::to_string(axes->size()) + " axes");
  std::vector<std::pair<int64_t, int64_t>> out(size_t(rank), {0, 0});
  std::vector<bool> seen(size_t(rank), false);
  for (size_t i = 0; i < axes->size(); ++i) {
    int a = normalize_axis(ctx, (*axes)[i], rank);
    if (seen[size_t(a)]) ctx.invalid("axis " + std::to_string(a) + " is repeated");
    seen[size_t(a)] = true;
    out[size_t(a)] = {pads[i], pads[i + axes->size()]};
  }
  return out;
}

std::vector<ValueType> pad_infer(const InferContext& ctx) {
  pad_mode(ctx);
  ctx.require_dtype(1, {DType::kI64});
  if (ctx.has_input(2) && ctx.dtype(2) != ctx.dtype(0))
    ctx.invalid("constant_value and data differ in dtype");
  if (ctx.has_input(3)) require_index_type(ctx, 3);
  const Shape* in = ctx.shape(0);
  if (!in) return {{ctx.dtype(0), std::nullopt}};
  auto pads = constant_ints(ctx, 1);
  std::optional<std::vector<int64_t>> axes;
  if (ctx.has_input(3)) {
    axes = constant_ints(ctx, 3);
    if (!axes) return {{ctx.dtype(0), unknown_shape(in->size())}};
  }
  if (!pads) return {{ctx.dtype(0), unknown_shape(in->size())}};
  auto p = axis_pads(ctx, int(in->size()), *pads, axes);
  Shape out = *in;
  for (size_t i = 0; i < out.size(); ++i) {
    if (p[i].first == 0 && p[i].second == 0) continue;
    if (!out[i].known()) {
      out[i] = Dim();
      continue;
    }
    int64_t d = out[i].value + p[i].first + p[i].second;
    if (d < 0) ctx.invalid("pads make axis " + std::to_string(i) + " negative");
    out[i] = Dim(d);
  }
  return {{ctx.dtype(0), out}};
}

// Input coordinate for output coordinate o along an axis, or -1 for the constant value.
int64_t source_index(int64_t o, int64_t begin, int64_t dim, PadMode mode) {
  int64_t i = o - begin;
  if (i >= 0 && i < dim) return i;
  switch (mode) {
    case PadMode::kConstant: return -1;
    case PadMode::kEdge: return i < 0 ? 0 : dim - 1;
    case PadMode::kWrap: return ((i % dim) + dim) % dim;
    case PadMode::kReflect: {
      if (dim == 1) return 0;
      int64_t period = 2 * (dim - 1), m = ((i % period) + period) % period;
      return m < dim ? m : period - m;
    }
  }
  return -1;
}

std::vector<Tensor> pad_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  PadMode mode = pad_mode(ctx);
  std::optional<std::vector<int64_t>> axes;
  if (ctx.has_input(3)) axes = kernel_ints(ctx, 3, "axes");
  auto p = axis_pads(ctx, x.rank(), kernel_ints(ctx, 1, "pads"), axes);
  Dims od = x.dims();
  for (int i = 0; i < x.rank(); ++i) {
    od[size_t(i)] += p[size_t(i)].first + p[size_t(i)].second;
    if (od[size_t(i)] < 0) ctx.invalid("pads make axis " + std::to_string(i) + " negative");
    if (od[size_t(i)] > 0 && x.dim(i) == 0 && mode != PadMode::kConstant)
      ctx.invalid("cannot pad an empty axis in this mode");
  }
  Tensor out(x.dtype(), od);
  const size_t es = dtype_size(x.dtype());
  std::vector<uint8_t> cval(es, 0);
  if (ctx.has_input(2)) {
    const Tensor& c = ctx.input(2);
    if (c.dtype() != x.dtype()) ctx.invalid("constant_value and data differ in dtype");
    if (c.numel() != 1) ctx.invalid("constant_value must hold one value");
    std::memcpy(cval.data(), c.raw(), es);
  }
  if (out.numel() == 0) return {out};
  if (x.rank() == 0) return {x.clone()};
  // Source coordinate maps per axis, computed once.
  const int rank = x.rank();
  std::vector<std::vector<int64_t>> maps(static_cast<size_t>(rank));
  for (int a = 0; a < rank; ++a)
    for (int64_t o = 0; o < od[size_t(a)]; ++o)
      maps[size_t(a)].push_back(source_index(o, p[size_t(a)].first, x.dim(a), mode));
  const Dims xs = contiguous_strides(x.dims());
  const Dims outer(od.begin(), od.end() - 1);
  const int64_t len = od.back(), rows = numel_of(outer);
  const std::vector<int64_t>& inner = maps.back();
  visit_width(es, [&](auto tag) {
    using U = typename decltype(tag)::type;
    U fill;
    std::memcpy(&fill, cval.data(), es);
    const U* src = static_cast<const U*>(x.raw());
    U* dst = static_cast<U*>(out.raw());
    parallel_for(rows, std::max<int64_t>(1, 8192 / len), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        int64_t off = 0, rem = r;
        bool constant_row = false;
        for (size_t a = outer.size(); a-- > 0;) {
          int64_t m = maps[a][size_t(rem % outer[a])];
          rem /= outer[a];
          if (m < 0) constant_row = true;
          off += m * xs[a];
        }
        U* row = dst + r * len;
        if (constant_row) {
          std::fill(row, row + len, fill);
          continue;
        }
        for (int64_t j = 0; j < len; ++j) row[j] = inner[size_t(j)] < 0 ? fill : src[off + inner[size_t(j)]];
      }
    });
  });
  return {out};
}

}  // namespace

void register_pad_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Pad", .min_inputs = 2, .max_inputs = 4, .infer = pad_infer,
         .cpu = pad_cpu});
}

}  // namespace kiln::tensor_ops
