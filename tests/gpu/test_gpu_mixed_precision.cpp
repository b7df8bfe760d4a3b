// The mixed-precision forms of fp16 engines (precision_islands.h) against the CPU reference:
// FusedMatMul and Conv with fp16 operands writing fp32 (cuBLASLt with an fp32 C/D; convs via
// the 1x1, patchify and im2col GEMM paths), and LayerNorm between fp32 and fp16. The CPU
// computes from the same fp16 operands in float, so the fp32 outputs differ only in summation
// order.
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuMixedPrecision, FusedMatMulWritesFloat32) {
  struct S {
    Dims a;
    int64_t n;
  };
  const std::vector<S> shapes = {{{17, 33}, 5}, {{2, 3, 17, 33}, 64}, {{1, 1025}, 3}, {{1025, 64}, 8}};
  uint64_t seed = 9000;
  for (const char* act : {"none", "gelu", "gelu_tanh"})
    for (bool residual : {false, true})
      for (const S& s : shapes) {
        Dims od = s.a;
        od.back() = s.n;
        GpuCase c{"FusedMatMul",
                  {random_tensor(DType::kF16, s.a, seed), random_tensor(DType::kF16, {s.a.back(), s.n}, seed + 1),
                   random_tensor(DType::kF32, {s.n}, seed + 2, -2, 2)},
                  {1, 2}};
        if (residual) c.inputs.push_back(random_tensor(DType::kF32, od, seed + 3));
        c.domain = "kiln";
        c.opset = 1;
        c.attrs.set("activation", std::string(act));
        c.seed = seed;
        seed += 4;
        // fp32 results of up to 1025 fp16 products; cuBLASLt's tanh GELU is its own (see
        // test_gpu_fused_matmul.cpp).
        c.atol = std::string(act) == "gelu_tanh" && !residual ? 5e-3 : 1e-4;
        c.rtol = 1e-4;
        c.gpu_runs = 3;
        SCOPED_TRACE(std::string(act) + (residual ? " + residual" : ""));
        expect_gpu_matches_cpu(c);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

TEST(GpuMixedPrecision, ConvWritesFloat32OnEveryGemmPath) {
  struct S {
    Dims x, w;
    std::vector<int64_t> strides, pads;
  };
  const std::vector<S> shapes = {
      {{2, 17, 9, 7}, {5, 17, 1, 1}, {1, 1}, {0, 0, 0, 0}},      // pointwise
      {{1, 3, 33, 31}, {8, 3, 7, 7}, {4, 4}, {3, 3, 3, 3}},      // SegFormer's first patch embedding
      {{2, 5, 17, 18}, {7, 5, 3, 3}, {2, 2}, {1, 1, 1, 1}},      // the later ones
      {{1, 4, 16, 16}, {6, 4, 2, 2}, {2, 2}, {0, 0, 0, 0}},      // kernel == stride (patchify)
  };
  uint64_t seed = 9500;
  for (const S& s : shapes) {
    GpuCase c{"Conv",
              {random_tensor(DType::kF16, s.x, seed), random_tensor(DType::kF16, s.w, seed + 1),
               random_tensor(DType::kF32, {s.w[0]}, seed + 2)},
              {1, 2}};
    c.attrs.set("strides", s.strides);
    c.attrs.set("pads", s.pads);
    c.seed = seed;
    seed += 3;
    c.atol = c.rtol = 1e-4;
    c.gpu_runs = 3;
    expect_gpu_matches_cpu(c);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(GpuMixedPrecision, LayerNormBetweenFloat32AndFloat16) {
  uint64_t seed = 9800;
  for (DType x : {DType::kF32, DType::kF16})
    for (Dims d : {Dims{3, 64}, Dims{2, 17, 33}, Dims{5, 1025}, Dims{4, 512}}) {
      const DType y = x == DType::kF32 ? DType::kF16 : DType::kF32;
      const int64_t inner = d.back();
      GpuCase c{"LayerNormalization",
                {random_tensor(x, d, seed, -4, 4), random_tensor(y, {inner}, seed + 1, 0.5, 1.5),
                 random_tensor(y, {inner}, seed + 2)},
                {1, 2}};
      c.seed = seed;
      seed += 3;
      if (y == DType::kF16) f16_tolerance(c);
      else c.atol = c.rtol = 1e-5;
      c.gpu_runs = 3;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace kiln::gpu_test
