// Gather, Tile, CumSum and the cuDNN pools on the GPU against the CPU reference.
#include "gpu_compare.h"

#include "runtime/cuda/cuda_executor.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuTensor, Gather) {
  uint64_t seed = 1700;
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64})
    for (int64_t axis : {0, 1, -1})
      for (bool constant : {true, false}) {
        Dims data{5, 17, 3};
        const int64_t dim = data[size_t(axis < 0 ? axis + 3 : axis)];
        GpuCase c{"Gather", {random_tensor(dt, data, seed, -9, 9), random_tensor(DType::kI64, {2, 4}, seed + 1, -dim, dim - 1)}};
        if (constant) c.constant_inputs = {1};
        c.attrs.set("axis", axis);
        c.seed = seed;
        seed += 2;
        c.atol = c.rtol = 0;
        expect_gpu_matches_cpu(c);
        if (::testing::Test::HasFatalFailure()) return;
      }
  GpuCase scalar{"Gather", {random_tensor(DType::kF32, {7, 5}, seed), Tensor::scalar<int64_t>(-2)}, {1}};
  expect_gpu_matches_cpu(scalar);
}

TEST(GpuTensor, GatherOutOfRangeIsAnError) {
  for (bool constant : {true, false}) {
    GpuCase c{"Gather", {random_tensor(DType::kF32, {5, 3}, 1), int64_tensor({0, 5})}};
    if (constant) c.constant_inputs = {1};
    c.gpu_only = true;  // runtime indices: the device flag must turn into an error
    try {
      expect_gpu_matches_cpu(c);
      ADD_FAILURE() << "expected an error (constant indices: " << constant << ")";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
    }
  }
}

TEST(GpuTensor, Tile) {
  GpuCase c{"Tile", {random_tensor(DType::kF32, {2, 3, 5}, 1800), int64_tensor({3, 1, 2})}, {1}};
  expect_gpu_matches_cpu(c);
  GpuCase i{"Tile", {random_tensor(DType::kI64, {1, 17}, 1801, -9, 9), int64_tensor({4, 1})}, {1}};
  expect_gpu_matches_cpu(i);
}

TEST(GpuReduce, CumSum) {
  uint64_t seed = 1900;
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64})
    for (int64_t axis : {0, 1, -1})
      for (int flags = 0; flags < 4; ++flags) {
        GpuCase c{"CumSum", {random_tensor(dt, {3, 17, 5}, seed, -2, 2), Tensor::scalar<int64_t>(axis)}, {1}};
        c.attrs.set("exclusive", int64_t(flags & 1));
        c.attrs.set("reverse", int64_t(flags >> 1));
        c.seed = seed++;
        if (dt == DType::kF16) f16_tolerance(c, 1e-2, 2e-3);
        expect_gpu_matches_cpu(c);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

TEST(GpuConv, Pools) {
  struct P {
    const char* op;
    Dims x, kernel, strides, pads;
    int64_t include_pad;
  };
  const std::vector<P> cases = {
      {"MaxPool", {1, 3, 17, 19}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 0},  // ResNet stem
      {"MaxPool", {2, 5, 8, 8}, {2, 2}, {2, 2}, {0, 0, 0, 0}, 0},
      {"AveragePool", {1, 4, 9, 11}, {3, 3}, {1, 1}, {1, 1, 1, 1}, 0},
      {"AveragePool", {1, 4, 9, 11}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 1},
      {"MaxPool", {2, 3, 25}, {5}, {2}, {2, 2}, 0},
  };
  uint64_t seed = 2000;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const P& p : cases) {
      GpuCase c{p.op, {random_tensor(dt, p.x, seed)}};
      c.attrs.set("kernel_shape", p.kernel);
      c.attrs.set("strides", p.strides);
      c.attrs.set("pads", p.pads);
      if (std::string(p.op) == "AveragePool") c.attrs.set("count_include_pad", p.include_pad);
      c.seed = seed++;
      if (dt == DType::kF16) f16_tolerance(c);
      else c.atol = 1e-6, c.rtol = 1e-6;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace kiln::gpu_test
