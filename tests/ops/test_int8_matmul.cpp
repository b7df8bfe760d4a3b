// kiln.Int8MatMul's CPU reference against its semantics written out here in int64 and double:
// the quantized X (ties to even, saturation, NaN → 0), the exact integer sum, and each float
// step rounded once in the documented order — bit for bit where the activation is none or relu.
#include <gtest/gtest.h>

#include <cmath>

#include "harness.h"
#include "ops/quantize/int8_matmul.h"

namespace kiln::test {
namespace {

struct Case {
  Tensor x, sx, w, sw, bias, res;
  std::string act = "none";
};

OpCall call_of(const Case& c) {
  OpCall call{quant::kInt8MatMulOp, {c.x, c.sx, c.w, c.sw, c.bias, c.res}};
  call.domain = "kiln";
  call.opset = 1;
  call.attrs.set("activation", c.act);
  return call;
}

double as_f32(double v) { return double(float(v)); }

// Y as int8_matmul.h defines it, with float16 X read as float.
std::vector<double> expected(const Case& c) {
  const std::vector<double> x = to_doubles(c.x), b = c.bias.defined() ? to_doubles(c.bias) : std::vector<double>(),
                            r = c.res.defined() ? to_doubles(c.res) : std::vector<double>();
  const float sx = c.sx.data<float>()[0];
  const int64_t n = c.w.dim(0), k = c.w.dim(1), m = c.x.numel() / k;
  std::vector<double> y;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = 0;
      for (int64_t t = 0; t < k; ++t) {
        const double quotient = as_f32(float(x[size_t(i * k + t)]) / sx);
        const double q = std::isnan(quotient) ? 0 : std::fmin(127, std::fmax(-128, std::nearbyint(quotient)));
        acc += int64_t(q) * c.w.data<int8_t>()[j * k + t];
      }
      const float sw = c.sw.data<float>()[c.sw.numel() == 1 ? 0 : j];
      double v = as_f32(as_f32(double(acc)) * as_f32(double(sx) * sw));
      if (!b.empty()) v = as_f32(v + b[size_t(j)]);
      if (c.act == "relu") v = v < 0 ? 0 : v;
      if (c.act == "gelu") v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      if (!r.empty()) v = as_f32(v + r[size_t(i * n + j)]);
      y.push_back(v);
    }
  return y;
}

Case random_case(Dims xd, int64_t n, uint64_t seed, DType dt = DType::kF32) {
  const int64_t k = xd.back();
  Case c;
  c.x = random_tensor(dt, xd, seed, -3, 3);
  c.sx = Tensor::scalar<float>(3.0f / 127);
  c.w = random_tensor(DType::kI8, {n, k}, seed + 1, -128, 127);
  c.sw = random_tensor(DType::kF32, {n}, seed + 2, 1e-3, 2e-2);
  return c;
}

TEST(Int8MatMul, MatchesWrittenOutSemanticsBitForBit) {
  uint64_t seed = 100;
  for (Dims xd : {Dims{1, 1}, Dims{5, 17}, Dims{2, 3, 33}, Dims{64}})
    for (int64_t n : {1, 7, 16})
      for (const char* act : {"none", "relu"})
        for (int extras = 0; extras < 3; ++extras) {
          Case c = random_case(xd, n, seed += 3);
          Dims yd = xd;
          yd.back() = n;
          if (extras >= 1) c.bias = random_tensor(DType::kF32, {n}, seed + 10, -1, 1);
          if (extras >= 2) c.res = random_tensor(DType::kF32, yd, seed + 11, -1, 1);
          c.act = act;
          const std::vector<Tensor> y = run_op(call_of(c));
          expect_dims(y[0], yd);
          expect_close(y[0], expected(c), 0, 0);
        }
}

TEST(Int8MatMul, TiesSaturationAndNaN) {
  Case c;
  // x / sx = 0.5, 1.5, 2.5, -0.5, -2.5 (ties to even: 0, 2, 2, -0, -2), 1000 and -1000 (±127/−128), NaN (0).
  c.sx = Tensor::scalar<float>(0.5f);
  c.x = Tensor::from_vector<float>({1, 8}, {0.25f, 0.75f, 1.25f, -0.25f, -1.25f, 500.f, -500.f, NAN});
  std::vector<int8_t> w(64, 0);
  for (size_t t = 0; t < 8; ++t) w[t * 8 + t] = 1;
  c.w = Tensor::from_vector<int8_t>({8, 8}, w);  // identity: Y reads back each quantized x
  c.sw = Tensor::scalar<float>(1.0f);
  const std::vector<Tensor> y = run_op(call_of(c));
  expect_close(y[0], {0, 1, 1, 0, -1, 63.5, -64, 0}, 0, 0);
}

TEST(Int8MatMul, Float16AndGelu) {
  Case c = random_case({3, 40}, 9, 300, DType::kF16);
  c.bias = random_tensor(DType::kF16, {9}, 303);
  c.act = "gelu";
  const std::vector<Tensor> y = run_op(call_of(c));
  ASSERT_EQ(y[0].dtype(), DType::kF16);
  expect_close(y[0], expected(c), 1e-3, 1e-3);  // float16 output: one rounding
}

// The mixed form of fp16 engines: float16 X, float32 bias and residual, float32 Y.
TEST(Int8MatMul, MixedFloat16InFloat32Out) {
  Case c = random_case({2, 5, 24}, 11, 350, DType::kF16);
  c.bias = random_tensor(DType::kF32, {11}, 351);
  c.res = random_tensor(DType::kF32, {2, 5, 11}, 352);
  c.act = "relu";
  const std::vector<Tensor> y = run_op(call_of(c));
  ASSERT_EQ(y[0].dtype(), DType::kF32);
  expect_close(y[0], expected(c), 0, 0);
  Case half_residual = c;
  half_residual.res = random_tensor(DType::kF16, {2, 5, 11}, 353);
  EXPECT_EQ(error_code_of(call_of(half_residual)), ErrorCode::kInvalidModel) << "the residual has Y's type";
}

TEST(Int8MatMul, RefusesBadOperands) {
  Case c = random_case({4, 8}, 3, 400);
  Case wrong_k = c;
  wrong_k.w = random_tensor(DType::kI8, {3, 9}, 1, -5, 5);
  EXPECT_EQ(error_code_of(call_of(wrong_k)), ErrorCode::kInvalidModel);
  Case wrong_scale = c;
  wrong_scale.sw = Tensor::from_vector<float>({2}, {1.f, 1.f});
  EXPECT_EQ(error_code_of(call_of(wrong_scale)), ErrorCode::kInvalidModel);
  Case uint8_w = c;
  uint8_w.w = random_tensor(DType::kU8, {3, 8}, 2, 0, 255);
  EXPECT_EQ(error_code_of(call_of(uint8_w)), ErrorCode::kUnsupported);
  Case bias_type = c;
  bias_type.bias = random_tensor(DType::kF16, {3}, 3);
  EXPECT_EQ(error_code_of(call_of(bias_type)), ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
