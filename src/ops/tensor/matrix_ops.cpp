// Ops that generate or mask by matrix position: Trilu, EyeLike, OneHot.
#include <algorithm>
#include <cstring>

#include "ops/tensor/tensor_groups.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::tensor_ops {
namespace {

std::vector<ValueType> trilu_infer(const InferContext& ctx) {
  if (ctx.has_input(1)) ctx.require_dtype(1, {DType::kI64});
  const Shape* in = ctx.shape(0);
  if (in && in->size() < 2) ctx.invalid("input must have rank >= 2");
  return {ctx.type(0)};
}

std::vector<Tensor> trilu_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) ctx.invalid("input must have rank >= 2");
  int64_t k = 0;
  if (ctx.has_input(1)) {
    if (ctx.input(1).numel() != 1) ctx.invalid("k must hold one value");
    k = ctx.input(1).at_int(0);
  }
  const bool upper = ctx.attrs().get_int("upper", 1) != 0;
  const int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  Tensor out = x.clone();
  const int64_t mats = rows * cols != 0 ? x.numel() / (rows * cols) : 0;
  const size_t es = dtype_size(x.dtype());
  uint8_t* p = static_cast<uint8_t*>(out.raw());
  // Zero (all-zero bytes in every kiln dtype) what lies outside the kept triangle.
  parallel_for(mats * rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(cols, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t i = r % rows;
      uint8_t* row = p + size_t(r * cols) * es;
      // upper keeps j - i >= k; lower keeps j - i <= k.
      int64_t cut = std::clamp<int64_t>(upper ? i + k : i + k + 1, 0, cols);
      if (upper) std::memset(row, 0, size_t(cut) * es);
      else std::memset(row + size_t(cut) * es, 0, size_t(cols - cut) * es);
    }
  });
  return {out};
}

DType eye_dtype(const OpContextBase& ctx, DType input) {
  if (!ctx.attrs().has("dtype")) return input;
  return dtype_from_onnx(int32_t(ctx.attrs().get_int("dtype")));
}

std::vector<ValueType> eye_like_infer(const InferContext& ctx) {
  const Shape* in = ctx.shape(0);
  if (in && in->size() != 2) ctx.invalid("input must be 2-D");
  return {{eye_dtype(ctx, ctx.dtype(0)), in ? std::optional<Shape>(*in) : unknown_shape(2)}};
}

std::vector<Tensor> eye_like_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 2) ctx.invalid("input must be 2-D");
  const int64_t k = ctx.attrs().get_int("k", 0);
  Tensor out(eye_dtype(ctx, x.dtype()), x.dims());
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      T* p = out.data<T>();
      for (int64_t i = 0; i < x.dim(0); ++i) {
        int64_t j = i + k;
        if (j >= 0 && j < x.dim(1)) p[i * x.dim(1) + j] = from_double<T>(1.0);
      }
    }
  });
  return {out};
}

int onehot_axis(const OpContextBase& ctx, int in_rank) {
  int64_t axis = ctx.attrs().get_int("axis", -1);
  return normalize_axis(ctx, axis, in_rank + 1);
}

int64_t onehot_depth(const OpContextBase& ctx, const Tensor& depth) {
  if (depth.numel() != 1) ctx.invalid("depth must hold one value");
  double d = depth.at_double(0);
  if (!(d >= 1)) ctx.invalid("depth must be positive");
  return int64_t(d);
}

std::vector<ValueType> onehot_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kNumericTypes);
  ctx.require_dtype(1, kNumericTypes);
  const Shape* in = ctx.shape(0);
  const Shape* values = ctx.shape(2);
  if (values && values->size() != 1) ctx.invalid("values must be a 1-D tensor of [off, on]");
  DType dt = ctx.dtype(2);
  if (!in) return {{dt, std::nullopt}};
  int axis = onehot_axis(ctx, int(in->size()));
  const Tensor* depth = ctx.constant(1);
  Shape out = *in;
  out.insert(out.begin() + axis, depth ? Dim(onehot_depth(ctx, *depth)) : Dim());
  return {{dt, out}};
}

std::vector<Tensor> onehot_cpu(const KernelContext& ctx) {
  const Tensor& ind = ctx.input(0);
  const Tensor& vals = ctx.input(2);
  if (vals.numel() != 2) ctx.invalid("values must hold [off, on]");
  const int64_t depth = onehot_depth(ctx, ctx.input(1));
  const int axis = onehot_axis(ctx, ind.rank());
  Dims od = ind.dims();
  od.insert(od.begin() + axis, depth);
  checked_numel(ctx, od);
  Tensor out(vals.dtype(), od);
  int64_t inner = 1;
  for (int d = axis; d < ind.rank(); ++d) inner *= ind.dim(d);
  const int64_t outer = inner ? ind.numel() / inner : 0;
  const size_t es = dtype_size(vals.dtype());
  const uint8_t* off = static_cast<const uint8_t*>(vals.raw());
  uint8_t* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t i = 0; i < out.numel(); ++i) std::memcpy(dst + size_t(i) * es, off, es);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      // Indices may be any numeric type; floats truncate. Out-of-range rows stay all "off".
      double v = ind.at_double(o * inner + i);
      int64_t h = int64_t(v);
      if (h < 0) h += depth;
      if (h < 0 || h >= depth) continue;
      std::memcpy(dst + size_t((o * depth + h) * inner + i) * es, off + es, es);
    }
  return {out};
}

}  // namespace

void register_matrix_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Trilu", .min_inputs = 1, .max_inputs = 2, .infer = trilu_infer,
         .cpu = trilu_cpu});
  r.add({.domain = "", .name = "EyeLike", .infer = eye_like_infer, .cpu = eye_like_cpu});
  r.add({.domain = "", .name = "OneHot", .min_inputs = 3, .max_inputs = 3, .infer = onehot_infer,
         .cpu = onehot_cpu});
}

}  // namespace kiln::tensor_ops
