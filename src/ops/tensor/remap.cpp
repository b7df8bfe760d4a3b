// kiln.Remap (remap.h): attribute checks, shape inference and the CPU reference, which
// materializes every stage so that it stays obviously right: the GPU's composed map is checked
// against it.
#include "ops/tensor/remap.h"

#include <cstring>

#include "ops/registry.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::tensor_ops {

std::vector<RemapStage> remap_stages(const OpContextBase& ctx) {
  if (!ctx.attrs().has("stages")) ctx.invalid("the 'stages' attribute is missing");
  const std::vector<std::string> text = ctx.attrs().get_strings("stages");
  if (text.empty()) ctx.invalid("'stages' is empty");
  if (text.size() > kRemapMaxStages) ctx.invalid("more than " + std::to_string(kRemapMaxStages) + " stages");
  std::vector<RemapStage> out(text.size());
  std::string error;
  for (size_t i = 0; i < text.size(); ++i)
    if (!parse_remap_stage(text[i], &out[i], &error)) ctx.invalid(error);
  return out;
}

Dims remap_output_dims(const OpContextBase& ctx, const std::vector<RemapStage>& stages, const Dims& x) {
  if (x.size() > size_t(kRemapMaxRank)) ctx.unsupported("X of rank above " + std::to_string(kRemapMaxRank));
  std::string error;
  const Dims d = remap_dims(stages, x, &error);
  if (!error.empty()) ctx.invalid(error);
  return d;
}

std::vector<unsigned char> remap_fill_bytes(const OpContextBase& ctx, DType x, const Tensor* fill) {
  std::vector<unsigned char> bytes(dtype_size(x), 0);
  if (!fill) return bytes;
  if (fill->dtype() != x || fill->numel() != 1) ctx.invalid("fill must be one element of X's dtype");
  std::memcpy(bytes.data(), fill->raw(), bytes.size());
  return bytes;
}

namespace {

// y[o] = x[src(o along axis)] over [outer, dim, inner] blocks; src < 0 writes the fill.
Tensor along_axis(const Tensor& x, int axis, int64_t out_dim, const std::vector<int64_t>& src, const unsigned char* fill) {
  Dims dims = x.dims();
  dims[size_t(axis)] = out_dim;
  Tensor y(x.dtype(), dims);
  const size_t es = dtype_size(x.dtype());
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  const int64_t in_dim = x.dim(axis);
  const auto* in = static_cast<const unsigned char*>(x.raw());
  auto* out = static_cast<unsigned char*>(y.raw());
  for (int64_t b = 0; b < outer; ++b)
    for (int64_t o = 0; o < out_dim; ++o) {
      unsigned char* dst = out + size_t((b * out_dim + o) * inner) * es;
      const int64_t s = src[size_t(o)];
      if (s >= 0) std::memcpy(dst, in + size_t((b * in_dim + s) * inner) * es, size_t(inner) * es);
      else
        for (int64_t i = 0; i < inner; ++i) std::memcpy(dst + size_t(i) * es, fill, es);
    }
  return y;
}

Tensor apply_stage(const Tensor& x, const RemapStage& s, const unsigned char* fill) {
  std::string error;
  const Dims out_dims = remap_stage_dims(s, x.dims(), &error);
  KILN_ASSERT(error.empty());
  if (s.kind == RemapKind::kReshape) return x.reshaped(out_dims);
  if (s.kind == RemapKind::kTranspose) return permute(x, std::vector<int>(s.v.begin(), s.v.end()));
  const int axis = int(s.v[0]);
  const int64_t n = out_dims[size_t(axis)];
  std::vector<int64_t> src;  // the input index of each output index along the axis
  if (s.kind == RemapKind::kSlice)
    for (int64_t i = 0; i < n; ++i) src.push_back(s.v[1] + i * s.v[2]);
  else if (s.kind == RemapKind::kPad)
    for (int64_t i = 0; i < n; ++i) src.push_back(i < s.v[1] || i >= n - s.v[2] ? -1 : i - s.v[1]);
  else
    for (size_t p = 1; p < s.v.size(); p += 2)
      for (int64_t i = 0; i < s.v[p + 1]; ++i) src.push_back(s.v[p] + i);
  return along_axis(x, axis, n, src, fill);
}

}  // namespace

Tensor apply_remap_stages(const Tensor& x, const std::vector<RemapStage>& stages, const unsigned char* fill) {
  Tensor t = x;
  for (const RemapStage& s : stages) t = apply_stage(t, s, fill);
  return t;
}

namespace {

std::vector<ValueType> remap_infer(const InferContext& ctx) {
  const std::vector<RemapStage> stages = remap_stages(ctx);
  const DType dt = ctx.dtype(0);
  if (ctx.has_input(1)) {
    if (ctx.dtype(1) != dt) ctx.invalid("fill must have X's dtype");
    const Shape* f = ctx.shape(1);
    if (f && shape_known(*f) && numel_of(shape_dims(*f)) != 1) ctx.invalid("fill must have one element");
  }
  const Shape* x = ctx.shape(0);
  if (!x || !shape_known(*x)) return {{dt, std::nullopt}};  // decided once the dims are
  return {{dt, shape_of(remap_output_dims(ctx, stages, shape_dims(*x)))}};
}

std::vector<Tensor> remap_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<RemapStage> stages = remap_stages(ctx);
  remap_output_dims(ctx, stages, x.dims());
  const std::vector<unsigned char> fill = remap_fill_bytes(ctx, x.dtype(), ctx.has_input(1) ? &ctx.input(1) : nullptr);
  return {apply_remap_stages(x, stages, fill.data())};
}

}  // namespace

void register_remap_op(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kRemapOp, .min_inputs = 1, .max_inputs = 2, .infer = remap_infer,
         .cpu = remap_cpu});
}

}  // namespace kiln::tensor_ops
