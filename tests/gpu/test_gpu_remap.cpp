// kiln.Remap on the GPU against the CPU reference (stage by stage), exactly: Swin's window
// chains at awkward sizes (odd extents, pads at both ends, rolls both ways) in fp32/fp16/int64/
// bool, with zero and nonzero fills; channel counts that take the 16/8/4-byte paths and ones
// that do not; pure strided views (the strided-copy path, with a start offset); random stage
// lists; and stages that do not compose, refused by name.
#include <random>

#include "../unit/remap_stage_lists.h"
#include "ops/tensor/remap_compile.h"
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

using tensor_ops::RemapKind;
using tensor_ops::RemapStage;

GpuCase remap_case(DType dt, const Dims& x, const std::vector<RemapStage>& stages, uint64_t seed, double fill = 0,
                   bool with_fill = false) {
  GpuCase c{"Remap", {random_tensor(dt, x, seed, -9, 9)}};
  if (with_fill) {
    Tensor f = random_tensor(dt, {}, seed + 1);
    visit_dtype(dt, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (!std::is_void_v<T>) f.data<T>()[0] = from_double<T>(fill);
    });
    c.inputs.push_back(f);
    c.constant_inputs = {1};
  }
  c.domain = "kiln";
  c.attrs.set("stages", tensor_ops::format_remap_stages(stages));
  c.seed = seed;
  c.atol = c.rtol = 0;
  c.gpu_runs = 3;  // first run, arena, CUDA Graph replay
  return c;
}

TEST(GpuRemap, SwinWindowChains) {
  uint64_t seed = 7000;
  struct Geometry {
    int64_t B, H, W, C, win, shift;
  };
  const std::vector<Geometry> shapes = {{2, 13, 11, 6, 4, 2}, {1, 32, 32, 16, 7, 3}, {1, 9, 17, 96, 7, 3},
                                        {3, 5, 7, 3, 4, 1},   {1, 14, 21, 8, 7, 0},  {1, 4, 4, 128, 7, 0}};
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64, DType::kBool})
    for (const Geometry& s : shapes) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + std::to_string(s.H) + "x" + std::to_string(s.W) + "x" +
                   std::to_string(s.C) + " win " + std::to_string(s.win) + " shift " + std::to_string(s.shift));
      const int64_t Hp = (s.H + s.win - 1) / s.win * s.win, Wp = (s.W + s.win - 1) / s.win * s.win;
      const int64_t windows = s.B * (Hp / s.win) * (Wp / s.win);
      expect_gpu_matches_cpu(remap_case(dt, {s.B, s.H * s.W, s.C}, test::swin_in(s.B, s.H, s.W, s.C, s.win, s.shift), seed++));
      expect_gpu_matches_cpu(remap_case(dt, {s.B, s.H * s.W, s.C}, test::swin_in(s.B, s.H, s.W, s.C, s.win, s.shift), seed++,
                                        dt == DType::kBool ? 1 : -3, true));
      expect_gpu_matches_cpu(
          remap_case(dt, {windows, s.win * s.win, s.C}, test::swin_out(s.B, s.H, s.W, s.C, s.win, s.shift), seed++));
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// Pads at both ends, a roll by a negative shift, a strided slice and a crop in one chain; odd
// sizes throughout.
TEST(GpuRemap, PadsBothEndsAndNegativeRolls) {
  // Pads kept within twice the larger of input and result (the op's bound on intermediates).
  const std::vector<RemapStage> s = {RemapStage::reshape({3, 7, 5, 9}), RemapStage::pad(1, 1, 2), RemapStage::pad(2, 1, 0),
                                     {RemapKind::kPieces, {1, 7, 3, 0, 7}},  // roll by −7 of 10
                                     RemapStage::slice(3, 1, 2, 4), RemapStage::transpose({0, 2, 1, 3}),
                                     RemapStage::slice(2, 1, 1, 9)};
  uint64_t seed = 7100;
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64, DType::kBool}) {
    expect_gpu_matches_cpu(remap_case(dt, {3, 35, 9}, s, seed++));
    expect_gpu_matches_cpu(remap_case(dt, {3, 35, 9}, s, seed++, 1, true));
  }
}

// No pad or roll left: the composed map is a strided view and runs as the shared strided copy
// (a slice start makes its base offset nonzero).
TEST(GpuRemap, StridedViews) {
  uint64_t seed = 7200;
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64, DType::kBool}) {
    expect_gpu_matches_cpu(remap_case(dt, {2, 64, 17}, {RemapStage::slice(1, 3, 1, 40), RemapStage::transpose({0, 2, 1})}, seed++));
    expect_gpu_matches_cpu(remap_case(
        dt, {4, 6, 10},
        {RemapStage::reshape({4, 6, 2, 5}), RemapStage::transpose({2, 0, 3, 1}), RemapStage::slice(0, 1, 1, 1)}, seed++));
  }
}

// Swin's patch merging as fuse_data_movement writes it: x split 2×2, the parts picked in
// torch.cat's order along the channels.
TEST(GpuRemap, PatchMerging) {
  uint64_t seed = 7250;
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64, DType::kBool})
    for (int64_t C : {3, 16, 96}) {
      const std::vector<RemapStage> s = {RemapStage::reshape({2, 5, 2, 7, 2, C}), RemapStage::transpose({0, 1, 3, 2, 4, 5}),
                                         RemapStage::reshape({2, 5, 7, 4, C}),
                                         {RemapKind::kPieces, {3, 0, 1, 2, 1, 1, 1, 3, 1}},
                                         RemapStage::reshape({2, 35, 4 * C})};
      expect_gpu_matches_cpu(remap_case(dt, {2, 140, C}, s, seed++));
    }
}

TEST(GpuRemap, RandomStageLists) {
  std::mt19937_64 rng(77);
  int ran = 0;
  for (int round = 0; round < 120; ++round) {
    Dims d;
    for (int64_t r = std::uniform_int_distribution<int64_t>(1, 4)(rng); r > 0; --r)
      d.push_back(std::uniform_int_distribution<int64_t>(1, 9)(rng));
    const Dims x = d;
    const std::vector<RemapStage> s = test::random_remap_stages(rng, d);
    if (s.empty() || !tensor_ops::compile_remap(s, x)) continue;
    std::string text;
    for (const auto& t : tensor_ops::format_remap_stages(s)) text += t + " ";
    SCOPED_TRACE(dims_to_string(x) + ": " + text);
    expect_gpu_matches_cpu(remap_case(round % 2 ? DType::kF16 : DType::kF32, x, s, 7300 + uint64_t(round), 5, round % 3 == 0));
    ++ran;
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(ran, 80);
}

// Stages the composed map cannot hold (a roll of a dim made by merging a padded one) run on the
// CPU but are refused on the GPU, naming why.
TEST(GpuRemap, StagesThatDoNotComposeAreUnsupported) {
  GpuCase c = remap_case(DType::kF32, {2, 4},
                         {RemapStage::pad(0, 1, 0), RemapStage::reshape({12}), {RemapKind::kPieces, {0, 5, 7, 0, 5}}}, 7400);
  expect_gpu_unsupported(c, "compose");
}

}  // namespace
}  // namespace kiln::gpu_test
