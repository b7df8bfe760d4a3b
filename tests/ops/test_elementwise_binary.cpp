// Add/Sub/Mul/Div/Mod/Pow: broadcasting patterns, integer semantics, dtype rules.
#include <cmath>
#include <limits>

#include "ops/registry.h"
#include "test_elementwise_ref.h"

namespace kiln::test {
namespace {

using ewref::apply2;
using ewref::attrs;
using ewref::expect_error;
using ewref::make;

// Shape pairs covering each fast path: same shape, scalars, inner and outer broadcasts, both
// sides broadcast, size-1 axes in the middle, rank 0, empty.
const std::vector<std::pair<Dims, Dims>> kShapePairs = {
    {{3, 17}, {3, 17}},          {{1023}, {}},         {{}, {1025}},
    {{2, 3, 4, 5}, {5}},         {{2, 3, 4, 5}, {3, 1, 1}}, {{2, 1, 4, 1}, {3, 1, 5}},
    {{4, 1, 3}, {1, 1, 1}},      {{1, 5, 1, 7}, {2, 5, 3, 1}}, {{}, {}},
    {{0, 3}, {3}},               {{2, 1025}, {2, 1}},  {{1, 1}, {1}},
    {{64, 1, 130}, {1, 127, 130}},  // big enough to run in parallel chunks
};

struct ArithCase {
  const char* op;
  double (*ref)(double, double);
};
const ArithCase kArith[] = {
    {"Add", [](double a, double b) { return a + b; }},
    {"Sub", [](double a, double b) { return a - b; }},
    {"Mul", [](double a, double b) { return a * b; }},
    {"Div", [](double a, double b) { return a / b; }},
};

TEST(ElementwiseBinary, FloatBroadcastPatterns) {
  for (const ArithCase& c : kArith) {
    for (const auto& [da, db] : kShapePairs) {
      SCOPED_TRACE(std::string(c.op) + " " + dims_to_string(da) + " , " + dims_to_string(db));
      Tensor a = random_tensor(DType::kF32, da, 51, -3, 3);
      Tensor b = random_tensor(DType::kF32, db, 52, 0.5, 3);  // no zero divisors
      auto out = run_op({.op = c.op, .inputs = {a, b}});
      expect_dims(out[0], ewref::broadcast({da, db}));
      // One float rounding of the exact result.
      expect_close(out[0], apply2(a, b, c.ref), 1e-6, 1e-7);
      auto swapped = run_op({.op = c.op, .inputs = {b, a}});
      expect_close(swapped[0], apply2(b, a, c.ref), 1e-6, 1e-7);
    }
  }
}

TEST(ElementwiseBinary, OtherFloatTypes) {
  for (DType dt : {DType::kF64, DType::kF16, DType::kBF16}) {
    for (const ArithCase& c : kArith) {
      SCOPED_TRACE(std::string(c.op) + " " + dtype_name(dt));
      Tensor a = random_tensor(dt, {2, 3, 17}, 53, -3, 3);
      Tensor b = random_tensor(dt, {3, 1}, 54, 0.5, 3);
      auto out = run_op({.op = c.op, .inputs = {a, b}});
      ASSERT_EQ(out[0].dtype(), dt);
      double tol = dt == DType::kF64 ? 1e-15 : dt == DType::kF16 ? 1e-3 : 8e-3;
      expect_close(out[0], apply2(a, b, c.ref), tol, tol);
    }
  }
}

TEST(ElementwiseBinary, IntegersWrapAndDivTruncates) {
  Tensor a = make(DType::kU8, {4}, {250, 3, 0, 200});
  Tensor b = make(DType::kU8, {4}, {10, 5, 1, 2});
  expect_close(run_op({.op = "Add", .inputs = {a, b}})[0], {4, 8, 1, 202}, 0, 0);
  expect_close(run_op({.op = "Sub", .inputs = {a, b}})[0], {240, 254, 255, 198}, 0, 0);
  expect_close(run_op({.op = "Mul", .inputs = {a, b}})[0], {196, 15, 0, 144}, 0, 0);
  expect_close(run_op({.op = "Div", .inputs = {a, b}})[0], {25, 0, 0, 100}, 0, 0);

  Tensor x = make(DType::kI8, {5}, {-128, 127, -7, 7, -7});
  Tensor y = make(DType::kI8, {5}, {-1, 1, 2, -2, -2});
  expect_close(run_op({.op = "Div", .inputs = {x, y}})[0], {-128, 127, -3, -3, 3}, 0, 0);
  expect_close(run_op({.op = "Add", .inputs = {x, y}})[0], {127, -128, -5, 5, -9}, 0, 0);

  const int64_t big = std::numeric_limits<int64_t>::max();
  Tensor p = make(DType::kI64, {2}, {0, 0});
  p.data<int64_t>()[0] = big;
  p.data<int64_t>()[1] = -9;
  Tensor q = make(DType::kI64, {}, {2});
  auto prod = run_op({.op = "Mul", .inputs = {p, q}})[0];
  EXPECT_EQ(prod.data<int64_t>()[0], -2);
  EXPECT_EQ(prod.data<int64_t>()[1], -18);
  auto quot = run_op({.op = "Div", .inputs = {p, q}})[0];
  EXPECT_EQ(quot.data<int64_t>()[0], big / 2);
  EXPECT_EQ(quot.data<int64_t>()[1], -4);

  Tensor i32 = random_tensor(DType::kI32, {3, 1025}, 55, -1000, 1000);
  Tensor j32 = random_tensor(DType::kI32, {1025}, 56, 1, 50);
  expect_close(run_op({.op = "Div", .inputs = {i32, j32}})[0],
               apply2(i32, j32, [](double a, double b) { return std::trunc(a / b); }), 0, 0);
}

TEST(ElementwiseBinary, IntegerDivisionByZeroIsAnError) {
  Tensor a = make(DType::kI32, {3}, {1, 2, 3});
  Tensor b = make(DType::kI32, {3}, {1, 0, 3});
  expect_error({.op = "Div", .inputs = {a, b}}, ErrorCode::kInvalidArgument);
  expect_error({.op = "Mod", .inputs = {a, b}}, ErrorCode::kInvalidArgument);
  // Float division by zero is IEEE.
  Tensor f = make(DType::kF32, {2}, {1, -1});
  Tensor z = make(DType::kF32, {}, {0});
  const double inf = std::numeric_limits<double>::infinity();
  expect_close(run_op({.op = "Div", .inputs = {f, z}})[0], {inf, -inf}, 0, 0);
}

TEST(ElementwiseBinary, Mod) {
  Tensor a = make(DType::kI32, {6}, {-4, 7, -7, 7, 5, -128});
  Tensor b = make(DType::kI32, {6}, {3, -3, -3, 3, 5, -1});
  expect_close(run_op({.op = "Mod", .inputs = {a, b}})[0], {2, -2, -1, 1, 0, 0}, 0, 0);
  Attributes fmod = attrs({{"fmod", int64_t(1)}});
  expect_close(run_op({.op = "Mod", .inputs = {a, b}, .attrs = fmod})[0], {-1, 1, -1, 1, 0, 0}, 0, 0);

  Tensor x = random_tensor(DType::kF32, {4, 17}, 57, -10, 10);
  Tensor y = random_tensor(DType::kF32, {17}, 58, 0.5, 3);
  expect_close(run_op({.op = "Mod", .inputs = {x, y}, .attrs = fmod})[0],
               apply2(x, y, [](double p, double q) { return std::fmod(p, q); }), 0, 0);
  Tensor h = make(DType::kF16, {3}, {-4.5, 7.25, 5});
  Tensor k = make(DType::kF16, {3}, {2, -2, 5});
  expect_close(run_op({.op = "Mod", .inputs = {h, k}, .attrs = fmod})[0], {-0.5, 1.25, 0}, 0, 0);

  Tensor u = make(DType::kU8, {3}, {250, 7, 9});
  Tensor v = make(DType::kU8, {}, {7});
  expect_close(run_op({.op = "Mod", .inputs = {u, v}})[0], {5, 0, 2}, 0, 0);

  expect_error({.op = "Mod", .inputs = {x, y}}, ErrorCode::kInvalidModel);  // float needs fmod=1
  expect_error({.op = "Mod", .inputs = {a, b}, .attrs = attrs({{"fmod", int64_t(2)}})},
               ErrorCode::kInvalidModel);
}

TEST(ElementwiseBinary, PowMixedTypes) {
  Tensor x = random_tensor(DType::kF32, {3, 17}, 59, 0.1, 3);
  Tensor ex = random_tensor(DType::kF32, {17}, 60, -2, 2);
  auto pw = [](double a, double b) { return std::pow(a, b); };
  expect_close(run_op({.op = "Pow", .inputs = {x, ex}})[0], apply2(x, ex, pw), 1e-7, 1e-7);
  Tensor two = make(DType::kF32, {}, {2});
  expect_close(run_op({.op = "Pow", .inputs = {x, two}})[0], apply2(x, two, pw), 1e-7, 1e-7);
  const double inf = std::numeric_limits<double>::infinity();
  Tensor special = make(DType::kF32, {6}, {-0.0, -inf, 4, -4, inf, 2e-45});
  Tensor half = make(DType::kF32, {}, {0.5});
  auto root = run_op({.op = "Pow", .inputs = {special, half}})[0];
  expect_close(root, {0, inf, 2, std::nan(""), inf, std::sqrt(double(2e-45f))}, 0, 1e-7);
  EXPECT_FALSE(std::signbit(root.data<float>()[0]));  // pow(-0, 0.5) is +0, unlike sqrt
  Tensor ei = make(DType::kI64, {3, 1}, {-2, 0, 3});
  auto out = run_op({.op = "Pow", .inputs = {x, ei}, .opset = 15})[0];
  ASSERT_EQ(out.dtype(), DType::kF32);
  expect_close(out, apply2(x, ei, pw), 1e-7, 1e-7);
  Tensor xh = random_tensor(DType::kF16, {3, 17}, 61, 0.1, 3);
  expect_close(run_op({.op = "Pow", .inputs = {xh, ex}})[0], apply2(xh, ex, pw), 1e-3, 1e-3);

  Tensor xi = make(DType::kI32, {5}, {2, -3, 1, -1, 5});
  Tensor ii = make(DType::kI32, {5}, {10, 3, -4, -3, -1});
  expect_close(run_op({.op = "Pow", .inputs = {xi, ii}})[0], {1024, -27, 1, -1, 0}, 0, 0);
  Tensor ef = make(DType::kF32, {5}, {0.5, 2, 3, 2, 1.5});
  // 2^0.5 = 1.41 -> 1; (-3)^2 = 9; 1; 1; 5^1.5 = 11.18 -> 11.
  expect_close(run_op({.op = "Pow", .inputs = {xi, ef}})[0], {1, 9, 1, 1, 11}, 0, 0);
  Tensor three = make(DType::kI64, {2}, {3, 3});
  Tensor e = make(DType::kU8, {2}, {39, 40});
  auto p = run_op({.op = "Pow", .inputs = {three, e}})[0];
  EXPECT_EQ(p.data<int64_t>()[0], 4052555153018976267);   // 3^39, exact
  EXPECT_EQ(p.data<int64_t>()[1], -6289078614652622815);  // 3^40 wrapped mod 2^64
  expect_error({.op = "Pow", .inputs = {make(DType::kI32, {1}, {0}), make(DType::kI32, {1}, {-1})}},
               ErrorCode::kInvalidArgument);
  expect_error({.op = "Pow", .inputs = {make(DType::kU8, {1}, {2}), make(DType::kU8, {1}, {2})}},
               ErrorCode::kUnsupported);
}

TEST(ElementwiseBinary, DtypeAndShapeErrors) {
  Tensor a = random_tensor(DType::kF32, {3, 4}, 62);
  expect_error({.op = "Add", .inputs = {a, random_tensor(DType::kF64, {3, 4}, 63)}},
               ErrorCode::kInvalidModel);
  expect_error({.op = "Mul", .inputs = {a, random_tensor(DType::kF32, {3, 5}, 63)}},
               ErrorCode::kInvalidModel);
  expect_error({.op = "Sub", .inputs = {make(DType::kBool, {1}, {1}), make(DType::kBool, {1}, {1})}},
               ErrorCode::kUnsupported);
}

TEST(ElementwiseBinary, InferenceWithSymbolicAndUnknownDims) {
  Node node;
  node.op_type = "Add";
  node.opset = 17;
  node.outputs = {"y"};
  Value a{"a", {DType::kF32, Shape{Dim::symbolic("N"), Dim(1), Dim(4)}}, std::nullopt};
  Value b{"b", {DType::kF32, Shape{Dim(3), Dim(1)}}, std::nullopt};
  InferContext ctx{{node}, {&a, &b}};
  const OpSchema* s = OpRegistry::instance().find("", "Add");
  auto t = s->infer(ctx);
  ASSERT_TRUE(t[0].shape.has_value());
  EXPECT_EQ(shape_to_string(*t[0].shape), "Nx3x4");
  b.type.shape.reset();
  EXPECT_FALSE(s->infer(ctx)[0].shape.has_value());
}

}  // namespace
}  // namespace kiln::test
