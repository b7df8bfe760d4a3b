// kiln.AttentionKeepMask on the GPU against the CPU reference, bit for bit: float32 and float16
// logits, head copies 1 and 8, rows shorter and longer than a block's threads and chunk, every third query's row
// excluded whole (the reset), more rows than blocks (the grid-stride loop), an empty batch; on
// the plan's first run, in the arena and as a CUDA Graph replay. Then mask2former_tiny with its
// three masks fused against the CPU and the unfused graph on the GPU, fp32 and fp16 engines.
#include <cmath>

#include "fused_model_check.h"
#include "gpu_compare.h"
#include "ops/op.h"

namespace kiln::gpu_test {
namespace {

// Logits in [-2, 2], every third query's row all below zero.
Tensor logits(DType dt, const Dims& dims, uint64_t seed) {
  Tensor x = random_tensor(DType::kF32, dims, seed, -2, 2);
  int64_t K = 1;
  for (size_t i = 2; i < dims.size(); ++i) K *= dims[i];
  for (int64_t row = 0; row < dims[0] * dims[1]; ++row)
    if (row % dims[1] % 3 == 0)
      for (int64_t k = 0; k < K; ++k) x.data<float>()[row * K + k] = -std::abs(x.data<float>()[row * K + k]) - 0.01f;
  if (dt == DType::kF32) return x;
  Tensor h(DType::kF16, dims);
  for (int64_t i = 0; i < x.numel(); ++i) h.data<f16>()[i] = f16{float_to_f16(x.data<float>()[i])};
  return h;
}

TEST(GpuAttentionKeepMask, Shapes) {
  struct Case {
    Dims dims;
    int64_t repeats;
  };
  const std::vector<Case> cases = {
      {{1, 100, 25, 38}, 8},  // Mask2Former Swin-T's smallest level at 800x1216, 8 heads
      {{1, 100, 25, 38}, 1},  // the same, broadcast over the heads
      {{2, 7, 3, 5}, 3},      // batch 2: copies per item
      {{1, 5, 1, 1}, 2},      // one key
      {{1, 3, 700}, 1},       // a row longer than a block's threads
      {{2, 4, 2500}, 3},      // three chunks of keys per row
      {{70000, 1, 3}, 2},     // more rows than blocks
      {{0, 4, 2, 2}, 8},      // empty
  };
  uint64_t seed = 12000;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Case& k : cases) {
      SCOPED_TRACE(dims_to_string(k.dims) + " repeats " + std::to_string(k.repeats) + " " + dtype_name(dt));
      GpuCase c{"AttentionKeepMask", {logits(dt, k.dims, seed)}, {}};
      c.domain = kKilnDomain;
      c.opset = 1;
      c.attrs.set("repeats", k.repeats);
      c.attrs.set("threshold", 0.5f);
      c.seed = seed++;
      c.gpu_runs = 3;
      c.atol = 0, c.rtol = 0;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuAttentionKeepMask, Mask2FormerTiny) {
  expect_fusion_on_gpu("mask2former_tiny", "fuse_attention_keep_mask", 3,
                       {"class_queries_logits", "masks_queries_logits"});
}

}  // namespace
}  // namespace kiln::gpu_test
