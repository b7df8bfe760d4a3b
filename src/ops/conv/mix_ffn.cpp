// MixFFN (mix_ffn.h): type and shape inference, and the CPU reference — the four nodes the
// fused one replaced, run through their own references.
#include "ops/conv/mix_ffn.h"

#include <string>

#include "ops/conv/conv_ops.h"
#include "ops/conv/depthwise_nhwc.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace kiln::conv {
namespace {

const char* const kSlotNames[kMixInputsNormed] = {"X", "S", "Bn", "W1", "B1", "Wd", "Bd", "W2", "B2", "S2", "Bn2"};

std::vector<ValueType> infer(const InferContext& ctx) {
  std::vector<ValueType> in;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) in.push_back(ctx.type(i));
  return {mix_ffn_type(ctx, in)};
}

// A LayerNorm over the last axis, as one of the reference's steps.
Node layer_norm_step(const Node& self, float epsilon) {
  Node ln = reference_step(self, "LayerNormalization", false);
  ln.attrs.set("axis", int64_t(-1));
  ln.attrs.set("epsilon", epsilon);
  return ln;
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  std::vector<ValueType> types;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) types.push_back({ctx.input(i).dtype(), shape_of(ctx.input(i).dims())});
  mix_ffn_type(ctx, types);
  const Node& self = ctx.node;
  const Node ln = layer_norm_step(self, ctx.attrs().get_float("epsilon", 1e-5f));
  Node fc1 = reference_step(self, "FusedMatMul", true);
  Node dw = reference_step(self, kDepthwiseNhwcOp, true);
  for (const char* a : {"height", "width"}) dw.attrs.set(a, ctx.attrs().get_int(a));
  dw.attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  dw.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  dw.attrs.set("activation", ctx.attrs().get_string("activation", "none"));
  Node fc2 = reference_step(self, "FusedMatMul", true);
  const Tensor* x = &ctx.input(kMixX);
  const Tensor l = run_cpu_reference(ln, {x, &ctx.input(kMixScale), &ctx.input(kMixShift)});
  const Tensor h = run_cpu_reference(fc1, {&l, &ctx.input(kMixW1), &ctx.input(kMixB1)});
  const Tensor d = run_cpu_reference(dw, {&h, &ctx.input(kMixWd), &ctx.input(kMixBd)});
  Tensor y = run_cpu_reference(fc2, {&d, &ctx.input(kMixW2), &ctx.input(kMixB2), x});
  if (!mix_ffn_normed(ctx.num_inputs())) return {std::move(y)};
  const Node norm = layer_norm_step(self, ctx.attrs().get_float("norm_epsilon", 1e-5f));
  return {run_cpu_reference(norm, {&y, &ctx.input(kMixNormScale), &ctx.input(kMixNormShift)})};
}

}  // namespace

bool mix_ffn_fits(int64_t channels, int64_t hidden) {
  return (channels == 32 || channels == 64 || channels == 128) && hidden >= 64 && hidden % 64 == 0;
}

ValueType mix_ffn_type(const OpContextBase& ctx, const std::vector<ValueType>& in) {
  if (in.size() != kMixInputs && in.size() != kMixInputsNormed)
    ctx.invalid("takes 9 inputs (X, S, Bn, W1, B1, Wd, Bd, W2, B2) or 11 (and S2, Bn2), got " + std::to_string(in.size()));
  const int inputs = int(in.size());
  const DType x = in[kMixX].dtype;
  if (x != DType::kF32 && x != DType::kF16)
    ctx.invalid(std::string("X is ") + dtype_name(x) + ", not float32 or float16");
  // The output LayerNorm's output is float16: the mixed LayerNorm's (float32 in, Scale float16).
  const DType y = inputs == kMixInputsNormed ? DType::kF16 : x;
  for (int i = kMixScale; i < inputs; ++i) {
    const DType want = i == kMixB2 ? x : DType::kF16;
    if (in[size_t(i)].dtype != want)
      ctx.invalid(std::string(kSlotNames[i]) + " is " + dtype_name(in[size_t(i)].dtype) + ", not " + dtype_name(want) +
                  (i == kMixB2 ? " (X's type)" : ""));
  }
  for (const char* a : {"height", "width"})
    if (!ctx.attrs().has(a)) ctx.invalid(std::string("the ") + a + " attribute is required");
  const int64_t height = ctx.attrs().get_int("height"), width = ctx.attrs().get_int("width");
  if (height < 1 || width < 1)
    ctx.invalid("height " + std::to_string(height) + " and width " + std::to_string(width) + " must be positive");
  for (const char* a : {"epsilon", "norm_epsilon"})
    if (!(ctx.attrs().get_float(a, 1e-5f) > 0.f)) ctx.invalid(std::string(a) + " must be positive");
  if (!in[kMixX].shape) return {y, std::nullopt};
  const Shape& xs = *in[kMixX].shape;
  if (xs.size() != 3) ctx.invalid("X must be [batch, tokens, channels], got " + shape_to_string(xs));
  if (xs[1].known() && xs[1].value != height * width)
    ctx.invalid("X " + shape_to_string(xs) + " has " + std::to_string(xs[1].value) + " tokens, but height x width is " +
                std::to_string(height * width));
  // Each parameter's expected dims in terms of C and Hd, checked once both are known.
  const std::vector<int64_t> w1 = known_dims(in[kMixW1]);
  if (w1.size() != 2) ctx.invalid("W1 must be a 2-D [channels, hidden] tensor of known shape");
  const int64_t C = w1[0], Hd = w1[1];
  if (xs[2].known() && xs[2].value != C)
    ctx.invalid("X has " + std::to_string(xs[2].value) + " channels but W1 is " + shape_to_string(*in[kMixW1].shape));
  const std::vector<std::vector<int64_t>> want = {{}, {C}, {C}, {C, Hd}, {Hd}, {Hd, 1, 3, 3}, {Hd}, {Hd, C}, {C}, {C}, {C}};
  for (int i = kMixScale; i < inputs; ++i)
    if (known_dims(in[size_t(i)]) != want[size_t(i)])
      ctx.invalid(std::string(kSlotNames[i]) + " must be " + dims_to_string(want[size_t(i)]) + ", got " +
                  (in[size_t(i)].shape ? shape_to_string(*in[size_t(i)].shape) : std::string("rank unknown")));
  return {y, Shape{xs[0], xs[1], Dim(C)}};
}

void register_mix_ffn(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kMixFfnOp, .min_inputs = kMixInputs, .max_inputs = kMixInputsNormed,
         .infer = infer, .cpu = cpu});
}

}  // namespace kiln::conv
