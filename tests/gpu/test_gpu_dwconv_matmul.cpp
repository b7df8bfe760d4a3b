// DwConvMatMul's Hopper kernel against the CPU reference (DepthwiseConvNHWC's then FusedMatMul's,
// with their float16 roundings): C 320, Hd 64 to 1280, images on and off the 8 x 16 tile (ragged
// both ways, one row, one column, one token), 1-3 images, float32 or float16 streams, every
// activation. Cases run three times on one executor: first run, planned arena, CUDA Graph replay.
#include <cstdio>
#include <string>

#include "gpu_compare.h"
#include "ops/conv/dwconv_matmul.h"
#include "ops/op.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::gpu_test {
namespace {

struct DmCase {
  int64_t b = 1, h = 8, w = 16, hd = 256;
  DType x = DType::kF32;
  const char* act = "gelu";
};

constexpr int64_t kC = 320;

GpuCase make_case(const DmCase& m, uint64_t seed) {
  const DType h = DType::kF16;
  auto rnd = [&](DType t, Dims d, double lo, double hi) { return random_tensor(t, std::move(d), seed++, lo, hi); };
  GpuCase g{conv::kDwConvMatMulOp,
            {rnd(h, {m.b, m.h * m.w, m.hd}, -2, 2), rnd(h, {m.hd, 1, 3, 3}, -0.4, 0.4), rnd(h, {m.hd}, -0.1, 0.1),
             rnd(h, {m.hd, kC}, -0.2, 0.2), rnd(m.x, {kC}, -0.1, 0.1), rnd(m.x, {m.b, m.h * m.w, kC}, -2, 2)},
            {1, 2, 3, 4}};
  g.domain = kKilnDomain;
  g.attrs.set("height", m.h);
  g.attrs.set("width", m.w);
  g.attrs.set("activation", std::string(m.act));
  g.seed = seed;
  g.gpu_runs = 3;
  // The same fp16 roundings of D on both sides; a sum order that differs may move a conv value by
  // one fp16 step (2^-11 relative), which fc2 passes on diluted by Hd terms.
  f16_tolerance(g);
  return g;
}

void run_cases(const std::vector<DmCase>& cases, uint64_t seed) {
  if (!cuda_hopper()) GTEST_SKIP() << "DwConvMatMul runs on Hopper's wgmma kernel only";
  for (const DmCase& m : cases) {
    char what[160];
    std::snprintf(what, sizeof what, "%s b%lld %lldx%lld hd%lld %s", m.x == DType::kF32 ? "f32" : "f16",
                  static_cast<long long>(m.b), static_cast<long long>(m.h), static_cast<long long>(m.w),
                  static_cast<long long>(m.hd), m.act);
    SCOPED_TRACE(what);
    expect_gpu_matches_cpu(make_case(m, seed));
    seed += 16;
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(GpuDwConvMatMul, Widths) { run_cases({{}, {1, 8, 16, 64}, {2, 16, 32, 1280}, {1, 8, 16, 192}}, 9500); }

TEST(GpuDwConvMatMul, RaggedImages) {
  run_cases({{2, 13, 21, 256}, {3, 9, 17, 128}, {1, 1, 40, 128}, {1, 33, 1, 64}, {1, 1, 1, 64}, {1, 23, 50, 320}},
            9600);
}

TEST(GpuDwConvMatMul, StreamTypesAndActivations) {
  run_cases({{1, 11, 19, 256, DType::kF16},
             {2, 8, 16, 128, DType::kF16, "gelu_tanh"},
             {1, 10, 30, 256, DType::kF32, "relu"},
             {1, 7, 9, 128, DType::kF32, "none"}},
            9700);
}

// Off Hopper the node is refused with the pass to turn off (specialize.cpp turns the pass off
// for such builds).
TEST(GpuDwConvMatMul, RefusedOffHopper) {
  if (cuda_hopper()) GTEST_SKIP() << "a Hopper GPU runs it";
  expect_gpu_unsupported(make_case({}, 1), "fuse_dwconv_matmul");
}

// SegFormer-B2's stage 2 at 1024², batch 8 and 1 (fp32 stream), for the lead's benchmark runs
// (--gtest_also_run_disabled_tests --gtest_filter=*DwConvMatMulBench*): the median of 40
// node-by-node runs.
TEST(GpuDwConvMatMul, DISABLED_DwConvMatMulBench) {
  for (const DmCase& m : {DmCase{8, 64, 64, 1280}, DmCase{1, 64, 64, 1280}})
    for (int round = 0; round < 2; ++round) {
      const std::string t = timing_summary(profile_one_node(make_case(m, 1)));  // H and X fed; the rest constants
      std::printf("DwConvMatMul b%lld %lldx%lld C 320 Hd %lld  %s\n", static_cast<long long>(m.b),
                  static_cast<long long>(m.h), static_cast<long long>(m.w), static_cast<long long>(m.hd), t.c_str());
    }
}

}  // namespace
}  // namespace kiln::gpu_test
