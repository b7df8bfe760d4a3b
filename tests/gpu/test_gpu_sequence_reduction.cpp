// kiln.SequenceReduction's Hopper kernel against the CPU reference (the replaced nodes' references
// in turn — LayerNormPatchRows, the reduction GEMM, LayerNorm, the K/V GEMM — with their float16
// roundings): C 64 and 128, patches of 2, 4 and 8, patch grids on and off the kernel's 64-patch
// blocks (ragged in both directions, wider than a block), 1-50 pictures, taps split over clusters
// of 2-4 blocks and not; widths and types the
// kernel lacks refused. Cases run three times on one executor: first run, planned arena, CUDA
// Graph replay.
#include <cmath>
#include <cstdio>
#include <string>

#include "gpu_compare.h"
#include "ops/norm/sequence_reduction.h"
#include "ops/norm/sequence_reduction_launch.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::gpu_test {
namespace {

struct ReductionCase {
  int64_t b = 1, h = 16, w = 16, p = 4, c = 64;
  DType x = DType::kF32;
  int64_t n2 = 0;  // 0: 2C
};

GpuCase make_case(const ReductionCase& m, uint64_t seed) {
  const DType h = DType::kF16;
  const int64_t k = m.p * m.p * m.c, n2 = m.n2 ? m.n2 : 2 * m.c;
  auto rnd = [&](DType t, Dims dims, double lo, double hi) { return random_tensor(t, std::move(dims), seed++, lo, hi); };
  // Weights of about 1/sqrt(K) keep R and KV near unit size, where fp16 steps are what the
  // tolerance allows for.
  const double wr = 1.7 / std::sqrt(double(k)), wkv = 1.7 / std::sqrt(double(m.c));
  GpuCase g{norm::kSequenceReductionOp,
            {rnd(m.x, {m.b, m.h * m.w, m.c}, -2, 3), rnd(h, {m.c}, 0.5, 1.5), rnd(h, {m.c}, -0.2, 0.2),
             rnd(h, {k, m.c}, -wr, wr), rnd(h, {m.c}, -0.1, 0.1), rnd(h, {m.c}, 0.5, 1.5), rnd(h, {m.c}, -0.2, 0.2),
             rnd(h, {m.c, n2}, -wkv, wkv), rnd(h, {n2}, -0.1, 0.1)},
            {1, 2, 3, 4, 5, 6, 7, 8}};
  g.domain = kKilnDomain;
  g.attrs.set("height", m.h);
  g.attrs.set("width", m.w);
  g.attrs.set("patch", m.p);
  g.attrs.set("epsilon", 1e-6f);
  g.attrs.set("epsilon2", 1e-5f);
  g.seed = seed;
  g.gpu_runs = 3;
  // The same fp16 roundings on both sides (P, R, L2); a sum order that differs may move one of
  // them by an fp16 step, which the next product passes on diluted by its terms.
  f16_tolerance(g, 4e-3, 4e-3);
  return g;
}

void run_cases(const std::vector<ReductionCase>& cases, uint64_t seed) {
  if (!cuda_hopper()) GTEST_SKIP() << "kiln.SequenceReduction's kernel needs a Hopper GPU";
  for (const ReductionCase& m : cases) {
    char what[160];
    std::snprintf(what, sizeof what, "c%lld b%lld %lldx%lld patch %lld", static_cast<long long>(m.c),
                  static_cast<long long>(m.b), static_cast<long long>(m.h), static_cast<long long>(m.w),
                  static_cast<long long>(m.p));
    SCOPED_TRACE(what);
    expect_gpu_matches_cpu(make_case(m, seed));
    seed += 16;
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(GpuSequenceReduction, SixtyFourChannels) {
  // 4 x 4 patches (one block, rows past the grid), 5 x 3 (ragged), 16 x 8 (two blocks a row of
  // 64), 130 x 2 (three blocks across, the last ragged).
  run_cases({{1, 32, 32, 8, 64}, {2, 6, 10, 2, 64}, {1, 32, 64, 4, 64}, {1, 4, 260, 2, 64}}, 9900);
}

TEST(GpuSequenceReduction, OneTwentyEightChannels) {
  run_cases({{3, 16, 16, 4, 128}, {1, 10, 14, 2, 128}, {2, 64, 32, 8, 128}}, 9950);
}

// On a 132-SM GPU (the split keeps the grid within two blocks an SM): grids without a split of the
// taps, and 80 blocks of C = 64 splitting their 4 taps over clusters of 3 (2, 1, 1). The cases
// above split them over 2 to 4 blocks.
TEST(GpuSequenceReduction, UnsplitAndUnevenSplits) {
  run_cases({{50, 32, 32, 2, 64}, {20, 32, 32, 2, 64}, {34, 32, 32, 2, 128}}, 9970);
}

TEST(GpuSequenceReduction, OtherWidthsAndTypesRefused) {
  ReductionCase narrow;
  narrow.c = 32;
  expect_gpu_unsupported(make_case(narrow, 9990), "has no CUDA kernel");
  ReductionCase half;
  half.x = DType::kF16;
  expect_gpu_unsupported(make_case(half, 9991), "has no CUDA kernel");
}

// SegFormer-B2's first two stages at 1024², batches 8 and 1, for the lead's benchmark runs
// (--gtest_also_run_disabled_tests --gtest_filter=*SequenceReductionBench*): the median of 40
// node-by-node runs, with the kernel's own split of the taps and with 1, 2, 3, 4 and 8.
TEST(GpuSequenceReduction, DISABLED_SequenceReductionBench) {
  if (!cuda_hopper()) GTEST_SKIP() << "kiln.SequenceReduction's kernel needs a Hopper GPU";
  for (const ReductionCase& m : {ReductionCase{8, 256, 256, 8, 64}, ReductionCase{8, 128, 128, 4, 128},
                                 ReductionCase{1, 256, 256, 8, 64}, ReductionCase{1, 128, 128, 4, 128}}) {
    const GpuCase gc = make_case(m, 1);
    for (int splits : {0, 1, 2, 3, 4, 8}) {
      norm::set_sequence_reduction_splits(splits);
      const std::string t = timing_summary(profile_one_node(gc));
      std::printf("SequenceReduction b%lld %lldx%lld C %lld patch %lld splits %s  %s\n", static_cast<long long>(m.b),
                  static_cast<long long>(m.h), static_cast<long long>(m.w), static_cast<long long>(m.c),
                  static_cast<long long>(m.p), splits ? std::to_string(splits).c_str() : "own", t.c_str());
    }
    norm::set_sequence_reduction_splits(0);
  }
}

}  // namespace
}  // namespace kiln::gpu_test
