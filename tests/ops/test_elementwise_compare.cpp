// Max/Min/Sum/Mean, comparisons, And/Or/Xor and Where, with broadcasting.
#include <cmath>
#include <limits>

#include "test_elementwise_ref.h"

namespace kiln::test {
namespace {

using ewref::apply2;
using ewref::expect_error;
using ewref::make;

TEST(ElementwiseVariadic, BroadcastOverOneToFourInputs) {
  const std::vector<Dims> shapes = {{2, 3, 17}, {17}, {3, 1}, {2, 1, 1}};
  std::vector<Tensor> all;
  for (size_t i = 0; i < shapes.size(); ++i)
    all.push_back(random_tensor(DType::kF32, shapes[i], 70 + i, -3, 3));
  for (size_t n = 1; n <= all.size(); ++n) {
    SCOPED_TRACE(n);
    std::vector<Tensor> ins(all.begin(), all.begin() + long(n));
    auto fold = [&](auto f) {
      return ewref::apply(ins, [&](const std::vector<double>& v) {
        double acc = v[0];
        for (size_t i = 1; i < v.size(); ++i) acc = f(acc, v[i]);
        return acc;
      });
    };
    auto sum = fold([](double a, double b) { return a + b; });
    std::vector<double> mean = sum;
    for (double& m : mean) m /= double(n);
    expect_close(run_op({.op = "Max", .inputs = ins})[0], fold([](double a, double b) { return std::max(a, b); }), 0, 0);
    expect_close(run_op({.op = "Min", .inputs = ins})[0], fold([](double a, double b) { return std::min(a, b); }), 0, 0);
    // Accumulated in double, rounded once.
    expect_close(run_op({.op = "Sum", .inputs = ins})[0], sum, 1e-6, 6e-8);
    expect_close(run_op({.op = "Mean", .inputs = ins})[0], mean, 1e-6, 6e-8);
  }
}

TEST(ElementwiseVariadic, IntegersHalvesAndNaN) {
  Tensor a = make(DType::kI8, {3}, {-128, 5, 7});
  Tensor b = make(DType::kI8, {}, {6});
  expect_close(run_op({.op = "Max", .inputs = {a, b}})[0], {6, 6, 7}, 0, 0);
  expect_close(run_op({.op = "Min", .inputs = {a, b}})[0], {-128, 5, 6}, 0, 0);
  Tensor u = make(DType::kU8, {2}, {200, 3});
  expect_close(run_op({.op = "Max", .inputs = {u, make(DType::kU8, {2}, {100, 250})}})[0], {200, 250}, 0, 0);

  const double nan = std::nan("");
  Tensor x = make(DType::kF32, {3}, {nan, 1, 2});
  Tensor y = make(DType::kF32, {3}, {0, nan, 3});
  expect_close(run_op({.op = "Max", .inputs = {x, y}})[0], {nan, nan, 3}, 0, 0);
  expect_close(run_op({.op = "Min", .inputs = {y, x}})[0], {nan, nan, 2}, 0, 0);

  Tensor h1 = random_tensor(DType::kF16, {4, 5}, 80, -3, 3);
  Tensor h2 = random_tensor(DType::kF16, {5}, 81, -3, 3);
  Tensor h3 = random_tensor(DType::kF16, {4, 1}, 82, -3, 3);
  std::vector<double> mean = ewref::apply({h1, h2, h3}, [](const std::vector<double>& v) { return (v[0] + v[1] + v[2]) / 3; });
  expect_close(run_op({.op = "Mean", .inputs = {h1, h2, h3}})[0], mean, 1e-3, 5e-4);

  expect_error({.op = "Sum", .inputs = {make(DType::kI32, {1}, {1}), make(DType::kI32, {1}, {1})}},
               ErrorCode::kUnsupported);
  expect_error({.op = "Max", .inputs = {make(DType::kBool, {1}, {1})}}, ErrorCode::kUnsupported);
  expect_error({.op = "Max", .inputs = {a, make(DType::kI32, {1}, {1})}}, ErrorCode::kInvalidModel);
  expect_error({.op = "Sum", .inputs = {random_tensor(DType::kF32, {2}, 1), random_tensor(DType::kF32, {3}, 1)}},
               ErrorCode::kInvalidModel);
}

struct CmpCase {
  const char* op;
  bool (*ref)(double, double);
};
const CmpCase kCmp[] = {
    {"Equal", [](double a, double b) { return a == b; }},
    {"Less", [](double a, double b) { return a < b; }},
    {"Greater", [](double a, double b) { return a > b; }},
    {"LessOrEqual", [](double a, double b) { return a <= b; }},
    {"GreaterOrEqual", [](double a, double b) { return a >= b; }},
};

TEST(ElementwiseCompare, AllTypesBroadcast) {
  for (const CmpCase& c : kCmp) {
    for (DType dt : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI32,
                     DType::kI8, DType::kU8}) {
      SCOPED_TRACE(std::string(c.op) + " " + dtype_name(dt));
      // Small integer-valued ranges so that equal values occur.
      Tensor a = random_tensor(dt, {3, 1, 17}, 90, 0, 4);
      Tensor b = random_tensor(dt, {5, 1}, 91, 0, 4);
      auto out = run_op({.op = c.op, .inputs = {a, b}})[0];
      ASSERT_EQ(out.dtype(), DType::kBool);
      expect_dims(out, {3, 5, 17});
      expect_close(out, apply2(a, b, [&](double x, double y) { return double(c.ref(x, y)); }), 0, 0);
    }
  }
  const double nan = std::nan("");
  Tensor x = make(DType::kF32, {2}, {nan, 1});
  Tensor y = make(DType::kF32, {2}, {nan, 1});
  expect_close(run_op({.op = "Equal", .inputs = {x, y}})[0], {0, 1}, 0, 0);
  expect_close(run_op({.op = "LessOrEqual", .inputs = {x, y}})[0], {0, 1}, 0, 0);
  Tensor p = make(DType::kBool, {3}, {1, 0, 1});
  Tensor q = make(DType::kBool, {}, {1});
  expect_close(run_op({.op = "Equal", .inputs = {p, q}})[0], {1, 0, 1}, 0, 0);
  expect_error({.op = "Less", .inputs = {p, q}}, ErrorCode::kUnsupported);
  expect_error({.op = "Equal", .inputs = {x, make(DType::kF64, {2}, {1, 1})}}, ErrorCode::kInvalidModel);
}

TEST(ElementwiseLogic, AndOrXor) {
  Tensor a = make(DType::kBool, {2, 1, 3}, {1, 0, 1, 0, 0, 1});
  Tensor b = make(DType::kBool, {4, 1}, {1, 0, 0, 1});
  auto band = [](double x, double y) { return double(x != 0 && y != 0); };
  auto bor = [](double x, double y) { return double(x != 0 || y != 0); };
  auto bxor = [](double x, double y) { return double((x != 0) != (y != 0)); };
  expect_close(run_op({.op = "And", .inputs = {a, b}})[0], apply2(a, b, band), 0, 0);
  expect_close(run_op({.op = "Or", .inputs = {a, b}})[0], apply2(a, b, bor), 0, 0);
  expect_close(run_op({.op = "Xor", .inputs = {a, b}})[0], apply2(a, b, bxor), 0, 0);
  expect_error({.op = "And", .inputs = {make(DType::kI32, {1}, {1}), make(DType::kI32, {1}, {1})}},
               ErrorCode::kUnsupported);
}

TEST(ElementwiseWhere, ThreeWayBroadcast) {
  Tensor c = random_tensor(DType::kF32, {3, 1, 17}, 95);
  Tensor cond(DType::kBool, c.dims());
  for (int64_t i = 0; i < c.numel(); ++i) cond.data<bool>()[i] = c.data<float>()[i] > 0;
  for (DType dt : {DType::kF32, DType::kI64, DType::kF16, DType::kBool, DType::kU8}) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor x = random_tensor(dt, {5, 1}, 96, 0, 9);
    Tensor y = random_tensor(dt, {17}, 97, 0, 9);
    auto out = run_op({.op = "Where", .inputs = {cond, x, y}})[0];
    ASSERT_EQ(out.dtype(), dt);
    expect_dims(out, {3, 5, 17});
    expect_close(out, ewref::apply({cond, x, y}, [](const std::vector<double>& v) { return v[0] != 0 ? v[1] : v[2]; }), 0, 0);
  }
  Tensor big = random_tensor(DType::kF32, {130, 1024}, 98);
  Tensor bc(DType::kBool, big.dims());
  for (int64_t i = 0; i < big.numel(); ++i) bc.data<bool>()[i] = big.data<float>()[i] > 0.3f;
  Tensor zero = make(DType::kF32, {}, {0});
  expect_close(run_op({.op = "Where", .inputs = {bc, big, zero}})[0],
               ewref::apply({bc, big, zero}, [](const std::vector<double>& v) { return v[0] != 0 ? v[1] : v[2]; }), 0, 0);
  expect_error({.op = "Where", .inputs = {c, c, c}}, ErrorCode::kUnsupported);
  expect_error({.op = "Where", .inputs = {cond, c, make(DType::kF64, {1}, {1})}}, ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
