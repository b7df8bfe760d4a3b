// MatMul/Gemm (cuBLASLt) and Conv (cuDNN) against the CPU reference. fp32 runs without TF32,
// so only summation order differs; fp16 rounds inputs and outputs.
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuLinear, MatMul) {
  struct M {
    Dims a, b;
    bool b_constant;
  };
  const std::vector<M> cases = {{{17, 33}, {33, 5}, false},         {{2, 3, 17, 33}, {33, 65}, true},
                                {{2, 3, 17, 33}, {2, 3, 33, 7}, false}, {{1, 3, 17, 33}, {2, 1, 33, 7}, false},
                                {{5, 1, 4, 3}, {2, 3, 6}, false},      {{33}, {33, 7}, false},
                                {{2, 17, 33}, {33}, false},            {{1, 1}, {1, 1025}, true},
                                {{3, 1025}, {1025, 3}, true},         {{4, 1, 5}, {1, 4, 5, 2}, false}};
  uint64_t seed = 1100;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const M& m : cases) {
      GpuCase c{"MatMul", {random_tensor(dt, m.a, seed), random_tensor(dt, m.b, seed + 1)}};
      if (m.b_constant) c.constant_inputs = {1};
      c.seed = seed;
      seed += 2;
      if (dt == DType::kF16) f16_tolerance(c, 2e-2, 5e-3);  // sums of up to 1025 products
      else c.atol = 1e-5, c.rtol = 1e-5;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuLinear, Gemm) {
  struct G {
    Dims a, b, c;
    int64_t ta, tb;
    float alpha, beta;
  };
  const std::vector<G> cases = {{{17, 33}, {33, 5}, {5}, 0, 0, 1.f, 1.f},   {{33, 17}, {33, 5}, {17, 1}, 1, 0, 0.5f, 2.f},
                                {{17, 33}, {5, 33}, {}, 0, 1, 1.f, 1.f},     {{33, 17}, {5, 33}, {17, 5}, 1, 1, -1.f, 0.25f},
                                {{1, 1025}, {3, 1025}, {1}, 0, 1, 1.f, 1.f}};
  uint64_t seed = 1200;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const G& g : cases) {
      GpuCase c{"Gemm", {random_tensor(dt, g.a, seed), random_tensor(dt, g.b, seed + 1)}, {1}};
      if (!g.c.empty()) {
        c.inputs.push_back(random_tensor(dt, g.c, seed + 2));
        c.constant_inputs.push_back(2);
      }
      c.attrs.set("transA", g.ta);
      c.attrs.set("transB", g.tb);
      c.attrs.set("alpha", g.alpha);
      c.attrs.set("beta", g.beta);
      c.seed = seed;
      seed += 3;
      if (dt == DType::kF16) f16_tolerance(c, 2e-2, 5e-3);
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuConv, Conv) {
  struct C {
    Dims x, w;
    int64_t group;
    std::vector<int64_t> strides, pads, dilations;
    std::string auto_pad;
    bool bias;
  };
  const std::vector<C> cases = {
      {{1, 3, 17, 19}, {8, 3, 3, 3}, 1, {2, 2}, {1, 1, 1, 1}, {1, 1}, "", true},
      {{2, 16, 9, 11}, {16, 1, 3, 3}, 16, {1, 1}, {1, 1, 1, 1}, {1, 1}, "", true},   // depthwise
      {{1, 6, 13, 13}, {4, 3, 3, 3}, 2, {1, 1}, {2, 2, 2, 2}, {2, 2}, "", false},    // groups, dilation
      {{1, 32, 7, 5}, {19, 32, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, "", true},    // 1x1: a GEMM
      {{3, 17, 9, 13}, {5, 17, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, "", false},  // 1x1, batch 3
      {{2, 8, 5, 6}, {4, 8, 1, 1}, 1, {2, 2}, {0, 0, 0, 0}, {1, 1}, "", true},      // 1x1 strided: cuDNN
      {{2, 6, 1025}, {3, 6, 1}, 1, {1}, {0, 0}, {1}, "", true},                     // 1-D 1x1
      {{1, 3, 64, 64}, {32, 3, 7, 7}, 1, {4, 4}, {3, 3, 3, 3}, {1, 1}, "", true},    // SegFormer patch embed
      {{1, 4, 10, 9}, {5, 4, 3, 3}, 1, {1, 1}, {}, {1, 1}, "SAME_UPPER", true},
      {{2, 4, 25}, {6, 4, 5}, 1, {2}, {2, 2}, {1}, "", true},                        // 1-D
  };
  uint64_t seed = 1300;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const C& k : cases) {
      GpuCase c{"Conv", {random_tensor(dt, k.x, seed), random_tensor(dt, k.w, seed + 1)}, {1, 2}};
      if (k.bias) c.inputs.push_back(random_tensor(dt, {k.w[0]}, seed + 2));
      c.attrs.set("group", k.group);
      c.attrs.set("strides", k.strides);
      c.attrs.set("dilations", k.dilations);
      if (!k.pads.empty()) c.attrs.set("pads", k.pads);
      if (!k.auto_pad.empty()) c.attrs.set("auto_pad", k.auto_pad);
      c.seed = seed;
      seed += 3;
      if (dt == DType::kF16) f16_tolerance(c, 2e-2, 5e-3);
      else c.atol = 2e-5, c.rtol = 1e-5;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace kiln::gpu_test
