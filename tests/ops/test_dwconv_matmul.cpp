// kiln.DwConvMatMul's CPU reference: kiln.DepthwiseConvNHWC's then kiln.FusedMatMul's with X as
// the residual, the same bits (float32 and float16 streams, with and without an activation), and
// the one-line refusals of wrong types, shapes and attributes.
#include <gtest/gtest.h>

#include "harness.h"
#include "ops/conv/dwconv_matmul.h"

namespace kiln::test {
namespace {

constexpr int64_t kH = 3, kW = 5, kHd = 64, kC = 24;

// A DwConvMatMul of 2 images of kH x kW tokens, X of type x.
OpCall make_call(DType x, const char* act = "gelu") {
  OpCall call{conv::kDwConvMatMulOp};
  call.domain = kKilnDomain;
  const DType h = DType::kF16;
  call.inputs = {random_tensor(h, {2, kH * kW, kHd}, 1, -2, 2), random_tensor(h, {kHd, 1, 3, 3}, 2, -0.4, 0.4),
                 random_tensor(h, {kHd}, 3, -0.1, 0.1),          random_tensor(h, {kHd, kC}, 4, -0.2, 0.2),
                 random_tensor(x, {kC}, 5, -0.1, 0.1),           random_tensor(x, {2, kH * kW, kC}, 6, -2, 2)};
  call.attrs.set("height", kH);
  call.attrs.set("width", kW);
  call.attrs.set("activation", std::string(act));
  return call;
}

TEST(DwConvMatMulOp, IsTheConvThenTheResidualGemm) {
  for (DType x : {DType::kF32, DType::kF16})
    for (const char* act : {"gelu", "none"}) {
      SCOPED_TRACE(std::string(dtype_name(x)) + " " + act);
      const OpCall fused = make_call(x, act);
      OpCall dw{"DepthwiseConvNHWC"};
      dw.domain = kKilnDomain;
      dw.inputs = {fused.inputs[0], fused.inputs[1], fused.inputs[2]};
      dw.attrs.set("height", kH);
      dw.attrs.set("width", kW);
      dw.attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
      dw.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
      dw.attrs.set("activation", std::string(act));
      const Tensor d = run_op(dw).at(0);
      EXPECT_EQ(d.dtype(), DType::kF16);
      OpCall fc2{"FusedMatMul"};
      fc2.domain = kKilnDomain;
      fc2.inputs = {d, fused.inputs[3], fused.inputs[4], fused.inputs[5]};
      const Tensor want = run_op(fc2).at(0), got = run_op(fused).at(0);
      EXPECT_EQ(got.dtype(), x);
      expect_dims(got, {2, kH * kW, kC});
      expect_close(got, to_doubles(want), 0.0, 0.0);
    }
}

TEST(DwConvMatMulOp, RefusesBadInputsInOneLine) {
  auto invalid = [&](const char* why, const char* says, auto edit) {
    SCOPED_TRACE(why);
    OpCall call = make_call(DType::kF32);
    edit(call);
    expect_refused(call, ErrorCode::kInvalidModel, says, "DwConvMatMul 'test_DwConvMatMul': ");
  };
  invalid("no residual", "takes 6 inputs (H, Wd, Bd, W2, B2, X), got 5", [](OpCall& c) { c.inputs.pop_back(); });
  invalid("H float32", "H is float32, not float16",
          [](OpCall& c) { c.inputs[0] = random_tensor(DType::kF32, {2, kH * kW, kHd}, 9); });
  invalid("B2 float16 on a float32 stream", "B2 is float16, not float32 (X's type)",
          [](OpCall& c) { c.inputs[4] = random_tensor(DType::kF16, {kC}, 9); });
  invalid("a 5x5 conv", "Wd must be 64x1x3x3, got 64x1x5x5",
          [](OpCall& c) { c.inputs[1] = random_tensor(DType::kF16, {kHd, 1, 5, 5}, 9); });
  invalid("H of another width", "H must be [batch, tokens, hidden] = 2x15x64, got 2x15x32",
          [](OpCall& c) { c.inputs[0] = random_tensor(DType::kF16, {2, kH * kW, 32}, 9); });
  invalid("tokens off the image", "has 15 tokens, but height x width is 16", [](OpCall& c) {
    c.attrs.set("width", int64_t(4));
    c.attrs.set("height", int64_t(4));
  });
  invalid("no height", "the height attribute is required", [](OpCall& c) {
    c.attrs = Attributes{};
    c.attrs.set("width", kW);
  });
}

}  // namespace
}  // namespace kiln::test
