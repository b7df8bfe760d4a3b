// kiln.Int8Conv on the GPU against the CPU reference: bit for bit where the activation is none
// or relu (the int8 window sums must be exact for that), on SegFormer's patch-embedding
// geometries, odd sizes, uneven pads, dilation, 1×1, K off multiples of 16 (padded W copy) and
// on them (W in place), float32 and float16, with bias and shortcut, the arena run and the CUDA
// Graph replay.
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

struct Geometry {
  Dims x;  // N, C, H, W
  int64_t o, kh, kw;
  std::vector<int64_t> strides, pads, dilations;
};

Dims output_dims(const Geometry& g) {
  const int64_t oh = (g.x[2] + g.pads[0] + g.pads[2] - (g.kh - 1) * g.dilations[0] - 1) / g.strides[0] + 1;
  const int64_t ow = (g.x[3] + g.pads[1] + g.pads[3] - (g.kw - 1) * g.dilations[1] - 1) / g.strides[1] + 1;
  return {g.x[0], g.o, oh, ow};
}

TEST(GpuInt8Conv, MatchesReferenceBitForBit) {
  const std::vector<Geometry> geometries = {
      {{2, 3, 64, 48}, 32, 7, 7, {4, 4}, {3, 3, 3, 3}, {1, 1}},  // patch embedding 1 (K = 147)
      {{1, 32, 17, 15}, 64, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}},  // patch embeddings 2-4 (K = 288)
      {{3, 5, 9, 10}, 7, 3, 2, {1, 2}, {0, 1, 2, 0}, {2, 1}},     // uneven pads, dilation, odd everything
      {{1, 16, 8, 8}, 16, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}},    // K = 16: W used in place
      {{1, 1, 1, 1}, 1, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}},
  };
  uint64_t seed = 46000;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Geometry& g : geometries)
      for (const char* act : {"none", "relu", "gelu"})
        for (int extras : {0, 1, 2}) {
          GpuCase c{"Int8Conv",
                    {random_tensor(dt, g.x, seed, -3, 3), Tensor::scalar<float>(3.0f / 127),
                     random_tensor(DType::kI8, {g.o, g.x[1], g.kh, g.kw}, seed + 1, -128, 127),
                     extras == 1 ? Tensor::scalar<float>(0.01f)
                                 : random_tensor(DType::kF32, {g.o}, seed + 2, 1e-3, 2e-2)},
                    {1, 2, 3}};
          if (extras >= 1) {
            c.inputs.push_back(random_tensor(dt, {g.o}, seed + 3));
            c.constant_inputs.push_back(4);
          }
          if (extras >= 2) c.inputs.push_back(random_tensor(dt, output_dims(g), seed + 4));
          c.domain = "kiln";
          c.opset = 1;
          c.attrs.set("strides", g.strides);
          c.attrs.set("pads", g.pads);
          c.attrs.set("dilations", g.dilations);
          c.attrs.set("activation", std::string(act));
          c.seed = seed;
          c.gpu_runs = 3;
          seed += 5;
          if (std::string(act) != "gelu") c.atol = 0, c.rtol = 0;
          else if (dt == DType::kF32) c.atol = 1e-5, c.rtol = 1e-5;  // the GPU's erf: a few float32 ulps
          else f16_tolerance(c, 1e-3, 1e-3);  // ... which may move a float16 result by one ulp
          SCOPED_TRACE(std::string(act) + " extras " + std::to_string(extras));
          expect_gpu_matches_cpu(c);
          if (::testing::Test::HasFatalFailure()) return;
        }
}

// fp16 engines' mixed form: float16 X, float32 B, Z and Y.
TEST(GpuInt8Conv, MixedFloat16InFloat32Out) {
  const Geometry g{{2, 32, 16, 16}, 64, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}};
  GpuCase c{"Int8Conv",
            {random_tensor(DType::kF16, g.x, 47000, -3, 3), Tensor::scalar<float>(3.0f / 127),
             random_tensor(DType::kI8, {g.o, g.x[1], g.kh, g.kw}, 47001, -128, 127),
             random_tensor(DType::kF32, {g.o}, 47002, 1e-3, 2e-2), random_tensor(DType::kF32, {g.o}, 47003),
             random_tensor(DType::kF32, output_dims(g), 47004)},
            {1, 2, 3, 4}};
  c.domain = "kiln";
  c.opset = 1;
  c.attrs.set("strides", g.strides);
  c.attrs.set("pads", g.pads);
  c.attrs.set("dilations", g.dilations);
  c.attrs.set("activation", std::string("relu"));
  c.atol = 0, c.rtol = 0;
  c.gpu_runs = 3;
  expect_gpu_matches_cpu(c);
}

}  // namespace
}  // namespace kiln::gpu_test
