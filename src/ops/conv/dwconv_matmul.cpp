// DwConvMatMul (dwconv_matmul.h): type and shape inference, and the CPU reference — the two nodes
// the fused one replaced, run through their own references.
#include "ops/conv/dwconv_matmul.h"

#include <string>

#include "ops/conv/conv_ops.h"
#include "ops/conv/depthwise_nhwc.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace kiln::conv {
namespace {

const char* const kSlotNames[kDmInputs] = {"H", "Wd", "Bd", "W2", "B2", "X"};

std::vector<ValueType> infer(const InferContext& ctx) {
  std::vector<ValueType> in;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) in.push_back(ctx.type(i));
  return {dwconv_matmul_type(ctx, in)};
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  std::vector<ValueType> types;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) types.push_back({ctx.input(i).dtype(), shape_of(ctx.input(i).dims())});
  dwconv_matmul_type(ctx, types);
  const Node& self = ctx.node;
  Node dw = reference_step(self, kDepthwiseNhwcOp, true);
  for (const char* a : {"height", "width"}) dw.attrs.set(a, ctx.attrs().get_int(a));
  dw.attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  dw.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  dw.attrs.set("activation", ctx.attrs().get_string("activation", "none"));
  const Node fc2 = reference_step(self, "FusedMatMul", true);
  const Tensor d = run_cpu_reference(dw, {&ctx.input(kDmH), &ctx.input(kDmWd), &ctx.input(kDmBd)});
  return {run_cpu_reference(fc2, {&d, &ctx.input(kDmW2), &ctx.input(kDmB2), &ctx.input(kDmX)})};
}

}  // namespace

ValueType dwconv_matmul_type(const OpContextBase& ctx, const std::vector<ValueType>& in) {
  if (in.size() != kDmInputs)
    ctx.invalid("takes 6 inputs (H, Wd, Bd, W2, B2, X), got " + std::to_string(in.size()));
  const DType x = in[kDmX].dtype;
  if (x != DType::kF32 && x != DType::kF16)
    ctx.invalid(std::string("X is ") + dtype_name(x) + ", not float32 or float16");
  for (int i = kDmH; i < kDmX; ++i) {
    const DType want = i == kDmB2 ? x : DType::kF16;
    if (in[size_t(i)].dtype != want)
      ctx.invalid(std::string(kSlotNames[i]) + " is " + dtype_name(in[size_t(i)].dtype) + ", not " + dtype_name(want) +
                  (i == kDmB2 ? " (X's type)" : ""));
  }
  for (const char* a : {"height", "width"})
    if (!ctx.attrs().has(a)) ctx.invalid(std::string("the ") + a + " attribute is required");
  const int64_t height = ctx.attrs().get_int("height"), width = ctx.attrs().get_int("width");
  if (height < 1 || width < 1)
    ctx.invalid("height " + std::to_string(height) + " and width " + std::to_string(width) + " must be positive");
  if (!in[kDmX].shape) return {x, std::nullopt};
  const Shape& xs = *in[kDmX].shape;
  if (xs.size() != 3) ctx.invalid("X must be [batch, tokens, channels], got " + shape_to_string(xs));
  if (xs[1].known() && xs[1].value != height * width)
    ctx.invalid("X " + shape_to_string(xs) + " has " + std::to_string(xs[1].value) + " tokens, but height x width is " +
                std::to_string(height * width));
  const std::vector<int64_t> w2 = known_dims(in[kDmW2]);
  if (w2.size() != 2) ctx.invalid("W2 must be a 2-D [hidden, channels] tensor of known shape");
  const int64_t Hd = w2[0], C = w2[1];
  if (xs[2].known() && xs[2].value != C)
    ctx.invalid("X has " + std::to_string(xs[2].value) + " channels but W2 is " + shape_to_string(*in[kDmW2].shape));
  const std::vector<std::vector<int64_t>> want = {{}, {Hd, 1, 3, 3}, {Hd}, {Hd, C}, {C}};
  for (int i = kDmWd; i < kDmX; ++i)
    if (known_dims(in[size_t(i)]) != want[size_t(i)])
      ctx.invalid(std::string(kSlotNames[i]) + " must be " + dims_to_string(want[size_t(i)]) + ", got " +
                  (in[size_t(i)].shape ? shape_to_string(*in[size_t(i)].shape) : std::string("rank unknown")));
  if (in[kDmH].shape) {
    const Shape& hs = *in[kDmH].shape;
    const auto agrees = [](const Dim& a, const Dim& b) { return !a.known() || !b.known() || a.value == b.value; };
    const bool same = hs.size() == 3 && agrees(hs[0], xs[0]) && agrees(hs[1], xs[1]) && agrees(hs[2], Dim(Hd));
    if (!same)
      ctx.invalid("H must be [batch, tokens, hidden] = " + shape_to_string(Shape{xs[0], xs[1], Dim(Hd)}) + ", got " +
                  shape_to_string(hs));
  }
  return {x, Shape{xs[0], xs[1], Dim(C)}};
}

void register_dwconv_matmul(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kDwConvMatMulOp, .min_inputs = kDmInputs, .max_inputs = kDmInputs,
         .infer = infer, .cpu = cpu});
}

}  // namespace kiln::conv
