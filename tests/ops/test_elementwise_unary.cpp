// Unary math ops against double-precision references.
#include <cmath>
#include <limits>

#include "ops/registry.h"
#include "test_elementwise_ref.h"

namespace kiln::test {
namespace {

using ewref::apply1;
using ewref::expect_error;
using ewref::make;

struct UnaryCase {
  const char* op;
  double lo, hi;  // input domain
  double (*ref)(double);
};

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double reciprocal_ref(double x) { return 1.0 / x; }
double neg_ref(double x) { return -x; }
double sign_ref(double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }
double abs_ref(double x) { return std::fabs(x); }

const UnaryCase kCases[] = {
    {"Exp", -5, 5, [](double x) { return std::exp(x); }},
    {"Log", 0.01, 10, [](double x) { return std::log(x); }},
    {"Sqrt", 0.0, 10, [](double x) { return std::sqrt(x); }},
    {"Reciprocal", 0.1, 3, reciprocal_ref},
    {"Floor", -5, 5, [](double x) { return std::floor(x); }},
    {"Ceil", -5, 5, [](double x) { return std::ceil(x); }},
    {"Sin", -4, 4, [](double x) { return std::sin(x); }},
    {"Cos", -4, 4, [](double x) { return std::cos(x); }},
    {"Tan", -1.4, 1.4, [](double x) { return std::tan(x); }},
    {"Asin", -0.99, 0.99, [](double x) { return std::asin(x); }},
    {"Acos", -0.99, 0.99, [](double x) { return std::acos(x); }},
    {"Atan", -5, 5, [](double x) { return std::atan(x); }},
    {"Sinh", -3, 3, [](double x) { return std::sinh(x); }},
    {"Cosh", -3, 3, [](double x) { return std::cosh(x); }},
    {"Asinh", -5, 5, [](double x) { return std::asinh(x); }},
    {"Acosh", 1.0, 6, [](double x) { return std::acosh(x); }},
    {"Atanh", -0.95, 0.95, [](double x) { return std::atanh(x); }},
    {"Tanh", -4, 4, [](double x) { return std::tanh(x); }},
    {"Sigmoid", -20, 20, sigmoid_ref},
    {"Erf", -3, 3, [](double x) { return std::erf(x); }},
    {"Abs", -3, 3, abs_ref},
    {"Neg", -3, 3, neg_ref},
    {"Sign", -3, 3, sign_ref},
};

TEST(ElementwiseUnary, FloatOpsMatchDoubleReference) {
  for (const UnaryCase& c : kCases) {
    SCOPED_TRACE(c.op);
    for (Dims dims : {Dims{}, Dims{1}, Dims{3, 17}, Dims{2, 1025}}) {
      Tensor x32 = random_tensor(DType::kF32, dims, 7, c.lo, c.hi);
      auto out = run_op({.op = c.op, .inputs = {x32}});
      expect_close(out[0], apply1(x32, c.ref), 1e-6, 2e-6);

      Tensor x64 = random_tensor(DType::kF64, dims, 8, c.lo, c.hi);
      out = run_op({.op = c.op, .inputs = {x64}});
      expect_close(out[0], apply1(x64, c.ref), 1e-14, 1e-13);
    }
  }
}

TEST(ElementwiseUnary, HalfTypesRoundOncePerElement) {
  for (const UnaryCase& c : kCases) {
    SCOPED_TRACE(c.op);
    for (DType dt : {DType::kF16, DType::kBF16}) {
      Tensor x = random_tensor(dt, {5, 33}, 11, c.lo, c.hi);
      auto out = run_op({.op = c.op, .inputs = {x}});
      ASSERT_EQ(out[0].dtype(), dt);
      // The expected value is the reference rounded to the same half type.
      std::vector<double> want = apply1(x, c.ref);
      for (double& w : want) w = to_doubles(make(dt, {}, {w}))[0];
      double tol = dt == DType::kF16 ? 1e-3 : 8e-3;  // one ulp (float math may tip a tie)
      expect_close(out[0], want, tol, tol);
    }
  }
}

TEST(ElementwiseUnary, LargeTensorRunsInParallelChunks) {
  Tensor x = random_tensor(DType::kF32, {3, 1023, 129}, 3, -2, 2);
  auto out = run_op({.op = "Tanh", .inputs = {x}});
  expect_close(out[0], apply1(x, [](double v) { return std::tanh(v); }), 1e-6, 2e-6);
}

TEST(ElementwiseUnary, RoundIsHalfToEven) {
  Tensor x = make(DType::kF32, {9}, {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6});
  auto out = run_op({.op = "Round", .inputs = {x}});
  expect_close(out[0], {0, 2, 2, -0, -2, -2, 2, 3, -3}, 0, 0);
}

TEST(ElementwiseUnary, SpecialValues) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  Tensor x = make(DType::kF32, {4}, {nan, -inf, inf, -0.0});
  expect_close(run_op({.op = "Sign", .inputs = {x}})[0], {nan, -1, 1, 0}, 0, 0);
  expect_close(run_op({.op = "Sigmoid", .inputs = {x}})[0], {nan, 0, 1, 0.5}, 0, 0);
  expect_close(run_op({.op = "Abs", .inputs = {x}})[0], {nan, inf, inf, 0}, 0, 0);
  Tensor big = make(DType::kF32, {2}, {-100, 100});
  expect_close(run_op({.op = "Sigmoid", .inputs = {big}})[0], {sigmoid_ref(-100), 1}, 1e-45, 1e-6);
}

TEST(ElementwiseUnary, IntegerAbsNegSignErf) {
  Tensor x = make(DType::kI8, {6}, {-128, -5, 0, 7, 127, -1});
  expect_close(run_op({.op = "Abs", .inputs = {x}})[0], {-128, 5, 0, 7, 127, 1}, 0, 0);  // wraps
  expect_close(run_op({.op = "Neg", .inputs = {x}})[0], {-128, 5, 0, -7, -127, 1}, 0, 0);
  expect_close(run_op({.op = "Sign", .inputs = {x}})[0], {-1, -1, 0, 1, 1, -1}, 0, 0);
  expect_close(run_op({.op = "Erf", .inputs = {x}})[0], {-1, -0, 0, 1, 1, -0}, 0, 0);
  Tensor big = make(DType::kI64, {2}, {-(int64_t(1) << 40), 3});
  expect_close(run_op({.op = "Abs", .inputs = {big}})[0], {double(int64_t(1) << 40), 3}, 0, 0);
  Tensor u = make(DType::kU8, {3}, {0, 200, 255});
  expect_close(run_op({.op = "Abs", .inputs = {u}})[0], {0, 200, 255}, 0, 0);
  expect_close(run_op({.op = "Sign", .inputs = {u}})[0], {0, 1, 1}, 0, 0);
}

TEST(ElementwiseUnary, IsNanIsInfNot) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64}) {
    Tensor x = make(dt, {5}, {1.0, nan, inf, -inf, -2.0});
    auto isnan = run_op({.op = "IsNaN", .inputs = {x}})[0];
    ASSERT_EQ(isnan.dtype(), DType::kBool);
    expect_close(isnan, {0, 1, 0, 0, 0}, 0, 0);
    expect_close(run_op({.op = "IsInf", .inputs = {x}})[0], {0, 0, 1, 1, 0}, 0, 0);
    Attributes neg_only = ewref::attrs({{"detect_positive", int64_t(0)}});
    expect_close(run_op({.op = "IsInf", .inputs = {x}, .attrs = neg_only})[0], {0, 0, 0, 1, 0}, 0, 0);
    Attributes pos_only = ewref::attrs({{"detect_negative", int64_t(0)}});
    expect_close(run_op({.op = "IsInf", .inputs = {x}, .attrs = pos_only})[0], {0, 0, 1, 0, 0}, 0, 0);
  }
  Tensor b = make(DType::kBool, {3}, {1, 0, 1});
  expect_close(run_op({.op = "Not", .inputs = {b}})[0], {0, 1, 0}, 0, 0);
}

TEST(ElementwiseUnary, UnsupportedDtypes) {
  expect_error({.op = "Exp", .inputs = {make(DType::kI32, {2}, {1, 2})}}, ErrorCode::kUnsupported);
  expect_error({.op = "Neg", .inputs = {make(DType::kU8, {2}, {1, 2})}}, ErrorCode::kUnsupported);
  expect_error({.op = "Abs", .inputs = {make(DType::kBool, {2}, {1, 0})}}, ErrorCode::kUnsupported);
  expect_error({.op = "Not", .inputs = {make(DType::kF32, {2}, {1, 0})}}, ErrorCode::kUnsupported);
  expect_error({.op = "IsNaN", .inputs = {make(DType::kI64, {2}, {1, 0})}}, ErrorCode::kUnsupported);
}

TEST(ElementwiseUnary, InferenceKeepsSymbolicAndUnknownShapes) {
  Node node;
  node.op_type = "Exp";
  node.opset = 17;
  node.outputs = {"y"};
  Value v{"x", {DType::kF32, Shape{Dim::symbolic("N"), Dim(3)}}, std::nullopt};
  InferContext ctx{{node}, {&v}};
  const OpSchema* s = OpRegistry::instance().find("", "Exp");
  ASSERT_NE(s, nullptr);
  auto t = s->infer(ctx);
  ASSERT_TRUE(t[0].shape.has_value());
  EXPECT_EQ(shape_to_string(*t[0].shape), "Nx3");
  v.type.shape.reset();
  t = s->infer(ctx);
  EXPECT_FALSE(t[0].shape.has_value());
  EXPECT_EQ(t[0].dtype, DType::kF32);
}

}  // namespace
}  // namespace kiln::test
