// kiln.MaskPositionEmbedding on the GPU against the CPU reference: both axes, padded masks with
// a wholly padded item (NaN rows as the unfused division by zero gives), one position, positions
// beyond one block of threads (n 300 × K 64 pairs), a batch beyond one block per item's loop,
// K of 1 and 128; each on the plan's first run, in the planned arena and as a CUDA Graph replay
// (the divisors uploaded on the first run are reused). The op writes float32 whatever the engine
// precision (its input is a bool mask), so there is no fp16 form; anchor_detr_tiny with both
// embeddings fused then runs against the CPU and the unfused graph on the GPU, fp32 and fp16
// engines.
#include <cmath>

#include "fused_model_check.h"
#include "gpu_compare.h"
#include "ops/op.h"

namespace kiln::gpu_test {
namespace {

struct Embed {
  int64_t B, H, W, K;
  int64_t axis;
};

// Item b valid on its top-left (H − b·H/4) × (W − b·W/3), clamped at 0: item 0 unpadded, later
// items more padded, whole when the clamp bites.
Tensor padded_mask(const Embed& e) {
  Tensor m(DType::kBool, {e.B, e.H, e.W});
  for (int64_t b = 0; b < e.B; ++b)
    for (int64_t y = 0; y < e.H; ++y)
      for (int64_t x = 0; x < e.W; ++x)
        m.data<bool>()[(b * e.H + y) * e.W + x] = y >= e.H - b * e.H / 4 || x >= e.W - b * e.W / 3;
  return m;
}

GpuCase make_case(const Embed& e, uint64_t seed) {
  GpuCase c{"MaskPositionEmbedding", {padded_mask(e)}, {}};
  c.domain = kKilnDomain;
  c.opset = 1;
  std::vector<float> div;
  for (int64_t k = 0; k < e.K; ++k) div.push_back(float(std::pow(10000.0, double(2 * k) / double(2 * e.K))));
  c.attrs.set("axis", e.axis);
  c.attrs.set("offset", 0.5f);
  c.attrs.set("scale", float(2 * M_PI));
  c.attrs.set("divisors", div);
  c.seed = seed;
  c.gpu_runs = 3;
  // The same float32 arithmetic; sinf/cosf within 2 ulp of the correctly rounded values (|y| ≤ 1).
  c.atol = 3e-7, c.rtol = 0;
  return c;
}

TEST(GpuMaskPositionEmbedding, Shapes) {
  const std::vector<Embed> cases = {
      {2, 7, 11, 16, 1},   {2, 7, 11, 16, 2},   // AnchorDETR tiny's K; item 1 padded
      {5, 50, 76, 128, 1}, {5, 50, 76, 128, 2},  // the full model's K at 800x1216; item 4: whole rows padded
      {1, 1, 1, 1, 1},     {1, 1, 1, 1, 2},      // one position, one frequency
      {3, 300, 2, 64, 1},  {3, 2, 300, 64, 2},   // n·K beyond one block's threads, many rounds
      {70000, 3, 2, 4, 2},                       // more items than blocks: the grid-stride loop
  };
  uint64_t seed = 9900;
  for (const Embed& e : cases) {
    SCOPED_TRACE("B " + std::to_string(e.B) + " H " + std::to_string(e.H) + " W " + std::to_string(e.W) + " K " +
                 std::to_string(e.K) + " axis " + std::to_string(e.axis));
    expect_gpu_matches_cpu(make_case(e, seed++));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(GpuMaskPositionEmbedding, RefusesPositionsBeyondTheSharedMemoryRow) {
  expect_gpu_unsupported(make_case({1, 8193, 1, 2, 1}, 9950), "positions beyond");
}

TEST(GpuMaskPositionEmbedding, AnchorDetrTiny) {
  expect_fusion_on_gpu("anchor_detr_tiny", "fuse_mask_position_embedding", 2, {"pred_logits", "pred_boxes"});
}

}  // namespace
}  // namespace kiln::gpu_test
