// kiln.HeadScores on the GPU against the CPU reference: the strided-batched cuBLASLt product over
// heads reading Q and K in their token layout — AnchorDETR's head sizes (16, 32), odd head sizes
// (unaligned per-head offsets: 5, 33), one head, one query, batches looped, the encoder's row
// scores at 800x1216 (L 3800 × J 76 × 8 heads) — fp32 (no TF32: against the double reference
// within 1e-5) and fp16 (fp32 accumulation, one rounding to fp16), a negative scale; each on the
// plan's first run, in the planned arena and as a CUDA Graph replay. Then anchor_detr_tiny with
// its six products fused against the CPU and the unfused graph on the GPU, fp32 and fp16 engines.
#include "fused_model_check.h"
#include "gpu_compare.h"
#include "ops/op.h"

namespace kiln::gpu_test {
namespace {

struct Scores {
  int64_t B, L, J, N, D;
  float scale;
};

TEST(GpuHeadScores, Shapes) {
  const std::vector<Scores> cases = {
      {1, 80, 10, 4, 16, 0.25f},      {2, 37, 13, 3, 5, 0.4472136f}, {1, 1, 1, 1, 1, 1.f},
      {3, 17, 50, 8, 33, -0.5f},      {1, 3800, 76, 8, 32, 0.17677669f}, {2, 900, 50, 8, 32, 0.17677669f},
      {4, 5, 7, 1, 64, 0.125f},
  };
  uint64_t seed = 9800;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Scores& s : cases) {
      GpuCase c{"HeadScores", {random_tensor(dt, {s.B, s.L, s.N, s.D}, seed, -1, 1),
                               random_tensor(dt, {s.B, s.J, s.N, s.D}, seed + 1, -1, 1)}, {}};
      c.domain = kKilnDomain;
      c.opset = 1;
      c.attrs.set("scale", s.scale);
      c.seed = seed;
      c.gpu_runs = 3;
      seed += 2;
      if (dt == DType::kF16) f16_tolerance(c);  // |S| ≤ D·|scale|: fp16's one rounding, relative
      else c.atol = 1e-5, c.rtol = 1e-5;
      SCOPED_TRACE(std::string(dtype_name(dt)) + " B " + std::to_string(s.B) + " L " + std::to_string(s.L) + " J " +
                   std::to_string(s.J) + " N " + std::to_string(s.N) + " D " + std::to_string(s.D));
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuHeadScores, AnchorDetrTiny) {
  expect_fusion_on_gpu("anchor_detr_tiny", "fuse_head_scores", 6, {"pred_logits", "pred_boxes"});
}

}  // namespace
}  // namespace kiln::gpu_test
