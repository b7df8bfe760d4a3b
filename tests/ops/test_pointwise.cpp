// kiln.Pointwise's CPU reference on hand-built programs — broadcasting, several outputs, bool
// logic, comparisons and Where, Cast rounding, NaN — against loops written here, and its user
// errors: every malformed program a hand-written file could carry is kInvalidModel, never a
// crash.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "harness.h"
#include "pointwise_test_program.h"
#include "ir/dtype.h"
#include "ops/elementwise/pointwise_program.h"
#include "ops/op.h"

namespace kiln {
namespace {

using test::OpCall;

using test::Ins;
using test::program;

OpCall call(std::vector<Tensor> inputs, Attributes attrs, int outputs = 1) {
  OpCall c;
  c.op = "Pointwise";
  c.domain = kKilnDomain;
  c.inputs = std::move(inputs);
  c.attrs = std::move(attrs);
  c.num_outputs = outputs;
  return c;
}

float f(double v) { return float(v); }

// sigmoid((x - y) * z) with y [5] and z [2,1,1] broadcast to x [2,3,5], and x - y as a second
// output; each float result rounded to float32 as the op defines.
TEST(Pointwise, BroadcastsAndWritesSeveralOutputs) {
  const Tensor x = test::random_tensor(DType::kF32, {2, 3, 5}, 1, -3, 3);
  const Tensor y = test::random_tensor(DType::kF32, {5}, 2, -3, 3);
  const Tensor z = test::random_tensor(DType::kF32, {2, 1, 1}, 3, -3, 3);
  // values: 0 x, 1 y, 2 z, 3 Sub, 4 Mul, 5 Sigmoid
  auto out = test::run_op(call({x, y, z}, program({{"Sub", {0, 1}}, {"Mul", {3, 2}}, {"Sigmoid", {4}}}, {2, 0}), 2));
  ASSERT_EQ(out.size(), 2u);
  std::vector<double> want_s, want_d;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 5; ++j) {
        const float d = x.data<float>()[(b * 3 + i) * 5 + j] - y.data<float>()[j];
        const float m = d * z.data<float>()[b];
        want_d.push_back(d);
        want_s.push_back(f(1 / (1 + std::exp(-double(m)))));
      }
  test::expect_dims(out[0], {2, 3, 5});
  test::expect_close(out[0], want_s, 0, 1e-7);
  test::expect_close(out[1], want_d, 0, 0);
}

// Where(Less(x, y) And Not(m), x, -y) → and the bool mask itself as an output.
TEST(Pointwise, BoolLogicComparisonsAndWhere) {
  const Tensor x = test::random_tensor(DType::kF32, {4, 7}, 4);
  const Tensor y = test::random_tensor(DType::kF32, {4, 1}, 5);
  Tensor m(DType::kBool, {7});
  for (int64_t i = 0; i < 7; ++i) m.data<bool>()[i] = i % 3 == 0;
  // values: 0 x, 1 y, 2 m, 3 Less, 4 Not, 5 And, 6 Neg, 7 Where, 8 Xor
  auto out = test::run_op(call({x, y, m},
                               program({{"Less", {0, 1}}, {"Not", {2}}, {"And", {3, 4}}, {"Neg", {1}},
                                        {"Where", {5, 0, 6}}, {"Xor", {5, 2}}},
                                       {4, 5}),
                               2));
  std::vector<double> want, want_x;
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 7; ++c) {
      const float xv = x.data<float>()[r * 7 + c], yv = y.data<float>()[r];
      const bool sel = xv < yv && !m.data<bool>()[c];
      want.push_back(sel ? xv : -yv);
      want_x.push_back(sel != m.data<bool>()[c]);
    }
  EXPECT_EQ(out[0].dtype(), DType::kF32);
  EXPECT_EQ(out[1].dtype(), DType::kBool);
  test::expect_close(out[0], want, 0, 0);
  test::expect_close(out[1], want_x, 0, 0);
}

// A Cast to float16 rounds there (the unfused graph stored that value); float16 intermediates
// that are not Casts are held in float32: 1 + 2^-11 - 1 is 2^-11 fused, 0 had each Add/Sub
// rounded to float16.
TEST(Pointwise, CastRoundsWhereTheGraphDidAndFloat16IntermediatesStayFloat32) {
  Tensor x = Tensor::from_doubles(DType::kF32, {3}, {1.0 + 1.0 / 4096, 1.0 + 3.0 / 4096, 70000.0});
  // Cast(x → f16) → Cast(→ f32): round to nearest even, overflow to inf.
  auto c = test::run_op(call({x}, program({{"Cast", {0}, 10}, {"Cast", {1}, 1}}, {1})));
  test::expect_close(c[0], {1.0, 1.0 + 4.0 / 4096, INFINITY}, 0, 0);

  Tensor h = Tensor::from_doubles(DType::kF16, {1}, {1.0});
  Tensor t = Tensor::from_doubles(DType::kF16, {1}, {1.0 / 2048});
  auto s = test::run_op(call({h, t}, program({{"Add", {0, 1}}, {"Sub", {2, 0}}}, {1})));
  EXPECT_EQ(s[0].dtype(), DType::kF16);
  test::expect_close(s[0], {1.0 / 2048}, 0, 0);
  // With the explicit Cast in between it rounds as the unfused graph: 0.
  auto r = test::run_op(call({h, t}, program({{"Add", {0, 1}}, {"Cast", {2}, 10}, {"Sub", {3, 0}}}, {2})));
  test::expect_close(r[0], {0.0}, 0, 0);
}

// NaN as the unfused ops treat it: Relu keeps it, Max/Min propagate it, comparisons are false,
// Cast to bool is true, IsNaN sees it.
TEST(Pointwise, NaNBehavesAsTheUnfusedOps) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = Tensor::from_doubles(DType::kF32, {3}, {nan, -2.0, 3.0});
  Tensor one = Tensor::from_doubles(DType::kF32, {}, {1.0});
  // values: 0 x, 1 one, 2 Relu, 3 Max, 4 Min, 5 Less, 6 Cast bool, 7 IsNaN, 8 Equal(bool)
  auto out = test::run_op(call({x, one},
                               program({{"Relu", {0}}, {"Max", {0, 1}}, {"Min", {0, 1}}, {"Less", {0, 1}},
                                        {"Cast", {0}, 9}, {"IsNaN", {0}}, {"Equal", {5, 6}}},
                                       {0, 1, 2, 3, 4, 5, 6}),
                          7));
  test::expect_close(out[0], {nan, 0.0, 3.0}, 0, 0);
  test::expect_close(out[1], {nan, 1.0, 3.0}, 0, 0);
  test::expect_close(out[2], {nan, -2.0, 1.0}, 0, 0);
  test::expect_close(out[3], {0.0, 1.0, 0.0}, 0, 0);
  test::expect_close(out[4], {1.0, 1.0, 1.0}, 0, 0);
  test::expect_close(out[5], {1.0, 0.0, 0.0}, 0, 0);
  test::expect_close(out[6], {0.0, 1.0, 0.0}, 0, 0);  // Less == Cast
}

// Every unary float op against its double formula rounded to float32, on float16 storage.
TEST(Pointwise, UnaryOpsOnFloat16) {
  const Tensor x = test::random_tensor(DType::kF16, {33}, 6, 0.1, 2.5);
  struct U {
    const char* op;
    double (*fn)(double);
    int64_t param;
  };
  const U ops[] = {
      {"Tanh", [](double v) { return std::tanh(v); }, 0}, {"Erf", [](double v) { return std::erf(v); }, 0},
      {"Exp", [](double v) { return std::exp(v); }, 0},   {"Log", [](double v) { return std::log(v); }, 0},
      {"Sqrt", [](double v) { return std::sqrt(v); }, 0}, {"Reciprocal", [](double v) { return 1 / v; }, 0},
      {"Abs", [](double v) { return std::fabs(v); }, 0},  {"Floor", [](double v) { return std::floor(v); }, 0},
      {"Ceil", [](double v) { return std::ceil(v); }, 0}, {"Sin", [](double v) { return std::sin(v); }, 0},
      {"Cos", [](double v) { return std::cos(v); }, 0},   {"Neg", [](double v) { return -v; }, 0},
      {"Gelu", [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }, 0},
      {"Gelu", [](double v) { return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); }, 1},
  };
  for (const U& u : ops) {
    SCOPED_TRACE(std::string(u.op) + " " + std::to_string(u.param));
    auto out = test::run_op(call({x}, program({{u.op, {0}, u.param}}, {0})));
    std::vector<double> want;
    for (int64_t i = 0; i < x.numel(); ++i) want.push_back(u.fn(f16_to_float(x.data<f16>()[i].bits)));
    test::expect_close(out[0], want, 0, 1.0 / 1024);  // one float16 rounding of the result
  }
}

TEST(Pointwise, MalformedProgramsAreModelErrors) {
  const Tensor x = test::random_tensor(DType::kF32, {3}, 7);
  Tensor b(DType::kBool, {3});
  auto code = [&](std::vector<Tensor> in, Attributes a, int outs = 1) { return test::error_code_of(call(in, a, outs)); };
  EXPECT_EQ(code({x}, program({{"Softmax", {0}}}, {0})), ErrorCode::kInvalidModel);     // unknown op
  EXPECT_EQ(code({x}, program({{"Exp", {1}}}, {0})), ErrorCode::kInvalidModel);         // itself
  EXPECT_EQ(code({x}, program({{"Exp", {5}}}, {0})), ErrorCode::kInvalidModel);         // later value
  EXPECT_EQ(code({x}, program({{"Exp", {-1}}}, {0})), ErrorCode::kInvalidModel);        // missing operand
  EXPECT_EQ(code({x}, program({{"Exp", {0, 0}}}, {0})), ErrorCode::kInvalidModel);      // extra operand
  EXPECT_EQ(code({b}, program({{"Add", {0, 0}}}, {0})), ErrorCode::kInvalidModel);      // bool arithmetic
  EXPECT_EQ(code({x}, program({{"And", {0, 0}}}, {0})), ErrorCode::kInvalidModel);      // float logic
  EXPECT_EQ(code({x, b}, program({{"Where", {0, 1, 1}}}, {0})), ErrorCode::kInvalidModel);  // float condition
  EXPECT_EQ(code({x, b}, program({{"Add", {0, 1}}}, {0})), ErrorCode::kInvalidModel);   // mixed types
  EXPECT_EQ(code({x}, program({{"Cast", {0}, 7}}, {0})), ErrorCode::kInvalidModel);     // to int64
  EXPECT_EQ(code({x}, program({{"Cast", {0}, 99999}}, {0})), ErrorCode::kInvalidModel); // no such type
  EXPECT_EQ(code({x}, program({{"Exp", {0}, 3}}, {0})), ErrorCode::kInvalidModel);      // stray param
  EXPECT_EQ(code({x}, program({{"Gelu", {0}, 2}}, {0})), ErrorCode::kInvalidModel);     // no such GELU
  EXPECT_EQ(code({x}, program({{"Exp", {0}}}, {1})), ErrorCode::kInvalidModel);         // no instruction 1
  EXPECT_EQ(code({x}, program({{"Exp", {0}}}, {})), ErrorCode::kInvalidModel);          // no result
  EXPECT_EQ(code({x}, program({{"Exp", {0}}}, {0}), 2), ErrorCode::kInvalidModel);      // outputs ≠ results
  EXPECT_EQ(code({x}, program({}, {0})), ErrorCode::kInvalidModel);                      // no instructions
  EXPECT_EQ(code({test::random_tensor(DType::kI64, {3}, 8)}, program({{"Neg", {0}}}, {0})), ErrorCode::kInvalidModel);
  Attributes short_args = program({{"Exp", {0}}}, {0});
  short_args.set("args", std::vector<int64_t>{0});
  EXPECT_EQ(code({x}, short_args), ErrorCode::kInvalidModel);
  Attributes missing = program({{"Exp", {0}}}, {0});
  Attributes no_params;
  for (const auto& [k, v] : missing.all())
    if (k != "params") no_params.set(k, v);
  EXPECT_EQ(code({x}, no_params), ErrorCode::kInvalidModel);
  Attributes wrong_type = program({{"Exp", {0}}}, {0});
  wrong_type.set("ops", int64_t(3));
  EXPECT_EQ(code({x}, wrong_type), ErrorCode::kInvalidModel);
  // Shapes that do not broadcast.
  EXPECT_EQ(code({x, test::random_tensor(DType::kF32, {4}, 9)}, program({{"Add", {0, 1}}}, {0})),
            ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln
