// kiln.FusedMatMul (act(A·W + bias) [+ residual]) against a double-precision loop: every
// activation, with and without residual, awkward M/K/N and batch dims, f32/f64/f16/bf16; and the
// shape and type checks of its inference.
#include <cmath>

#include "harness.h"

// OpCall is filled with designated initializers; omitted members are meant to default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace kiln::test {
namespace {

double activate(const std::string& act, double v) {
  if (act == "relu") return v < 0 ? 0 : v;
  if (act == "gelu") return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
  if (act == "gelu_tanh") return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
  return v;
}

std::vector<double> fused_ref(const Tensor& a, const Tensor& w, const Tensor& bias, const Tensor* res,
                              const std::string& act) {
  const std::vector<double> av = to_doubles(a), wv = to_doubles(w), bv = to_doubles(bias);
  const std::vector<double> rv = res ? to_doubles(*res) : std::vector<double>();
  const int64_t k = w.dim(0), n = w.dim(1), m = a.numel() / k;
  std::vector<double> out(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += av[size_t(i * k + p)] * wv[size_t(p * n + j)];
      double v = activate(act, s + bv[size_t(j)]);
      if (res) v += rv[size_t(i * n + j)];
      out[size_t(i * n + j)] = v;
    }
  return out;
}

Attributes activation(const std::string& act) {
  Attributes a;
  a.set("activation", act);
  return a;
}

OpCall fused_call(std::vector<Tensor> inputs, const std::string& act) {
  return {.op = "FusedMatMul", .inputs = std::move(inputs), .attrs = activation(act), .domain = "kiln"};
}

void check(DType dt, const Dims& ad, int64_t n, const std::string& act, bool residual, double tol, uint64_t seed) {
  const int64_t k = ad.back();
  Tensor a = random_tensor(dt, ad, seed), w = random_tensor(dt, {k, n}, seed + 1);
  Tensor b = random_tensor(dt, {n}, seed + 2, -2, 2);
  Dims od = ad;
  od.back() = n;
  Tensor r = residual ? random_tensor(dt, od, seed + 3) : Tensor();
  OpCall call = fused_call({a, w, b}, act);
  if (residual) call.inputs.push_back(r);
  SCOPED_TRACE(std::string(dtype_name(dt)) + " " + dims_to_string(ad) + " x " + std::to_string(k) + "x" +
               std::to_string(n) + " " + act + (residual ? " + residual" : "") + " seed " + std::to_string(seed));
  auto out = run_op(call);
  expect_dims(out[0], od);
  expect_close(out[0], fused_ref(a, w, b, residual ? &r : nullptr, act), tol, tol);
}

const char* const kActivations[] = {"none", "relu", "gelu", "gelu_tanh"};

// M 1, 3, 17, 1025; K 1, 33; N 1, 5, 1025; batch dims folded into M.
struct Case {
  Dims a;
  int64_t n;
};
const std::vector<Case> kShapes = {{{1, 1}, 1},     {{3, 33}, 5},         {{17, 1}, 1025}, {{1025, 33}, 5},
                                   {{1, 33}, 1025}, {{2, 3, 17, 33}, 5}, {{4, 1, 1}, 5},  {{2, 1025, 1}, 1}};

TEST(FusedMatMul, Float32EveryActivationAndResidual) {
  uint64_t seed = 100;
  for (const Case& c : kShapes)
    for (const char* act : kActivations)
      for (bool residual : {false, true}) {
        check(DType::kF32, c.a, c.n, act, residual, 1e-5, seed);
        seed += 4;
      }
}

TEST(FusedMatMul, OtherFloatTypes) {
  uint64_t seed = 500;
  for (const char* act : kActivations) {
    check(DType::kF64, {2, 17, 33}, 5, act, true, 1e-12, seed++);
    // Halves: products in float, one rounding of the result.
    check(DType::kF16, {3, 17, 33}, 5, act, true, 4e-3, seed++);
    check(DType::kF16, {1025, 1}, 5, act, false, 4e-3, seed++);
    check(DType::kBF16, {17, 33}, 5, act, true, 2e-2, seed++);
  }
}

// Output shape from inference, symbolic batch dims included.
TEST(FusedMatMul, InfersTheOutputShape) {
  Tensor a = random_tensor(DType::kF32, {2, 3, 4}, 1);
  auto types = infer_op(fused_call({a, random_tensor(DType::kF32, {4, 6}, 2), random_tensor(DType::kF32, {6}, 3)}, "relu"));
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(shape_to_string(*types[0].shape), "2x3x6");
}

TEST(FusedMatMul, RejectsWhatItDoesNotCompute) {
  auto f = [](const Dims& d) { return random_tensor(DType::kF32, d, 4); };
  const Tensor a = f({3, 4}), w = f({4, 5}), b = f({5});
  EXPECT_EQ(error_code_of(fused_call({a, w, b}, "swish")), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(fused_call({a, f({5, 5}), b}, "none")), ErrorCode::kInvalidModel);  // K differs
  EXPECT_EQ(error_code_of(fused_call({a, f({2, 4, 5}), b}, "none")), ErrorCode::kInvalidModel);  // W 3-D
  EXPECT_EQ(error_code_of(fused_call({a, w, f({1, 5})}, "none")), ErrorCode::kInvalidModel);     // bias 2-D
  EXPECT_EQ(error_code_of(fused_call({a, w, f({4})}, "none")), ErrorCode::kInvalidModel);        // bias length
  EXPECT_EQ(error_code_of(fused_call({f({4}), f({4, 5}), b}, "none")), ErrorCode::kInvalidModel);  // A 1-D
  EXPECT_EQ(error_code_of(fused_call({a, f({0, 5}), b}, "none")), ErrorCode::kInvalidModel);       // K = 0
  EXPECT_EQ(error_code_of(fused_call({a, w, b, f({5})}, "none")), ErrorCode::kInvalidModel);     // broadcast residual
  EXPECT_EQ(error_code_of(fused_call({a, w, b, f({1, 3, 5})}, "none")), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(fused_call({a, w, random_tensor(DType::kF16, {5}, 5)}, "none")), ErrorCode::kInvalidModel);
  const Tensor ai = random_tensor(DType::kI32, {3, 4}, 6, -3, 3);
  EXPECT_EQ(error_code_of(fused_call({ai, random_tensor(DType::kI32, {4, 5}, 7, -3, 3), random_tensor(DType::kI32, {5}, 8, -3, 3)},
                                     "none")),
            ErrorCode::kUnsupported);
}

// Gelu (both modes) on awkward shapes against double loops; the op harness for FusedMatMul's
// activation and the CUDA Gelu kernel's reference.
TEST(GeluShapes, BothModesOnAwkwardShapes) {
  uint64_t seed = 900;
  for (const Dims& d : {Dims{1}, Dims{3, 17}, Dims{1025}, Dims{2, 3, 5, 33}})
    for (bool tanh_mode : {false, true}) {
      Tensor x = random_tensor(DType::kF32, d, seed++, -5, 5);
      Attributes at;
      if (tanh_mode) at.set("approximate", std::string("tanh"));
      auto out = run_op({.op = "Gelu", .inputs = {x}, .attrs = at, .opset = 20});
      std::vector<double> want = to_doubles(x);
      for (double& v : want) v = activate(tanh_mode ? "gelu_tanh" : "gelu", v);
      SCOPED_TRACE(dims_to_string(d) + (tanh_mode ? " tanh" : " erf"));
      expect_dims(out[0], d);
      expect_close(out[0], want, 1e-6, 1e-5);
    }
}

}  // namespace
}  // namespace kiln::test
