// Elementwise CUDA kernels against the CPU reference: broadcasting, odd sizes, fp32 and fp16.
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

struct Shapes {
  Dims a, b;
};
const std::vector<Shapes> kBroadcastShapes = {
    {{17}, {17}}, {{1025}, {1}}, {{}, {1023}}, {{3, 1, 1025}, {1, 5, 1}},
    {{2, 3, 4, 5}, {5}}, {{1, 3, 17}, {2, 1, 17}}, {{2, 1, 3, 1, 5, 1, 7}, {1, 4, 1, 6, 1, 2, 1}}};

void binary_case(const std::string& op, DType dt, double lo_b, double hi_b, uint64_t seed) {
  for (const auto& s : kBroadcastShapes) {
    GpuCase c{op, {random_tensor(dt, s.a, seed, op == "Pow" ? 0.1 : -2.0, 2.0),
                   random_tensor(dt, s.b, seed + 1, lo_b, hi_b)}};
    c.seed = seed++;
    if (dt == DType::kF16) f16_tolerance(c);
    expect_gpu_matches_cpu(c);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(GpuElementwise, BinaryF32) {
  binary_case("Add", DType::kF32, -1, 1, 10);
  binary_case("Sub", DType::kF32, -1, 1, 20);
  binary_case("Mul", DType::kF32, -1, 1, 30);
  binary_case("Div", DType::kF32, 0.5, 2, 40);
  binary_case("Pow", DType::kF32, -2, 2, 50);
}

TEST(GpuElementwise, BinaryF16) {
  binary_case("Add", DType::kF16, -1, 1, 110);
  binary_case("Mul", DType::kF16, -1, 1, 130);
  binary_case("Div", DType::kF16, 0.5, 2, 140);
  binary_case("Pow", DType::kF16, -2, 2, 150);
}

TEST(GpuElementwise, BinaryInt) {
  for (DType dt : {DType::kI64, DType::kI32}) {
    binary_case("Add", dt, -100, 100, 210);
    binary_case("Sub", dt, -100, 100, 220);
    binary_case("Mul", dt, -100, 100, 230);
    binary_case("Div", dt, 1, 50, 240);
  }
}

TEST(GpuElementwise, Unary) {
  struct U {
    const char* op;
    double lo, hi;
  };
  const std::vector<U> ops = {{"Relu", -2, 2},  {"Sqrt", 0, 4},     {"Erf", -3, 3},   {"Sigmoid", -8, 8},
                              {"Tanh", -4, 4},  {"Exp", -5, 5},     {"Log", 0.01, 9}, {"Neg", -2, 2},
                              {"Abs", -2, 2},   {"Sin", -6, 6},     {"Cos", -6, 6},   {"Reciprocal", 0.5, 3},
                              {"Floor", -9, 9}, {"Ceil", -9, 9}};
  uint64_t seed = 300;
  for (const U& u : ops)
    for (DType dt : {DType::kF32, DType::kF16})
      for (Dims d : {Dims{1}, Dims{1025}, Dims{3, 17, 5}}) {
        GpuCase c{u.op, {random_tensor(dt, d, seed, u.lo, u.hi)}};
        c.seed = seed++;
        c.opset = 14;
        if (dt == DType::kF16) f16_tolerance(c);
        else c.rtol = 2e-6, c.atol = 1e-6;
        expect_gpu_matches_cpu(c);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

TEST(GpuElementwise, Cast) {
  struct P {
    DType from, to;
  };
  const std::vector<P> pairs = {{DType::kF32, DType::kF16}, {DType::kF16, DType::kF32}, {DType::kF32, DType::kI64},
                                {DType::kI64, DType::kF32}, {DType::kF32, DType::kBool}, {DType::kBool, DType::kF32},
                                {DType::kI32, DType::kI64}, {DType::kI64, DType::kI32}, {DType::kF64, DType::kF32},
                                {DType::kF32, DType::kF64}, {DType::kU8, DType::kF16}, {DType::kF32, DType::kF32}};
  uint64_t seed = 400;
  for (const P& p : pairs) {
    GpuCase c{"Cast", {random_tensor(p.from, {3, 1025}, seed, -100, 100)}};
    if (p.from == DType::kU8 || p.from == DType::kBool) c.inputs[0] = random_tensor(p.from, {3, 1025}, seed, 0, 1);
    c.attrs.set("to", int64_t(dtype_to_onnx(p.to)));
    c.seed = seed++;
    c.atol = c.rtol = 0;  // both round once, the same way
    expect_gpu_matches_cpu(c);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace kiln::gpu_test
