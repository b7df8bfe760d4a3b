// kiln.GroupNorm on the GPU against the CPU reference: planes split into chunks (Mask2Former's 32
// groups at 1/4 resolution), vector and element paths (odd spatial sizes, fp32/fp16), the
// residual and the activations, and the arena and CUDA Graph runs that reuse the chunk scratch.
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuNorm, GroupNorm) {
  struct G {
    Dims x;
    int64_t groups;
    bool z;
    const char* act;
  };
  const std::vector<G> cases = {{{1, 6, 5, 7}, 3, false, "none"},      {{2, 8, 9}, 2, true, "relu"},
                                {{1, 64, 103, 77}, 32, true, "none"},   {{1, 256, 50, 76}, 32, false, "relu"},
                                {{2, 32, 40, 40}, 8, true, "gelu"},     {{1, 64, 203, 301}, 32, false, "none"},
                                {{3, 4, 1, 1}, 4, false, "gelu_tanh"},  {{1, 24, 96, 8}, 1, true, "relu"}};
  uint64_t seed = 2350;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const G& g : cases) {
      const int64_t c = g.x[1];
      // A mean far from zero: the chunked statistics must not lose the variance to it.
      GpuCase k{"GroupNorm", {random_tensor(dt, g.x, seed, 4, 6), random_tensor(dt, {c}, seed + 1),
                              random_tensor(dt, {c}, seed + 2)}, {1, 2}};
      if (g.z) k.inputs.push_back(random_tensor(dt, g.x, seed + 3));
      k.domain = "kiln";
      k.attrs.set("num_groups", g.groups);
      k.attrs.set("epsilon", 1e-5f);
      k.attrs.set("activation", std::string(g.act));
      k.seed = seed;
      k.gpu_runs = 3;
      seed += 4;
      if (dt == DType::kF16) f16_tolerance(k, 1e-2, 1e-2);
      else k.atol = 1e-4, k.rtol = 1e-4;
      SCOPED_TRACE(dims_to_string(g.x) + " groups " + std::to_string(g.groups) + " " + g.act);
      expect_gpu_matches_cpu(k);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace kiln::gpu_test
