// kiln.TokenConv's Hopper kernel (token_conv_wgmma.cu) against the CPU reference (the
// Im2ColTokens and FusedMatMul references it replaces): SegFormer's 3×3 stride 2 pad 1 (Co 128;
// Co 320, whose last 64 channels take a launch of their own), 7×7 stride 4, 1×1, dilation 2, an
// asymmetric 5×3 window with strides (1, 3), one pixel, ragged tiles, a long K loop (C 320);
// float32, float16 or no bias (float32 or float16 Y), 1-3 pictures, the LayerNorm epilogue at Co 64
// and 128; each on every variant of the kernel (token_conv_launch.h). Cases run three times on one executor: first run, planned arena,
// CUDA Graph replay. Types and widths it lacks are refused.
#include <cstdio>
#include <string>

#include "gpu_compare.h"
#include "ops/conv/token_conv.h"
#include "ops/conv/token_conv_launch.h"
#include "ops/op.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::gpu_test {
namespace {

enum class Bias { kNone, kF16, kF32 };

struct ConvCase {
  int64_t b = 1, h = 9, w = 11, c = 64, co = 128;
  int64_t kh = 3, kw = 3;
  std::vector<int64_t> strides = {2, 2}, dilations = {1, 1}, pads = {1, 1, 1, 1};
  Bias bias = Bias::kF32;
  bool norm = false;  // the LayerNorm epilogue: Scale and LB of Y's type, epsilon 1e-5
};

GpuCase make_case(const ConvCase& k, uint64_t seed, DType x = DType::kF16) {
  GpuCase g{conv::kTokenConvOp,
            {random_tensor(x, {k.b, k.h * k.w, k.c}, seed, -1, 1),
             random_tensor(x, {k.kh * k.kw * k.c, k.co}, seed + 1, -0.1, 0.1)},
            {1}};
  if (k.bias != Bias::kNone) {
    g.inputs.push_back(random_tensor(k.bias == Bias::kF32 ? DType::kF32 : x, {k.co}, seed + 2, -0.5, 0.5));
    g.constant_inputs.push_back(2);
  }
  if (k.norm) {
    const DType y = k.bias == Bias::kF32 ? DType::kF32 : x;
    if (k.bias == Bias::kNone) g.inputs.push_back(Tensor());
    g.inputs.push_back(random_tensor(y, {k.co}, seed + 3, 0.5, 1.5));
    g.inputs.push_back(random_tensor(y, {k.co}, seed + 4, -0.2, 0.2));
    g.constant_inputs.push_back(3);
    g.constant_inputs.push_back(4);
    g.attrs.set("epsilon", 1e-5f);
  }
  g.domain = kKilnDomain;
  g.attrs.set("height", k.h);
  g.attrs.set("width", k.w);
  g.attrs.set("kernel_shape", std::vector<int64_t>{k.kh, k.kw});
  g.attrs.set("strides", k.strides);
  g.attrs.set("dilations", k.dilations);
  g.attrs.set("pads", k.pads);
  g.seed = seed;
  g.gpu_runs = 3;
  // fp32 sums of fp16 products in another order than the reference's; a float16 Y's rounding.
  f16_tolerance(g);
  return g;
}

std::string describe(const ConvCase& k) {
  char what[160];
  std::snprintf(what, sizeof what, "b%lld %lldx%lld c%lld co%lld k%lldx%lld s%lld,%lld d%lld bias %d%s",
                static_cast<long long>(k.b), static_cast<long long>(k.h), static_cast<long long>(k.w),
                static_cast<long long>(k.c), static_cast<long long>(k.co), static_cast<long long>(k.kh),
                static_cast<long long>(k.kw), static_cast<long long>(k.strides[0]),
                static_cast<long long>(k.strides[1]), static_cast<long long>(k.dilations[0]), int(k.bias),
                k.norm ? " norm" : "");
  return what;
}

// Every case on each of the kernel's variants (the cases' small grids alone would take the last).
void run_cases(const std::vector<ConvCase>& cases, uint64_t seed) {
  if (!cuda_hopper()) GTEST_SKIP() << "kiln.TokenConv's kernel needs a Hopper GPU";
  using V = conv::TokenConvVariant;
  for (V v : {V::kTwoTiles, V::kOneTile, V::kOneWarpgroup, V::kAuto}) {
    conv::set_token_conv_variant(v);
    for (const ConvCase& k : cases) {
      SCOPED_TRACE(describe(k) + " variant " + std::to_string(int(v)));
      expect_gpu_matches_cpu(make_case(k, seed));
      seed += 8;
      if (::testing::Test::HasFatalFailure()) break;
    }
    if (::testing::Test::HasFatalFailure()) break;
  }
  conv::set_token_conv_variant(V::kAuto);
}

const std::vector<int64_t> kS1 = {1, 1}, kD1 = {1, 1}, kP0 = {0, 0, 0, 0};

TEST(GpuTokenConv, SegFormerWindows) {
  run_cases({{2, 9, 11, 64, 128},                   // stage 1's embedding, shrunk
             {1, 16, 32, 128, 320},                 // stage 2's: Co 320, two launches on kTwoTiles
             {1, 24, 24, 320, 512},                 // stage 3's: 45 K steps
             {1, 33, 47, 64, 128, 3, 3, {2, 2}, kD1, {1, 1, 1, 1}, Bias::kF16},  // ragged tiles, fp16 Y
             {3, 8, 8, 64, 64, 3, 3, {2, 2}, kD1, {1, 1, 1, 1}, Bias::kNone}},
            7700);
}

TEST(GpuTokenConv, OtherWindows) {
  run_cases({{1, 17, 23, 64, 64, 7, 7, {4, 4}, kD1, {3, 3, 3, 3}, Bias::kF16},  // 7×7 stride 4
             {2, 8, 8, 192, 128, 1, 1, kS1, kD1, kP0, Bias::kNone},             // 1×1
             {1, 10, 9, 64, 128, 3, 3, kS1, {2, 2}, {2, 2, 2, 2}},              // dilation 2
             {2, 9, 12, 64, 64, 5, 3, {1, 3}, kD1, {0, 2, 3, 1}, Bias::kF16},   // asymmetric
             {1, 1, 1, 64, 64},                                                 // one pixel
             {1, 12, 20, 64, 64, 3, 3, {8, 8}, kD1, {1, 1, 1, 1}}},             // stride 8
            7800);
}

// The LayerNorm epilogue (SegFormer-B2's stage-1 embedding: Co 128, a float32 bias and Y): a block
// holds each pixel's channels — two tiles at 128 whatever variant is asked for, one at 64.
TEST(GpuTokenConv, LayerNormEpilogue) {
  const std::vector<int64_t> kP1 = {1, 1, 1, 1}, kS2 = {2, 2};
  run_cases({{2, 9, 11, 64, 128, 3, 3, kS2, kD1, kP1, Bias::kF32, true},
             {1, 33, 47, 128, 128, 3, 3, kS2, kD1, kP1, Bias::kF16, true},
             {3, 8, 8, 64, 64, 3, 3, kS2, kD1, kP1, Bias::kNone, true},
             {1, 17, 23, 64, 64, 7, 7, {4, 4}, kD1, {3, 3, 3, 3}, Bias::kF32, true}},
            7950);
}

TEST(GpuTokenConv, RefusesWhatItLacks) {
  if (!cuda_hopper()) GTEST_SKIP() << "kiln.TokenConv's kernel needs a Hopper GPU";
  expect_gpu_unsupported(make_case({}, 7900, DType::kF32), "float16");
  ConvCase narrow;
  narrow.c = 40;
  expect_gpu_unsupported(make_case(narrow, 7910), "multiples of 64");
  ConvCase odd_out;
  odd_out.co = 96;
  expect_gpu_unsupported(make_case(odd_out, 7920), "multiples of 64");
  ConvCase wide_norm;
  wide_norm.co = 192, wide_norm.norm = true;
  expect_gpu_unsupported(make_case(wide_norm, 7930), "64 or 128 output channels");
}

// SegFormer-B2's patch embeddings of stages 1-3 at 1024² (float32 bias and Y, as its fp16 engine
// has them), batch 8 and 1, for the lead's benchmark runs
// (--gtest_also_run_disabled_tests --gtest_filter=*TokenConvBench*): the median of 40 node-by-node
// runs, the kernel's choice then each variant. No CPU check at these sizes: the cases above hold
// the numbers.
TEST(GpuTokenConv, DISABLED_TokenConvBench) {
  if (!cuda_hopper()) GTEST_SKIP() << "kiln.TokenConv's kernel needs a Hopper GPU";
  using V = conv::TokenConvVariant;
  for (int64_t b : {8, 1}) {
    for (const ConvCase& k : {ConvCase{b, 256, 256, 64, 128}, ConvCase{b, 128, 128, 128, 320},
                              ConvCase{b, 64, 64, 320, 512}}) {
      for (V v : {V::kAuto, V::kTwoTiles, V::kOneTile, V::kOneWarpgroup}) {
        conv::set_token_conv_variant(v);
        const std::string t = timing_summary(profile_one_node(make_case(k, 1)));
        std::printf("TokenConv %s variant %d  %s\n", describe(k).c_str(), int(v), t.c_str());
      }
    }
  }
  conv::set_token_conv_variant(V::kAuto);
}

}  // namespace
}  // namespace kiln::gpu_test
