// AttentionKeepMask (attention_keep_mask.h): shape inference and the CPU reference.
#include "ops/attention/attention_keep_mask.h"

#include <cmath>
#include <string>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace kiln::attention {
namespace {

std::vector<ValueType> infer(const InferContext& ctx) {
  const KeepMaskParams p = keep_mask_params(ctx);
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const Shape* x = ctx.shape(0);
  if (!x) return {{DType::kBool, std::nullopt}};
  if (x->size() < 3) ctx.invalid("the logits must be [B, Q, keys...], got " + shape_to_string(*x));
  Dim batch = (*x)[0].known() ? Dim((*x)[0].value * p.repeats) : Dim();
  if (p.repeats == 1) batch = (*x)[0];
  Dim keys(1);
  for (size_t i = 2; i < x->size(); ++i)
    keys = keys.known() && (*x)[i].known() ? Dim(keys.value * (*x)[i].value) : Dim();
  return {{DType::kBool, Shape{batch, (*x)[1], keys}}};
}

// The Sigmoid op's CPU formula (unary_math.cpp), in float.
float sigmoid(float x) { return x >= 0.f ? 1.f / (1.f + std::exp(-x)) : std::exp(x) / (1.f + std::exp(x)); }

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const KeepMaskParams p = keep_mask_params(ctx);
  const Tensor& x = ctx.input(0);
  if (x.rank() < 3) ctx.invalid("the logits must be [B, Q, keys...], got " + dims_to_string(x.dims()));
  if (x.dtype() != DType::kF32 && x.dtype() != DType::kF16)
    ctx.unsupported(std::string("logits of type ") + dtype_name(x.dtype()) + " are not supported");
  const int64_t B = x.dim(0), Q = x.dim(1);
  int64_t K = 1;
  for (int i = 2; i < x.rank(); ++i) K *= x.dim(i);
  Tensor y(DType::kBool, {B * p.repeats, Q, K});
  bool* out = y.data<bool>();
  std::vector<bool> masked(static_cast<size_t>(K));
  for (int64_t row = 0; row < B * Q; ++row) {
    bool all = true;
    for (int64_t k = 0; k < K; ++k) {
      const float v = x.dtype() == DType::kF32 ? x.data<float>()[row * K + k] : f16_to_float(x.data<f16>()[row * K + k].bits);
      masked[size_t(k)] = sigmoid(v) < p.threshold;
      all = all && masked[size_t(k)];
    }
    const int64_t b = row / Q, q = row % Q;
    for (int64_t r = 0; r < p.repeats; ++r) {
      bool* o = out + ((b * p.repeats + r) * Q + q) * K;
      for (int64_t k = 0; k < K; ++k) o[k] = all || !masked[size_t(k)];
    }
  }
  return {y};
}

}  // namespace

KeepMaskParams keep_mask_params(const OpContextBase& ctx) {
  KeepMaskParams p;
  p.repeats = ctx.attrs().get_int("repeats", 1);
  if (p.repeats < 1) ctx.invalid("repeats must be at least 1, got " + std::to_string(p.repeats));
  p.threshold = ctx.attrs().get_float("threshold", 0.5f);
  if (!std::isfinite(p.threshold)) ctx.invalid("threshold must be finite");
  return p;
}

void register_attention_keep_mask(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kAttentionKeepMaskOp, .min_inputs = 1, .max_inputs = 1, .infer = infer,
         .cpu = cpu});
}

}  // namespace kiln::attention
