// Tensor-family CUDA kernels (views and strided copies) against the CPU reference; exact.
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuTensor, Transpose) {
  uint64_t seed = 500;
  const std::vector<std::vector<int64_t>> perms = {{0, 2, 1, 3}, {3, 1, 0, 2}, {}, {0, 1, 2, 3}, {1, 0, 2, 3}};
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64, DType::kBool})
    for (const auto& perm : perms) {
      GpuCase c{"Transpose", {random_tensor(dt, {2, 3, 17, 5}, seed, -9, 9)}};
      if (!perm.empty()) c.attrs.set("perm", perm);
      c.seed = seed++;
      c.atol = c.rtol = 0;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
  GpuCase big{"Transpose", {random_tensor(DType::kF32, {1, 1025, 3, 33}, 7)}};
  big.attrs.set("perm", std::vector<int64_t>{0, 2, 1, 3});
  expect_gpu_matches_cpu(big);
}

// Copies whose contiguous inner runs move as 16-, 8- or 4-byte elements (widen_layout).
TEST(GpuTensor, WideInnerRuns) {
  // SegFormer's row gather: runs of kernel width x channels.
  GpuCase gather{"Transpose", {random_tensor(DType::kF16, {2, 3, 4, 5, 2, 64}, 900)}};
  gather.attrs.set("perm", std::vector<int64_t>{0, 1, 3, 2, 4, 5});
  gather.atol = gather.rtol = 0;
  expect_gpu_matches_cpu(gather);
  GpuCase eight{"Transpose", {random_tensor(DType::kF32, {1, 2, 3, 2, 3, 6}, 901)}};  // 72-byte runs
  eight.attrs.set("perm", std::vector<int64_t>{0, 1, 3, 2, 4, 5});
  expect_gpu_matches_cpu(eight);
  // Slices starting 2 halves in: the input is only 4-byte aligned.
  for (int64_t start : {2, 8, 1}) {
    GpuCase c{"Slice", {random_tensor(DType::kF16, {3, 5, 80}, 902 + uint64_t(start)), int64_tensor({start}),
                        int64_tensor({start + 64}), int64_tensor({2})},
              {1, 2, 3}};
    c.atol = c.rtol = 0;
    expect_gpu_matches_cpu(c);
  }
  GpuCase bytes{"Concat", {random_tensor(DType::kBool, {3, 2, 16}, 910), random_tensor(DType::kBool, {3, 5, 16}, 911)}};
  bytes.attrs.set("axis", int64_t(1));
  expect_gpu_matches_cpu(bytes);
}

TEST(GpuTensor, ReshapeFamily) {
  GpuCase r{"Reshape", {random_tensor(DType::kF32, {2, 3, 17}, 1), int64_tensor({17, -1})}, {1}};
  expect_gpu_matches_cpu(r);
  GpuCase f{"Flatten", {random_tensor(DType::kF16, {2, 3, 5, 7}, 2)}};
  f.attrs.set("axis", int64_t(2));
  expect_gpu_matches_cpu(f);
  GpuCase u{"Unsqueeze", {random_tensor(DType::kI64, {3, 5}, 3, -5, 5), int64_tensor({0, -1})}, {1}};
  expect_gpu_matches_cpu(u);
  GpuCase s{"Squeeze", {random_tensor(DType::kF32, {1, 3, 1, 5}, 4), int64_tensor({2})}, {1}};
  expect_gpu_matches_cpu(s);
}

TEST(GpuTensor, Concat) {
  uint64_t seed = 600;
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64}) {
    GpuCase c{"Concat", {random_tensor(dt, {2, 3, 5}, seed, -9, 9), random_tensor(dt, {2, 1, 5}, seed + 1, -9, 9),
                         random_tensor(dt, {2, 17, 5}, seed + 2, -9, 9)}};
    c.attrs.set("axis", int64_t(1));
    c.seed = seed;
    expect_gpu_matches_cpu(c);
    GpuCase last{"Concat", {random_tensor(dt, {3, 7}, seed + 3, -9, 9), random_tensor(dt, {3, 1}, seed + 4, -9, 9)}};
    last.attrs.set("axis", int64_t(-1));
    expect_gpu_matches_cpu(last);
    GpuCase first{"Concat", {random_tensor(dt, {1, 4}, seed + 5, -9, 9), random_tensor(dt, {1025, 4}, seed + 6, -9, 9)}};
    first.attrs.set("axis", int64_t(0));
    expect_gpu_matches_cpu(first);
    // Runs of >= 512 bytes per outer index: the 2-D memcpy path (batched decode-head Concat).
    GpuCase rows{"Concat", {random_tensor(dt, {3, 2, 300}, seed + 7, -9, 9), random_tensor(dt, {3, 5, 300}, seed + 8, -9, 9)}};
    rows.attrs.set("axis", int64_t(1));
    expect_gpu_matches_cpu(rows);
    seed += 10;
  }
}

TEST(GpuTensor, Slice) {
  struct S {
    std::vector<int64_t> starts, ends, axes, steps;
  };
  const std::vector<S> cases = {{{1, -3}, {100, -1}, {0, 1}, {1, 1}},
                                {{-1}, {-1000}, {1}, {-2}},
                                {{0, 2, 1}, {5, 9, 17}, {0, 2, 1}, {2, 3, 5}},
                                {{3}, {3}, {2}, {1}},
                                {{4, 16}, {0, 0}, {0, 1}, {-1, -3}}};
  uint64_t seed = 700;
  for (DType dt : {DType::kF32, DType::kI64})
    for (const S& s : cases) {
      GpuCase c{"Slice", {random_tensor(dt, {5, 17, 9}, seed, -9, 9), int64_tensor(s.starts), int64_tensor(s.ends),
                          int64_tensor(s.axes), int64_tensor(s.steps)},
                {1, 2, 3, 4}};
      c.seed = seed++;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuTensor, Expand) {
  GpuCase c{"Expand", {random_tensor(DType::kF32, {3, 1}, 800), int64_tensor({2, 3, 17})}, {1}};
  expect_gpu_matches_cpu(c);
  GpuCase h{"Expand", {random_tensor(DType::kF16, {1, 5}, 801), int64_tensor({1025, 1})}, {1}};
  expect_gpu_matches_cpu(h);
}

// Every element width, the default value (float32 0) and an empty output.
TEST(GpuTensor, ConstantOfShape) {
  GpuCase d{"ConstantOfShape", {int64_tensor({2, 3, 1001})}, {0}};
  d.atol = d.rtol = 0;
  expect_gpu_matches_cpu(d);
  uint64_t seed = 810;
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64, DType::kBool, DType::kI32})
    for (Dims shape : {Dims{2, 100, 152}, Dims{0, 4}, Dims{7}}) {
      Tensor v = random_tensor(dt, {1}, seed++, -5, 5);
      if (dt == DType::kBool) v.data<bool>()[0] = true;
      GpuCase c{"ConstantOfShape", {int64_tensor(shape)}, {0}};
      c.attrs.set("value", v);
      c.atol = c.rtol = 0;
      c.seed = seed;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace kiln::gpu_test
