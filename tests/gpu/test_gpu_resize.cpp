// Resize on the GPU against the CPU reference: modes, coordinate transforms, scales and sizes.
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuSpatial, Resize) {
  struct R {
    std::string mode, coord, nearest;
    std::vector<float> scales;
    std::vector<int64_t> sizes;
  };
  const std::vector<R> cases = {
      {"linear", "half_pixel", "", {1, 1, 2.5f, 3}, {}},
      {"linear", "pytorch_half_pixel", "", {}, {1, 3, 32, 1}},
      {"linear", "align_corners", "", {}, {1, 3, 17, 4}},
      {"linear", "asymmetric", "", {1, 1, 0.5f, 0.75f}, {}},
      {"nearest", "asymmetric", "floor", {1, 1, 2, 2}, {}},
      {"nearest", "half_pixel", "round_prefer_floor", {}, {1, 3, 5, 23}},
      {"cubic", "half_pixel", "", {1, 1, 2, 1.5f}, {}},
      // the row kernel: one axis unchanged (1 tap there), rows wider than a block, SegFormer's 4x
      {"linear", "half_pixel", "", {}, {1, 3, 7, 20}},
      {"linear", "half_pixel", "", {}, {1, 3, 300, 9}},
      {"linear", "half_pixel", "", {1, 1, 3, 40}, {}},
      {"linear", "half_pixel", "", {1, 1, 4, 4}, {}},
      {"nearest", "asymmetric", "floor", {}, {1, 3, 2, 257}},
  };
  uint64_t seed = 1400;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const R& r : cases) {
      GpuCase c{"Resize", {random_tensor(dt, {1, 3, 7, 9}, seed), Tensor(), Tensor(), Tensor()}, {2, 3}};
      if (!r.scales.empty()) c.inputs[2] = float_tensor(r.scales);
      else c.inputs[3] = int64_tensor(r.sizes);
      c.inputs.resize(r.scales.empty() ? 4 : 3);
      c.attrs.set("mode", r.mode);
      c.attrs.set("coordinate_transformation_mode", r.coord);
      if (!r.nearest.empty()) c.attrs.set("nearest_mode", r.nearest);
      c.seed = seed++;
      if (dt == DType::kF16) f16_tolerance(c);
      else c.atol = 1e-6, c.rtol = 1e-5;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace kiln::gpu_test
