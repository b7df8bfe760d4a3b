// MixFFN's CUDA kernels (wgmma and mma.sync) against the CPU reference (the four replaced
// nodes' references in turn, with their float16 roundings): C 32/64/128, Hd 64 to 512, images on
// and off the 8 x 16 tile (ragged both ways, one row, one column, one token), 1-3 images,
// float32 or float16 streams, every activation. Cases run three times on one executor: first
// run, planned arena, CUDA Graph replay. Then the reference SegFormers as `kiln build --fp16`
// makes them, with and without fuse_mix_ffn.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "../model/model_compare.h"
#include "fused_model_check.h"
#include "gpu_compare.h"
#include "onnx/importer.h"
#include "ops/conv/mix_ffn_launch.h"
#include "ops/op.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::gpu_test {
namespace {

struct MixCase {
  int64_t b = 1, h = 8, w = 16, c = 64, hd = 256;
  DType x = DType::kF32;
  const char* act = "gelu";
  bool norm = false;  // the output LayerNorm (S2, Bn2: fuse_mix_ffn_norm's)
};

GpuCase make_case(const MixCase& m, uint64_t seed) {
  const DType h = DType::kF16;
  auto rnd = [&](DType t, Dims d, double lo, double hi) { return random_tensor(t, std::move(d), seed++, lo, hi); };
  GpuCase g{"MixFFN",
            {rnd(m.x, {m.b, m.h * m.w, m.c}, -2, 2), rnd(h, {m.c}, 0.5, 1.5), rnd(h, {m.c}, -0.2, 0.2),
             rnd(h, {m.c, m.hd}, -0.3, 0.3), rnd(h, {m.hd}, -0.1, 0.1), rnd(h, {m.hd, 1, 3, 3}, -0.4, 0.4),
             rnd(h, {m.hd}, -0.1, 0.1), rnd(h, {m.hd, m.c}, -0.2, 0.2), rnd(m.x, {m.c}, -0.1, 0.1)},
            {1, 2, 3, 4, 5, 6, 7, 8}};
  g.domain = kKilnDomain;
  g.attrs.set("height", m.h);
  g.attrs.set("width", m.w);
  g.attrs.set("epsilon", 1e-6f);
  g.attrs.set("activation", std::string(m.act));
  if (m.norm) {
    g.inputs.push_back(rnd(h, {m.c}, 0.5, 1.5));
    g.inputs.push_back(rnd(h, {m.c}, -0.2, 0.2));
    g.constant_inputs.push_back(9), g.constant_inputs.push_back(10);
    g.attrs.set("norm_epsilon", 1e-5f);
  }
  g.seed = seed;
  g.gpu_runs = 3;
  // The same fp16 roundings on both sides; a sum order that differs may move a hidden value by
  // one fp16 step (2^-11 relative), which fc2 passes on diluted by Hd terms.
  f16_tolerance(g);
  return g;
}

// Sends launches to the mma.sync kernel while it lives (mix_ffn_launch.h).
struct MmaSyncOnly {
  MmaSyncOnly() { conv::set_mix_ffn_wgmma_allowed(false); }
  ~MmaSyncOnly() { conv::set_mix_ffn_wgmma_allowed(true); }
};

// Every case on the kernel launch_mix_ffn picks (the wgmma one for C 64 and 128 on Hopper), then
// on the mma.sync one.
void run_cases(const std::vector<MixCase>& cases, uint64_t seed) {
  for (bool mma_sync : {false, true}) {
    std::optional<MmaSyncOnly> only;
    if (mma_sync) only.emplace();
    uint64_t s = seed;
    for (const MixCase& m : cases) {
      char what[160];
      std::snprintf(what, sizeof what, "%s b%lld %lldx%lld c%lld hd%lld %s%s", m.x == DType::kF32 ? "f32" : "f16",
                    static_cast<long long>(m.b), static_cast<long long>(m.h), static_cast<long long>(m.w),
                    static_cast<long long>(m.c), static_cast<long long>(m.hd), m.act, mma_sync ? " mma.sync" : "");
      SCOPED_TRACE(what);
      expect_gpu_matches_cpu(make_case(m, s));
      s += 16;
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// On Hopper the 64- and 128-channel MixFFNs run on the wgmma kernel, so the cases above test it.
TEST(GpuMixFfn, WgmmaKernelOnHopper) {
  conv::MixFfnParams p;
  for (int c : {32, 64, 128}) {
    p.channels = c;
    EXPECT_EQ(conv::mix_ffn_uses_wgmma(p), c != 32 && cuda_hopper()) << c;
  }
  MmaSyncOnly only;
  p.channels = 64;
  EXPECT_FALSE(conv::mix_ffn_uses_wgmma(p));
}

TEST(GpuMixFfn, Widths) {
  run_cases({{},
             {1, 8, 16, 32, 128},
             {1, 8, 16, 128, 512},
             {2, 16, 32, 64, 64},
             {1, 8, 16, 128, 192}},
            9100);
}

TEST(GpuMixFfn, RaggedImages) {
  run_cases({{2, 13, 21, 64, 256},
             {3, 9, 17, 32, 128},
             {1, 1, 40, 128, 128},
             {1, 33, 1, 64, 64},
             {1, 1, 1, 32, 64},
             {1, 23, 50, 128, 256}},
            9200);
}

TEST(GpuMixFfn, StreamTypesAndActivations) {
  run_cases({{1, 11, 19, 64, 256, DType::kF16},
             {2, 8, 16, 32, 128, DType::kF16, "gelu_tanh"},
             {1, 10, 30, 128, 256, DType::kF32, "relu"},
             {1, 7, 9, 64, 128, DType::kF32, "none"},
             {1, 9, 18, 128, 128, DType::kF16, "gelu"}},
            9300);
}

// The output LayerNorm on the wgmma kernel: C 64 and 128 (the two warpgroups of a token's columns
// meet in shared memory), float32 and float16 streams (the sum rounded to fp16 first), ragged
// images, several tiles; the mma.sync kernel refuses it.
TEST(GpuMixFfn, OutputNormOnTheWgmmaKernel) {
  if (!cuda_hopper()) GTEST_SKIP() << "the output LayerNorm runs on Hopper's wgmma kernel only";
  uint64_t seed = 9400;
  for (const MixCase& m : {MixCase{2, 13, 21, 64, 256, DType::kF32, "gelu", true},
                           MixCase{1, 23, 50, 128, 256, DType::kF32, "gelu", true},
                           MixCase{1, 11, 19, 64, 128, DType::kF16, "gelu", true},
                           MixCase{2, 9, 18, 128, 128, DType::kF16, "relu", true}}) {
    SCOPED_TRACE("C " + std::to_string(m.c) + (m.x == DType::kF16 ? " f16" : " f32"));
    expect_gpu_matches_cpu(make_case(m, seed));
    seed += 16;
  }
  MmaSyncOnly only;
  expect_gpu_unsupported(make_case({1, 8, 16, 64, 64, DType::kF32, "gelu", true}, 1), "Hopper");
}

// A reference SegFormer as an fp16 engine builds it, with and without fuse_mix_ffn: both within
// the fp16 model tests' 1e-2 of the fp32 CPU logits, and close to each other.
void expect_fp16_model(const std::string& model, int fires, bool cpu_fp16) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(test_dir()) / "models" / model;
  ImportOptions import;
  const TensorMap feeds = test::reference_inputs(dir, &import);
  const auto& late = after_fp16_pass_names();
  const std::set<std::string> skip(late.begin(), late.end());
  Graph fused = import_onnx_file((dir / "model.onnx").string(), import);
  PassReport r = run_passes(fused, skip);
  const TensorMap fp32 = CpuExecutor(fused).run(feeds);
  Graph plain = fused;
  convert_to_fp16(fused);
  convert_to_fp16(plain);
  run_pass(fused, "fuse_mix_ffn", r, false);
  ASSERT_EQ(r.fused.at("fuse_mix_ffn"), fires);
  const Tensor got = run_gpu_planned(fused, feeds, "logits"), unfused = run_gpu_planned(plain, feeds, "logits");
  const double vs_fp32 = rel_l2(got, fp32.at("logits")), vs_unfused = rel_l2(got, unfused);
  std::printf("%s fp16: fused vs fp32 %.3g, unfused vs fp32 %.3g, fused vs unfused %.3g\n", model.c_str(), vs_fp32,
              rel_l2(unfused, fp32.at("logits")), vs_unfused);
  EXPECT_LE(vs_fp32, 1e-2);
  EXPECT_LE(vs_unfused, 2e-3);
  if (cpu_fp16) {  // the fused fp16 graph on the CPU reference: the kernel against the composition
    const double vs_cpu = rel_l2(got, CpuExecutor(fused).run(feeds).at("logits"));
    std::printf("%s fp16: fused GPU vs fused CPU %.3g\n", model.c_str(), vs_cpu);
    EXPECT_LE(vs_cpu, 2e-3);
  }
}

TEST(GpuMixFfn, SegformerTinyFp16) { expect_fp16_model("segformer_tiny", 2, true); }
TEST(GpuMixFfn, SegformerB0Fp16) { expect_fp16_model("segformer_b0", 4, false); }

// SegFormer-B2's stages 0 and 1 at 1024², batch 8 (fp32 stream), for the lead's benchmark runs
// (--gtest_also_run_disabled_tests --gtest_filter=*MixFfnBench*): the median of 40 node-by-node
// runs, the wgmma kernel's L2 prefetch on and off alternately.
TEST(GpuMixFfn, DISABLED_MixFfnBench) {
  for (const MixCase& m : {MixCase{8, 256, 256, 64, 256}, MixCase{8, 128, 128, 128, 512}})
    for (int round = 0; round < 2; ++round)
      for (bool prefetch : {true, false}) {  // the L2 prefetch of the next block's halo on and off
        conv::set_mix_ffn_prefetch(prefetch);
        const std::string t = timing_summary(profile_one_node(make_case(m, 1)));  // X fed; the rest are constants
        std::printf("MixFFN b%lld %lldx%lld C %lld Hd %lld prefetch %s  %s\n", static_cast<long long>(m.b),
                    static_cast<long long>(m.h), static_cast<long long>(m.w), static_cast<long long>(m.c),
                    static_cast<long long>(m.hd), prefetch ? "on " : "off", t.c_str());
      }
  conv::set_mix_ffn_prefetch(true);
}

}  // namespace
}  // namespace kiln::gpu_test
