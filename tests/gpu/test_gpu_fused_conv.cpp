// kiln.FusedConv (act(Conv(X, W, B) + Z)) against the CPU reference on every Conv path: 1x1 as
// a GEMM, depthwise (its own bias, the epilogue after), kernel == stride (patchify), cuDNN, and
// 1-D; planes that are and are not multiples of the 16-byte vector; fp32, fp16 and the mixed
// form (fp16 X and W, fp32 B, Z and Y). Three runs each: first run, planned arena, graph replay.
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

struct Geometry {
  Dims x, w;
  int64_t group = 1;
  std::vector<int64_t> strides, pads;
};

GpuCase fused_case(const Geometry& k, DType x_type, DType out_type, bool with_z, const char* act, uint64_t seed) {
  GpuCase c{"FusedConv", {random_tensor(x_type, k.x, seed), random_tensor(x_type, k.w, seed + 1),
                          random_tensor(out_type, {k.w[0]}, seed + 2)},
            {1, 2}};
  c.domain = "kiln";
  c.attrs.set("group", k.group);
  c.attrs.set("strides", k.strides);
  c.attrs.set("pads", k.pads);
  c.attrs.set("activation", std::string(act));
  if (with_z) {
    Dims y = {k.x[0], k.w[0]};
    for (size_t i = 2; i < k.x.size(); ++i) {
      const size_t n = k.x.size() - 2;
      y.push_back((k.x[i] + k.pads[i - 2] + k.pads[i - 2 + n] - k.w[i]) / k.strides[i - 2] + 1);
    }
    c.inputs.push_back(random_tensor(out_type, y, seed + 3));
  }
  c.seed = seed;
  c.gpu_runs = 3;
  if (x_type == DType::kF16) f16_tolerance(c, 1e-2, 1e-2);
  else c.atol = c.rtol = 1e-4;  // cuDNN and cuBLASLt sum in other orders than the reference
  return c;
}

TEST(GpuFusedConv, EveryPathWithShortcutAndActivation) {
  const std::vector<Geometry> cases = {
      {{2, 16, 9, 13}, {24, 16, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}},   // pointwise GEMM, plane 117 (ragged)
      {{1, 8, 8, 16}, {16, 8, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}},     // pointwise, plane 128 (vectors)
      {{2, 12, 11, 10}, {12, 1, 3, 3}, 12, {1, 1}, {1, 1, 1, 1}},  // depthwise
      {{1, 6, 12, 16}, {10, 6, 4, 4}, 1, {4, 4}, {0, 0, 0, 0}},    // patchify
      {{2, 5, 15, 17}, {7, 5, 3, 3}, 1, {2, 1}, {1, 1, 1, 1}},     // cuDNN (or im2col)
      {{2, 4, 19}, {6, 4, 3}, 1, {1}, {1, 1}},                      // 1-D
  };
  uint64_t seed = 7000;
  for (const Geometry& k : cases)
    for (DType dt : {DType::kF32, DType::kF16})
      for (bool z : {true, false})
        for (const char* act : {"relu", "none", "gelu"}) {
          if (!z && std::string(act) == "none") continue;  // the pass never makes that
          SCOPED_TRACE(dims_to_string(k.x) + " * " + dims_to_string(k.w) + " " + dtype_name(dt) + " z=" +
                       std::to_string(z) + " " + act);
          expect_gpu_matches_cpu(fused_case(k, dt, dt, z, act, seed));
          seed += 4;
          if (::testing::Test::HasFatalFailure()) return;
        }
}

TEST(GpuFusedConv, MixedPrecisionShortcut) {
  // fp16 engines keep residual streams in fp32: the conv's mixed form writes fp32 with an fp32 Z.
  const Geometry pointwise{{1, 16, 10, 12}, {8, 16, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}};
  const Geometry patch{{1, 8, 16, 16}, {8, 8, 2, 2}, 1, {2, 2}, {0, 0, 0, 0}};
  uint64_t seed = 7400;
  for (const Geometry& k : {pointwise, patch}) {
    GpuCase c = fused_case(k, DType::kF16, DType::kF32, true, "relu", seed);
    f16_tolerance(c, 1e-2, 1e-2);
    expect_gpu_matches_cpu(c);
    seed += 4;
  }
}

}  // namespace
}  // namespace kiln::gpu_test
