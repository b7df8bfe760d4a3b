// Activations, Clip and PRelu against double-precision references.
#include <cmath>
#include <limits>

#include "test_elementwise_ref.h"

namespace kiln::test {
namespace {

using ewref::apply1;
using ewref::apply2;
using ewref::attrs;
using ewref::expect_error;
using ewref::make;

double softplus(double x) { return std::log1p(std::exp(x)); }

struct ActCase {
  const char* op;
  Attributes attrs;
  std::function<double(double)> ref;
  int opset = 17;
};

std::vector<ActCase> cases() {
  const double pi = 3.14159265358979323846;
  return {
      {"Relu", {}, [](double x) { return x < 0 ? 0 : x; }},
      {"LeakyRelu", {}, [](double x) { return x < 0 ? double(0.01f) * x : x; }},  // a float attribute
      {"LeakyRelu", attrs({{"alpha", 0.3f}}), [](double x) { return x < 0 ? double(0.3f) * x : x; }},
      {"Elu", attrs({{"alpha", 0.7f}}), [](double x) { return x < 0 ? double(0.7f) * (std::exp(x) - 1) : x; }},
      {"Elu", {}, [](double x) { return x < 0 ? std::exp(x) - 1 : x; }},
      {"Selu", {}, [](double x) {
         const double a = 1.67326319217681884765625, g = 1.05070102214813232421875;
         return x > 0 ? g * x : g * (a * std::exp(x) - a);
       }},
      {"Selu", attrs({{"alpha", 2.0f}, {"gamma", 3.0f}}),
       [](double x) { return x > 0 ? 3 * x : 3 * (2 * std::exp(x) - 2); }},
      {"Celu", attrs({{"alpha", 2.0f}}),
       [](double x) { return std::max(0.0, x) + std::min(0.0, 2 * (std::exp(x / 2) - 1)); }},
      {"HardSigmoid", {}, [](double x) { return std::clamp(double(0.2f) * x + 0.5, 0.0, 1.0); }},
      {"HardSigmoid", attrs({{"alpha", 0.5f}, {"beta", 0.25f}}),
       [](double x) { return std::clamp(0.5 * x + 0.25, 0.0, 1.0); }},
      {"HardSwish", {}, [](double x) { return x * std::clamp(x / 6 + 0.5, 0.0, 1.0); }},
      {"ThresholdedRelu", attrs({{"alpha", 0.5f}}), [](double x) { return x > 0.5 ? x : 0; }},
      {"ThresholdedRelu", {}, [](double x) { return x > 1 ? x : 0; }},
      {"Softplus", {}, softplus},
      {"Softsign", {}, [](double x) { return x / (1 + std::fabs(x)); }},
      {"Mish", {}, [](double x) { return x * std::tanh(softplus(x)); }, 18},
      {"Shrink", {}, [](double x) { return x < -0.5 ? x : x > 0.5 ? x : 0; }},
      {"Shrink", attrs({{"lambd", 1.0f}, {"bias", 0.25f}}),
       [](double x) { return x < -1 ? x + 0.25 : x > 1 ? x - 0.25 : 0; }},
      {"Gelu", {}, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, 20},
      {"Gelu", attrs({{"approximate", std::string("tanh")}}),
       [pi](double x) {
         return 0.5 * x * (1 + std::tanh(std::sqrt(2 / pi) * (x + 0.044715 * x * x * x)));
       },
       20},
  };
}

TEST(ElementwiseActivation, FloatOpsMatchReference) {
  for (const ActCase& c : cases()) {
    SCOPED_TRACE(c.op);
    Tensor x32 = random_tensor(DType::kF32, {3, 1025}, 21, -4, 4);
    auto out = run_op({.op = c.op, .inputs = {x32}, .attrs = c.attrs, .opset = c.opset});
    expect_close(out[0], apply1(x32, c.ref), 2e-6, 2e-6);
    Tensor x64 = random_tensor(DType::kF64, {17}, 22, -4, 4);
    out = run_op({.op = c.op, .inputs = {x64}, .attrs = c.attrs, .opset = c.opset});
    expect_close(out[0], apply1(x64, c.ref), 1e-13, 1e-13);
    Tensor x16 = random_tensor(DType::kF16, {2, 17}, 23, -4, 4);
    out = run_op({.op = c.op, .inputs = {x16}, .attrs = c.attrs, .opset = c.opset});
    ASSERT_EQ(out[0].dtype(), DType::kF16);
    expect_close(out[0], apply1(x16, c.ref), 2e-3, 2e-3);
  }
}

TEST(ElementwiseActivation, ExtremeInputsStayFinite) {
  Tensor x = make(DType::kF32, {4}, {-200, -90, 90, 200});
  expect_close(run_op({.op = "Softplus", .inputs = {x}})[0], {0, softplus(-90), 90, 200}, 1e-30, 1e-6);
  expect_close(run_op({.op = "Mish", .inputs = {x}, .opset = 18})[0], {-0.0, -90 * std::tanh(softplus(-90)), 90, 200},
               1e-30, 1e-6);
}

TEST(ElementwiseActivation, IntegerReluAndShrink) {
  Tensor x = make(DType::kI32, {5}, {-7, -1, 0, 3, 100});
  expect_close(run_op({.op = "Relu", .inputs = {x}})[0], {0, 0, 0, 3, 100}, 0, 0);
  Attributes a = attrs({{"lambd", 1.5f}, {"bias", 1.5f}});
  Tensor y = make(DType::kI8, {5}, {-128, -2, 1, 2, 127});
  // -128 + 1.5 = -126.5 truncates to -126; 2 - 1.5 = 0.5 -> 0.
  expect_close(run_op({.op = "Shrink", .inputs = {y}, .attrs = a})[0], {-126, 0, 0, 0, 125}, 0, 0);
  expect_error({.op = "Relu", .inputs = {make(DType::kU8, {1}, {1})}}, ErrorCode::kUnsupported);
  expect_error({.op = "Elu", .inputs = {make(DType::kI32, {1}, {1})}}, ErrorCode::kUnsupported);
}

TEST(ElementwiseActivation, OpsNewerThanTheModelOpsetAreInvalid) {
  Tensor x = random_tensor(DType::kF32, {3}, 1);
  expect_error({.op = "Gelu", .inputs = {x}, .opset = 17}, ErrorCode::kInvalidModel);
  expect_error({.op = "Mish", .inputs = {x}, .opset = 17}, ErrorCode::kInvalidModel);
  expect_error({.op = "HardSwish", .inputs = {x}, .opset = 13}, ErrorCode::kInvalidModel);
  expect_error({.op = "Gelu", .inputs = {x}, .attrs = attrs({{"approximate", std::string("fast")}}),
                .opset = 20},
               ErrorCode::kInvalidModel);
}

// --- Clip ---

double clip_ref(double x, double lo, double hi) {
  double r = x < lo ? lo : x;
  return r > hi ? hi : r;
}

TEST(ElementwiseClip, OptionalMinMaxInputs) {
  Tensor x = random_tensor(DType::kF32, {3, 4, 5}, 31, -3, 3);
  Tensor lo = make(DType::kF32, {}, {-1.25});
  Tensor hi = make(DType::kF32, {}, {0.5});
  const double inf = std::numeric_limits<double>::infinity();
  auto both = run_op({.op = "Clip", .inputs = {x, lo, hi}, .opset = 13});
  expect_close(both[0], apply1(x, [](double v) { return clip_ref(v, -1.25, 0.5); }), 0, 0);
  auto min_only = run_op({.op = "Clip", .inputs = {x, lo}, .opset = 13});
  expect_close(min_only[0], apply1(x, [&](double v) { return clip_ref(v, -1.25, inf); }), 0, 0);
  auto max_only = run_op({.op = "Clip", .inputs = {x, Tensor(), hi}, .opset = 13});
  expect_close(max_only[0], apply1(x, [&](double v) { return clip_ref(v, -inf, 0.5); }), 0, 0);
  auto none = run_op({.op = "Clip", .inputs = {x}, .opset = 13});
  expect_close(none[0], to_doubles(x), 0, 0);
  // min > max: everything becomes max.
  auto crossed = run_op({.op = "Clip", .inputs = {x, hi, lo}, .opset = 13});
  expect_close(crossed[0], std::vector<double>(60, -1.25), 0, 0);
  // Shape [1] bounds, as some exporters write them.
  Tensor lo1 = make(DType::kF32, {1}, {-0.5});
  auto shaped = run_op({.op = "Clip", .inputs = {x, lo1}, .opset = 13});
  expect_close(shaped[0], apply1(x, [&](double v) { return clip_ref(v, -0.5, inf); }), 0, 0);
}

TEST(ElementwiseClip, AttributeFormBeforeOpset11) {
  Tensor x = random_tensor(DType::kF32, {17}, 32, -3, 3);
  auto out = run_op({.op = "Clip", .inputs = {x}, .attrs = attrs({{"min", -1.0f}, {"max", 2.0f}}), .opset = 6});
  expect_close(out[0], apply1(x, [](double v) { return clip_ref(v, -1, 2); }), 0, 0);
  out = run_op({.op = "Clip", .inputs = {x}, .attrs = attrs({{"max", 0.0f}}), .opset = 6});
  expect_close(out[0], apply1(x, [](double v) { return std::min(v, 0.0); }), 0, 0);
}

TEST(ElementwiseClip, IntegersHalvesAndNaN) {
  Tensor x = make(DType::kI8, {5}, {-128, -3, 0, 4, 127});
  Tensor lo = make(DType::kI8, {}, {-2});
  auto out = run_op({.op = "Clip", .inputs = {x, lo}, .opset = 13});
  expect_close(out[0], {-2, -2, 0, 4, 127}, 0, 0);
  Tensor hi = make(DType::kI8, {}, {3});
  out = run_op({.op = "Clip", .inputs = {x, Tensor(), hi}, .opset = 13});
  expect_close(out[0], {-128, -3, 0, 3, 3}, 0, 0);
  Tensor h = make(DType::kBF16, {3}, {std::nan(""), -5, 5});
  out = run_op({.op = "Clip", .inputs = {h, make(DType::kBF16, {}, {-1}), make(DType::kBF16, {}, {1})}});
  expect_close(out[0], {std::nan(""), -1, 1}, 0, 0);
}

TEST(ElementwiseClip, Errors) {
  Tensor x = random_tensor(DType::kF32, {4}, 33);
  expect_error({.op = "Clip", .inputs = {x, random_tensor(DType::kF32, {2}, 1)}, .opset = 13},
               ErrorCode::kInvalidModel);
  expect_error({.op = "Clip", .inputs = {x, make(DType::kF64, {}, {0})}, .opset = 13},
               ErrorCode::kInvalidModel);
  expect_error({.op = "Clip", .inputs = {make(DType::kI32, {1}, {1})}, .opset = 11},
               ErrorCode::kUnsupported);
}

// --- PRelu ---

TEST(ElementwisePRelu, SlopeBroadcastsToX) {
  Tensor x = random_tensor(DType::kF32, {2, 3, 5, 7}, 41, -2, 2);
  auto prelu = [](double v, double s) { return v < 0 ? s * v : v; };
  for (Dims sd : {Dims{3, 1, 1}, Dims{7}, Dims{1}, Dims{2, 3, 5, 7}, Dims{5, 1}}) {
    SCOPED_TRACE(dims_to_string(sd));
    Tensor s = random_tensor(DType::kF32, sd, 42, 0.05, 0.5);
    auto out = run_op({.op = "PRelu", .inputs = {x, s}, .opset = 16});
    expect_dims(out[0], x.dims());
    expect_close(out[0], apply2(x, s, prelu), 1e-7, 1e-6);
  }
  Tensor xi = make(DType::kI64, {4}, {-3, -1, 0, 5});
  Tensor si = make(DType::kI64, {1}, {4});
  expect_close(run_op({.op = "PRelu", .inputs = {xi, si}})[0], {-12, -4, 0, 5}, 0, 0);
}

TEST(ElementwisePRelu, SlopeThatWouldGrowXIsInvalid) {
  Tensor x = random_tensor(DType::kF32, {3, 1}, 43);
  expect_error({.op = "PRelu", .inputs = {x, random_tensor(DType::kF32, {3, 4}, 44)}},
               ErrorCode::kInvalidModel);
  expect_error({.op = "PRelu", .inputs = {x, random_tensor(DType::kF32, {2, 3, 1}, 44)}},
               ErrorCode::kInvalidModel);
  expect_error({.op = "PRelu", .inputs = {x, random_tensor(DType::kF64, {1}, 44)}},
               ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
