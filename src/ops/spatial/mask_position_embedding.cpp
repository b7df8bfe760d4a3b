// MaskPositionEmbedding (mask_position_embedding.h): shape inference and the CPU reference. Every
// step is the double-precision operation on float32 values rounded to float32, as the reference
// kernels of the replaced Sub, Div, Mul, Sin and Cos compute.
#include "ops/spatial/mask_position_embedding.h"

#include <cmath>
#include <string>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace kiln::spatial {
namespace {

std::vector<ValueType> infer(const InferContext& ctx) {
  const MaskPositionParams p = mask_position_params(ctx);
  if (ctx.dtype(0) != DType::kBool) ctx.invalid(std::string("the mask must be bool, got ") + dtype_name(ctx.dtype(0)));
  const Shape* m = ctx.shape(0);
  if (!m) return {{DType::kF32, std::nullopt}};
  if (m->size() != 3) ctx.invalid("the mask must be [B, H, W], got " + shape_to_string(*m));
  const Dim& other = (*m)[p.axis == 1 ? 2 : 1];
  if (other.known() && other.value == 0) ctx.invalid("the mask " + shape_to_string(*m) + " has no first row or column to read");
  return {{DType::kF32, Shape{(*m)[0], (*m)[size_t(p.axis)], Dim(int64_t(2 * p.divisors.size()))}}};
}

float f32(double v) { return static_cast<float>(v); }

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const MaskPositionParams p = mask_position_params(ctx);
  const Tensor& mask = ctx.input(0);
  if (mask.dtype() != DType::kBool || mask.rank() != 3) ctx.invalid("the mask must be bool [B, H, W]");
  const int64_t B = mask.dim(0), H = mask.dim(1), W = mask.dim(2);
  const int64_t n = p.axis == 1 ? H : W, K = int64_t(p.divisors.size());
  if (n > 0 && (p.axis == 1 ? W : H) == 0) ctx.invalid("the mask " + dims_to_string(mask.dims()) + " has no first row or column to read");
  Tensor y(DType::kF32, {B, n, 2 * K});
  const bool* m = mask.data<bool>();
  float* out = y.data<float>();
  const int64_t step = p.axis == 1 ? W : 1;  // from one position to the next in the mask
  std::vector<float> c(static_cast<size_t>(n));
  for (int64_t b = 0; b < B; ++b) {
    float run = 0.f;
    for (int64_t i = 0; i < n; ++i) c[size_t(i)] = run = f32(double(run) + (m[b * H * W + i * step] ? 0.0 : 1.0));
    for (int64_t i = 0; i < n; ++i) {
      const float pos = f32(double(f32(double(f32(double(c[size_t(i)]) - p.offset)) / double(c[size_t(n - 1)]))) * p.scale);
      float* o = out + (b * n + i) * 2 * K;
      for (int64_t k = 0; k < K; ++k) {
        const double a = f32(double(pos) / double(p.divisors[size_t(k)]));
        o[2 * k] = f32(std::sin(a));
        o[2 * k + 1] = f32(std::cos(a));
      }
    }
  }
  return {y};
}

}  // namespace

MaskPositionParams mask_position_params(const OpContextBase& ctx) {
  MaskPositionParams p;
  const int64_t axis = ctx.attrs().get_int("axis");
  if (axis != 1 && axis != 2) ctx.invalid("axis must be 1 (positions down the rows) or 2 (along the columns), got " + std::to_string(axis));
  p.axis = int(axis);
  p.offset = ctx.attrs().get_float("offset", 0.f);
  p.scale = ctx.attrs().get_float("scale", 1.f);
  p.divisors = ctx.attrs().get_floats("divisors");
  if (p.divisors.empty()) ctx.invalid("divisors must hold at least one value");
  for (float d : p.divisors)
    if (!std::isfinite(d) || d == 0.f) ctx.invalid("divisors must be finite and non-zero, got " + std::to_string(d));
  if (!std::isfinite(p.offset) || !std::isfinite(p.scale)) ctx.invalid("offset and scale must be finite");
  return p;
}

void register_mask_position_embedding(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kMaskPositionEmbeddingOp, .min_inputs = 1, .max_inputs = 1, .infer = infer,
         .cpu = cpu});
}

}  // namespace kiln::spatial
