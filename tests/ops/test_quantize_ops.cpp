// QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear / MatMulInteger / QLinearMatMul /
// ConvInteger / QLinearConv against hand-computed values and naive loops; refusals as
// invalid-model (or unsupported) errors.
#include <cmath>

#include "harness.h"
#include "ops/registry.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace kiln::test {
namespace {

Attributes axis_attr(int64_t axis) {
  Attributes a;
  a.set("axis", axis);
  return a;
}

template <class T> Tensor vec(Dims d, std::vector<T> v) { return Tensor::from_vector<T>(std::move(d), v); }

TEST(QuantizeLinear, RoundsHalfToEvenAndSaturatesUint8) {
  // No zero point: uint8 output. 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, 300 -> 255, -3 -> 0.
  Tensor x = vec<float>({7}, {0.0f, 0.5f, 1.5f, 2.5f, -0.5f, 300.0f, -3.0f});
  auto y = run_op({.op = "QuantizeLinear", .inputs = {x, Tensor::scalar<float>(1.0f)}, .opset = 13});
  ASSERT_EQ(y[0].dtype(), DType::kU8);
  expect_close(y[0], {0, 0, 2, 2, 0, 255, 0}, 0, 0);
  // The tie is decided after the division: 5 / 2 = 2.5 -> 2, 7 / 2 = 3.5 -> 4.
  auto h = run_op({.op = "QuantizeLinear", .inputs = {vec<float>({2}, {5.0f, 7.0f}), Tensor::scalar<float>(2.0f)}});
  expect_close(h[0], {2, 4}, 0, 0);
}

TEST(QuantizeLinear, Int8ZeroPointAddsAfterRounding) {
  Tensor x = vec<float>({5}, {-200.0f, -1.5f, 1.5f, 200.0f, 2.5f});
  auto y = run_op({.op = "QuantizeLinear",
                   .inputs = {x, Tensor::scalar<float>(1.0f), Tensor::scalar<int8_t>(1)}});
  ASSERT_EQ(y[0].dtype(), DType::kI8);
  expect_close(y[0], {-128, -1, 3, 127, 3}, 0, 0);
}

TEST(QuantizeLinear, PerAxisPositiveAndNegativeAxis) {
  Tensor scale = vec<float>({3}, {1.0f, 2.0f, 4.0f});
  Tensor zero = vec<uint8_t>({3}, {0, 10, 100});
  const std::vector<double> want = {1, 11, 101, 3, 13, 98};
  Tensor x = vec<float>({2, 3}, {1, 2, 4, 3, 6, -8});
  auto a = run_op({.op = "QuantizeLinear", .inputs = {x, scale, zero}, .attrs = axis_attr(1)});
  expect_close(a[0], want, 0, 0);
  auto b = run_op({.op = "QuantizeLinear", .inputs = {x.reshaped({1, 2, 3}), scale, zero}, .attrs = axis_attr(-1)});
  expect_dims(b[0], {1, 2, 3});
  expect_close(b[0], want, 0, 0);
  // axis 0 on [3, 2]: the channel is the row.
  auto c = run_op({.op = "QuantizeLinear", .inputs = {vec<float>({3, 2}, {1, 2, 2, 4, 4, 8}), scale, zero},
                   .attrs = axis_attr(0)});
  expect_close(c[0], {1, 2, 11, 12, 101, 102}, 0, 0);
}

TEST(QuantizeLinear, Int32AndFloat16Inputs) {
  auto i = run_op({.op = "QuantizeLinear", .inputs = {vec<int32_t>({3}, {5, 7, -9}), Tensor::scalar<float>(2.0f)}});
  expect_close(i[0], {2, 4, 0}, 0, 0);
  // Opset 19: float16 x with a float16 scale; 3 / 2 = 1.5 -> 2, 5 / 2 = 2.5 -> 2.
  Tensor xh(DType::kF16, {2}), sh(DType::kF16, {});
  xh.data<f16>()[0].bits = float_to_f16(3.0f);
  xh.data<f16>()[1].bits = float_to_f16(5.0f);
  sh.data<f16>()[0].bits = float_to_f16(2.0f);
  auto h = run_op({.op = "QuantizeLinear", .inputs = {xh, sh, Tensor::scalar<int8_t>(-1)}, .opset = 19});
  expect_close(h[0], {1, 1}, 0, 0);
  EXPECT_EQ(error_code_of({.op = "QuantizeLinear", .inputs = {xh, sh}, .opset = 13}), ErrorCode::kUnsupported);
}

TEST(DequantizeLinear, PerAxisInt8WithZeroPoints) {
  Tensor x = vec<int8_t>({2, 2}, {-128, 0, 127, 5});
  auto y = run_op({.op = "DequantizeLinear",
                   .inputs = {x, vec<float>({2}, {0.5f, 2.0f}), vec<int8_t>({2}, {-128, 5})},
                   .attrs = axis_attr(0)});
  ASSERT_EQ(y[0].dtype(), DType::kF32);
  expect_close(y[0], {0, 64, 244, 0}, 0, 0);
  auto z = run_op({.op = "DequantizeLinear",
                   .inputs = {x, vec<float>({2}, {0.5f, 2.0f}), vec<int8_t>({2}, {-128, 5})},
                   .attrs = axis_attr(-1)});
  expect_close(z[0], {0, -10, 127.5, 0}, 0, 0);
}

TEST(DequantizeLinear, Uint8PerTensorAndInt32) {
  const float s = 0.1f;
  auto y = run_op({.op = "DequantizeLinear",
                   .inputs = {vec<uint8_t>({3}, {0, 255, 128}), Tensor::scalar<float>(s), Tensor::scalar<uint8_t>(128)}});
  expect_close(y[0], {double(float(-128.0 * s)), double(float(127.0 * s)), 0.0}, 0, 0);
  auto i = run_op({.op = "DequantizeLinear", .inputs = {vec<int32_t>({3}, {-1000000, 3, 7}), Tensor::scalar<float>(0.25f)}});
  expect_close(i[0], {-250000, 0.75, 1.75}, 0, 0);
}

TEST(DequantizeLinear, Float16ScaleGivesFloat16FromOpset19) {
  Tensor sh(DType::kF16, {});
  sh.data<f16>()[0].bits = float_to_f16(0.5f);
  auto y = run_op({.op = "DequantizeLinear", .inputs = {vec<int8_t>({2}, {3, -3}), sh}, .opset = 19});
  ASSERT_EQ(y[0].dtype(), DType::kF16);
  expect_close(y[0], {1.5, -1.5}, 0, 0);
  EXPECT_EQ(error_code_of({.op = "DequantizeLinear", .inputs = {vec<int8_t>({2}, {3, -3}), sh}, .opset = 13}),
            ErrorCode::kUnsupported);
}

TEST(QuantizeOps, RefusesMismatchedParameters) {
  Tensor x = vec<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor q = vec<int8_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  // Scale length is not the axis dim.
  EXPECT_EQ(error_code_of({.op = "QuantizeLinear", .inputs = {x, vec<float>({2}, {1, 1})}, .attrs = axis_attr(1)}),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of({.op = "DequantizeLinear", .inputs = {q, vec<float>({3}, {1, 1, 1})}, .attrs = axis_attr(0)}),
            ErrorCode::kInvalidModel);
  // Axis outside the rank.
  EXPECT_EQ(error_code_of({.op = "QuantizeLinear", .inputs = {x, vec<float>({3}, {1, 1, 1})}, .attrs = axis_attr(2)}),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of({.op = "DequantizeLinear", .inputs = {q, vec<float>({3}, {1, 1, 1})}, .attrs = axis_attr(-3)}),
            ErrorCode::kInvalidModel);
  // Dequantize's zero point must have x's type; zero point shaped unlike the scale.
  EXPECT_EQ(error_code_of({.op = "DequantizeLinear", .inputs = {q, Tensor::scalar<float>(1), Tensor::scalar<uint8_t>(0)}}),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of({.op = "QuantizeLinear",
                           .inputs = {x, vec<float>({3}, {1, 1, 1}), vec<uint8_t>({2}, {0, 0})}}),
            ErrorCode::kInvalidModel);
  // One-element parameters are per tensor whether written [] or [1].
  auto one = run_op({.op = "QuantizeLinear", .inputs = {x, vec<float>({1}, {2}), Tensor::scalar<uint8_t>(1)}});
  expect_close(one[0], {1, 2, 3, 3, 3, 4}, 0, 0);  // 0.5 1 1.5 2 2.5 3, ties to even, + 1
  // A zero point type kiln does not quantize to.
  EXPECT_EQ(error_code_of({.op = "QuantizeLinear", .inputs = {x, Tensor::scalar<float>(1), Tensor::scalar<int32_t>(0)}}),
            ErrorCode::kUnsupported);
}

TEST(DynamicQuantizeLinear, RangeIncludesZero) {
  const std::vector<float> xs = {0.0f, 2.0f, -3.0f, -2.5f, 1.34f, 0.5f};
  auto y = run_op({.op = "DynamicQuantizeLinear", .inputs = {vec<float>({2, 3}, xs)}, .opset = 11, .num_outputs = 3});
  const float scale = (2.0f - -3.0f) / 255.0f;
  const double zero = std::nearbyint(double(0.0f - -3.0f / scale));  // 153
  std::vector<double> want;
  for (float v : xs) want.push_back(std::fmin(255, std::fmax(0, std::nearbyint(double(v / scale)) + zero)));
  expect_close(y[0], want, 0, 0);
  expect_close(y[1], {double(scale)}, 0, 0);
  expect_close(y[2], {153}, 0, 0);
  // All positive: the minimum is 0, so the zero point is 0.
  auto p = run_op({.op = "DynamicQuantizeLinear", .inputs = {vec<float>({2}, {1.0f, 255.0f})}, .num_outputs = 3});
  expect_close(p[0], {1, 255}, 0, 0);
  expect_close(p[2], {0}, 0, 0);
  auto z = run_op({.op = "DynamicQuantizeLinear", .inputs = {vec<float>({2}, {0.0f, 0.0f})}, .num_outputs = 3});
  expect_close(z[0], {0, 0}, 0, 0);
  expect_close(z[1], {0}, 0, 0);
}

// (A - za[row]) · (B - zb[col]) for 2-D A [m, k], B [k, n].
std::vector<double> int_matmul_ref(const Tensor& a, const std::vector<double>& za, const Tensor& b,
                                   const std::vector<double>& zb) {
  const int64_t m = a.dim(0), k = a.dim(1), n = b.dim(1);
  auto av = to_doubles(a), bv = to_doubles(b);
  std::vector<double> out;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p)
        s += (av[size_t(i * k + p)] - za[za.size() == 1 ? 0 : size_t(i)]) *
             (bv[size_t(p * n + j)] - zb[zb.size() == 1 ? 0 : size_t(j)]);
      out.push_back(s);
    }
  return out;
}

TEST(MatMulInteger, PerTensorAndPerRowColumnZeroPoints) {
  Tensor a = random_tensor(DType::kU8, {4, 5}, 3, 0, 255);
  Tensor b = random_tensor(DType::kI8, {5, 3}, 4, -128, 127);
  auto y = run_op({.op = "MatMulInteger", .inputs = {a, b, Tensor::scalar<uint8_t>(12), Tensor::scalar<int8_t>(-3)}});
  ASSERT_EQ(y[0].dtype(), DType::kI32);
  expect_dims(y[0], {4, 3});
  expect_close(y[0], int_matmul_ref(a, {12}, b, {-3}), 0, 0);
  auto r = run_op({.op = "MatMulInteger",
                   .inputs = {a, b, vec<uint8_t>({4}, {1, 2, 3, 4}), vec<int8_t>({3}, {-1, 0, 1})}});
  expect_close(r[0], int_matmul_ref(a, {1, 2, 3, 4}, b, {-1, 0, 1}), 0, 0);
  auto n = run_op({.op = "MatMulInteger", .inputs = {a, b}});
  expect_close(n[0], int_matmul_ref(a, {0}, b, {0}), 0, 0);
  EXPECT_EQ(error_code_of({.op = "MatMulInteger", .inputs = {a, b, Tensor::scalar<int8_t>(1)}}), ErrorCode::kInvalidModel);
}

TEST(QLinearMatMul, RequantizesWithFloat32Multiplier) {
  Tensor a = random_tensor(DType::kU8, {3, 4}, 7, 0, 255);
  Tensor b = random_tensor(DType::kU8, {4, 2}, 8, 0, 255);
  const float as = 0.02f, bs = 0.03f, ys = 0.5f;
  auto y = run_op({.op = "QLinearMatMul",
                   .inputs = {a, Tensor::scalar<float>(as), Tensor::scalar<uint8_t>(100), b, Tensor::scalar<float>(bs),
                              Tensor::scalar<uint8_t>(120), Tensor::scalar<float>(ys), Tensor::scalar<uint8_t>(128)}});
  ASSERT_EQ(y[0].dtype(), DType::kU8);
  const float m = as * bs / ys;
  std::vector<double> want;
  for (double c : int_matmul_ref(a, {100}, b, {120}))
    want.push_back(std::fmin(255, std::fmax(0, std::nearbyint(c * double(m)) + 128)));
  expect_close(y[0], want, 0, 0);
}

// conv2d of x [1, 1, h, w] with w [co, 1, kh, kw], zero padding p, stride 1, in double.
std::vector<double> conv_ref(const std::vector<double>& x, int64_t h, int64_t w, const std::vector<double>& k,
                             int64_t co, int64_t kh, int64_t kw, int64_t p) {
  const int64_t oh = h + 2 * p - kh + 1, ow = w + 2 * p - kw + 1;
  std::vector<double> out;
  for (int64_t c = 0; c < co; ++c)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double s = 0;
        for (int64_t u = 0; u < kh; ++u)
          for (int64_t v = 0; v < kw; ++v) {
            const int64_t r = i + u - p, q = j + v - p;
            if (r >= 0 && r < h && q >= 0 && q < w) s += x[size_t(r * w + q)] * k[size_t((c * kh + u) * kw + v)];
          }
        out.push_back(s);
      }
  return out;
}

TEST(ConvInteger, ShiftsByZeroPointsThenPadsWithZero) {
  Tensor x = random_tensor(DType::kU8, {1, 1, 4, 5}, 21, 0, 255);
  Tensor w = random_tensor(DType::kU8, {2, 1, 2, 3}, 22, 0, 255);
  Attributes pads;
  pads.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  auto y = run_op({.op = "ConvInteger",
                   .inputs = {x, w, Tensor::scalar<uint8_t>(9), vec<uint8_t>({2}, {3, 200})}, .attrs = pads});
  ASSERT_EQ(y[0].dtype(), DType::kI32);
  expect_dims(y[0], {1, 2, 5, 5});
  std::vector<double> xv = to_doubles(x), wv = to_doubles(w);
  for (double& v : xv) v -= 9;
  for (size_t i = 0; i < wv.size(); ++i) wv[i] -= i < 6 ? 3 : 200;
  expect_close(y[0], conv_ref(xv, 4, 5, wv, 2, 2, 3, 1), 0, 0);
  // A per-channel X zero point is not allowed.
  EXPECT_EQ(error_code_of({.op = "ConvInteger", .inputs = {x, w, vec<uint8_t>({2}, {1, 2})}}), ErrorCode::kInvalidModel);
}

TEST(QLinearConv, PerChannelWeightScaleAndBias) {
  Tensor x = random_tensor(DType::kI8, {1, 1, 3, 4}, 31, -128, 127);
  Tensor w = random_tensor(DType::kI8, {2, 1, 2, 2}, 32, -128, 127);
  const float xs = 0.05f, ys = 0.7f;
  const std::vector<float> ws = {0.01f, 0.02f};
  auto y = run_op({.op = "QLinearConv",
                   .inputs = {x, Tensor::scalar<float>(xs), Tensor::scalar<int8_t>(-2), w, vec<float>({2}, ws),
                              vec<int8_t>({2}, {0, 0}), Tensor::scalar<float>(ys), Tensor::scalar<int8_t>(5),
                              vec<int32_t>({2}, {100, -300})}});
  ASSERT_EQ(y[0].dtype(), DType::kI8);
  std::vector<double> xv = to_doubles(x);
  for (double& v : xv) v += 2;
  std::vector<double> c = conv_ref(xv, 3, 4, to_doubles(w), 2, 2, 2, 0);
  std::vector<double> want;
  for (size_t i = 0; i < c.size(); ++i) {
    const size_t m = i / 6;
    const float mult = xs * ws[m] / ys;
    want.push_back(std::fmin(127, std::fmax(-128, std::nearbyint((c[i] + (m ? -300 : 100)) * double(mult)) + 5)));
  }
  expect_close(y[0], want, 0, 0);
}

}  // namespace
}  // namespace kiln::test
