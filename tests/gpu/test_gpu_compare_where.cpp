// Comparisons, bool logic, Not and Where on the GPU against the CPU reference; exact.
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

// Integers in [-3, 3] stored as dt: few distinct values, so equality is common.
Tensor small_ints_as(DType dt, const Dims& dims, uint64_t seed) {
  Tensor ints = random_tensor(DType::kI32, dims, seed, -3, 3), t(dt, dims);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dt == DType::kF32) t.data<float>()[i] = float(ints.at_double(i));
    else t.data<f16>()[i] = from_double<f16>(ints.at_double(i));
  }
  return t;
}

TEST(GpuCompare, CompareAndLogic) {
  uint64_t seed = 1500;
  const std::vector<std::pair<Dims, Dims>> shapes = {{{17}, {17}}, {{3, 1, 1025}, {1, 5, 1}}, {{}, {2, 3}}};
  for (const char* op : {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"})
    for (DType dt : {DType::kF32, DType::kF16, DType::kI64, DType::kI32})
      for (const auto& [a, b] : shapes) {
        GpuCase c{op, {random_tensor(dt, a, seed, -3, 3), random_tensor(dt, b, seed + 1, -3, 3)}};
        if (dtype_is_float(dt)) c.inputs = {small_ints_as(dt, a, seed), small_ints_as(dt, b, seed + 1)};
        c.seed = seed;
        seed += 2;
        c.atol = c.rtol = 0;
        expect_gpu_matches_cpu(c);
        if (::testing::Test::HasFatalFailure()) return;
      }
  for (const char* op : {"And", "Or", "Xor", "Equal"}) {
    GpuCase c{op, {random_tensor(DType::kBool, {3, 1, 17}, seed, 0, 1), random_tensor(DType::kBool, {5, 1}, seed + 1, 0, 1)}};
    c.seed = seed;
    seed += 2;
    expect_gpu_matches_cpu(c);
  }
  GpuCase n{"Not", {random_tensor(DType::kBool, {1025}, seed, 0, 1)}};
  expect_gpu_matches_cpu(n);
}

TEST(GpuCompare, Where) {
  uint64_t seed = 1600;
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64, DType::kBool}) {
    GpuCase c{"Where", {random_tensor(DType::kBool, {3, 1, 17}, seed, 0, 1), random_tensor(dt, {5, 1}, seed + 1, -9, 9),
                        random_tensor(dt, {1, 1, 17}, seed + 2, -9, 9)}};
    c.seed = seed;
    seed += 3;
    c.atol = c.rtol = 0;
    expect_gpu_matches_cpu(c);
    if (::testing::Test::HasFatalFailure()) return;
  }
  GpuCase same{"Where", {random_tensor(DType::kBool, {1025}, seed, 0, 1), random_tensor(DType::kF32, {1025}, seed + 1),
                         random_tensor(DType::kF32, {}, seed + 2)}};
  expect_gpu_matches_cpu(same);
}

}  // namespace
}  // namespace kiln::gpu_test
