// kiln.ResizeSumPointwiseConv's CPU reference against kiln.ResizeSum's followed by the 1x1
// convolution written out here (fp32, fp64; fp16 with h rounded to fp16 in between, as the
// unfused graph stores it; the mixed form: fp16 images and W, fp32 bias, fp32 Y), and its
// refusals of inconsistent weights and types.
#include <gtest/gtest.h>

#include "harness.h"
#include "ops/op.h"

namespace kiln::test {
namespace {

struct In {
  int64_t h, w;
  bool tokens;
};

// ResizeSum's attributes for images `ins` resized to H x W.
Attributes sum_attrs(int64_t H, int64_t W, const std::vector<In>& ins, bool relu) {
  Attributes a;
  std::vector<std::string> layouts;
  std::vector<int64_t> hs, ws;
  for (const In& in : ins) layouts.push_back(in.tokens ? "tokens" : "nchw"), hs.push_back(in.h), ws.push_back(in.w);
  a.set("height", H);
  a.set("width", W);
  a.set("layouts", layouts);
  a.set("coordinate_transformation_modes", std::vector<std::string>(ins.size(), "half_pixel"));
  a.set("input_heights", hs);
  a.set("input_widths", ws);
  a.set("scales", std::vector<float>(2 * ins.size(), 0.f));
  a.set("activation", std::string(relu ? "relu" : "none"));
  return a;
}

struct Case {
  int64_t b = 2, c = 6, co = 5, H = 7, W = 9;
  std::vector<In> ins = {{7, 9, true}, {3, 4, false}, {2, 5, true}};
  bool relu = true, bias = true;
  DType dt = DType::kF32, bias_dt = DType::kF32;
};

OpCall fused_call(const Case& k, uint64_t seed) {
  OpCall call{"ResizeSumPointwiseConv"};
  call.domain = kKilnDomain;
  call.inputs.push_back(random_tensor(k.dt, {k.co, k.c}, seed++));
  call.inputs.push_back(k.bias ? random_tensor(k.bias_dt, {k.co}, seed++) : Tensor());
  for (const In& in : k.ins)
    call.inputs.push_back(random_tensor(k.dt, in.tokens ? Dims{k.b, in.h * in.w, k.c} : Dims{k.b, k.c, in.h, in.w},
                                        seed++, -2, 2));
  call.attrs = sum_attrs(k.H, k.W, k.ins, k.relu);
  return call;
}

// ResizeSum's reference, then Σ_c W[o,c] h[c] + b[o] in double.
std::vector<double> expected(const Case& k, const OpCall& fused) {
  OpCall sum{"ResizeSum"};
  sum.domain = kKilnDomain;
  sum.inputs.assign(fused.inputs.begin() + 2, fused.inputs.end());
  sum.attrs = fused.attrs;
  const std::vector<double> h = to_doubles(run_op(sum)[0]);  // rounded to the images' type
  const std::vector<double> w = to_doubles(fused.inputs[0]);
  const std::vector<double> b = k.bias ? to_doubles(fused.inputs[1]) : std::vector<double>(size_t(k.co), 0.0);
  const int64_t px = k.H * k.W;
  std::vector<double> y(size_t(k.b * k.co * px));
  for (int64_t n = 0; n < k.b; ++n)
    for (int64_t o = 0; o < k.co; ++o)
      for (int64_t q = 0; q < px; ++q) {
        double s = b[size_t(o)];
        for (int64_t c = 0; c < k.c; ++c) s += w[size_t(o * k.c + c)] * h[size_t((n * k.c + c) * px + q)];
        y[size_t((n * k.co + o) * px + q)] = s;
      }
  return y;
}

void check(const Case& k, double tol, DType want_dt, uint64_t seed) {
  const OpCall call = fused_call(k, seed);
  const std::vector<Tensor> y = run_op(call);
  EXPECT_EQ(y[0].dtype(), want_dt);
  expect_dims(y[0], {k.b, k.co, k.H, k.W});
  expect_close(y[0], expected(k, call), tol, tol);
}

TEST(ResizeSumPointwiseConvOp, IsResizeSumThenTheConv) {
  Case k;
  check(k, 1e-5, DType::kF32, 10);
  k.relu = false, k.bias = false, k.co = 1;
  check(k, 1e-5, DType::kF32, 20);
  k = Case{};
  k.dt = k.bias_dt = DType::kF64;
  check(k, 1e-12, DType::kF64, 30);
  // Downsampled and 1-pixel inputs, one image only.
  k = Case{};
  k.ins = {{13, 17, true}};
  check(k, 1e-5, DType::kF32, 40);
  k.ins = {{1, 1, false}, {7, 9, false}};
  check(k, 1e-5, DType::kF32, 50);
}

// fp16: h is rounded to fp16 before the GEMM (the unfused ResizeSum's output); Y rounds once.
TEST(ResizeSumPointwiseConvOp, HalfPrecisionAndTheMixedForm) {
  Case k;
  k.dt = k.bias_dt = DType::kF16;
  check(k, 2e-3, DType::kF16, 60);
  k.bias_dt = DType::kF32;  // fp16 engines' model outputs: float32 logits
  check(k, 1e-5, DType::kF32, 70);
  k.bias = false;  // no bias: no mixed form, Y fp16
  check(k, 2e-3, DType::kF16, 80);
}

TEST(ResizeSumPointwiseConvOp, RefusesInconsistentWeightsAndTypes) {
  auto invalid = [&](const char* why, auto edit) {
    SCOPED_TRACE(why);
    OpCall call = fused_call(Case{}, 1);
    edit(call);
    EXPECT_EQ(error_code_of(call), ErrorCode::kInvalidModel);
  };
  invalid("W channels", [](OpCall& c) { c.inputs[0] = random_tensor(DType::kF32, {5, 7}, 2); });
  invalid("W rank 4", [](OpCall& c) { c.inputs[0] = random_tensor(DType::kF32, {5, 6, 1, 1}, 2); });
  invalid("B length", [](OpCall& c) { c.inputs[1] = random_tensor(DType::kF32, {4}, 2); });
  invalid("W dtype", [](OpCall& c) { c.inputs[0] = random_tensor(DType::kF16, {5, 6}, 2); });
  invalid("fp16 B for fp32 images", [](OpCall& c) { c.inputs[1] = random_tensor(DType::kF16, {5}, 2); });
  invalid("no image", [](OpCall& c) { c.inputs.resize(2); });
  invalid("one layout short", [](OpCall& c) { c.attrs.set("layouts", std::vector<std::string>{"tokens", "nchw"}); });
}

}  // namespace
}  // namespace kiln::test
