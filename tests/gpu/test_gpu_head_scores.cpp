// kiln.HeadScores on the GPU against the CPU reference: the strided-batched cuBLASLt product over
// heads reading Q and K in their token layout — AnchorDETR's head sizes (16, 32), odd head sizes
// (unaligned per-head offsets: 5, 33), one head, one query, batches looped, the encoder's row
// scores at 800x1216 (L 3800 × J 76 × 8 heads) — fp32 (no TF32: against the double reference
// within 1e-5) and fp16 (fp32 accumulation, one rounding to fp16), a negative scale; each on the
// plan's first run, in the planned arena and as a CUDA Graph replay. Then anchor_detr_tiny with
// its six products fused against the CPU and the unfused graph on the GPU, fp32 and fp16 engines.
#include <algorithm>
#include <cstdio>

#include "../unit/onnx_builder.h"
#include "fused_model_check.h"
#include "gpu_compare.h"
#include "onnx/importer.h"
#include "ops/op.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_session.h"

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

// RCDA's score product as exported at 800x1216 (8 heads of 32): xq [1, L, 256], xk [1, J, 256]
// → Reshape → Transpose(0,2,1,3) → Mul(1/√32) and Reshape → Transpose(0,2,1,3) → Transpose(0,1,3,2)
// → MatMul.
std::string score_layer(int64_t L, int64_t J) {
  test::ModelBuilder b(17);
  b.input("xq", DType::kF32, {1, L, 256});
  b.input("xk", DType::kF32, {1, J, 256});
  b.initializer("q_shape", Tensor::from_vector<int64_t>({4}, {1, L, 8, 32}));
  b.initializer("k_shape", Tensor::from_vector<int64_t>({4}, {1, J, 8, 32}));
  b.initializer("scale", Tensor::scalar<float>(0.17677669f));
  b.node("Reshape", {"xq", "q_shape"}, {"q4"});
  b.node("Reshape", {"xk", "k_shape"}, {"k4"});
  test::set_ints_attr(b.node("Transpose", {"q4"}, {"qh"}), "perm", {0, 2, 1, 3});
  test::set_ints_attr(b.node("Transpose", {"k4"}, {"kh"}), "perm", {0, 2, 1, 3});
  test::set_ints_attr(b.node("Transpose", {"kh"}, {"kt"}), "perm", {0, 1, 3, 2});
  b.node("Mul", {"qh", "scale"}, {"qs"});
  b.node("MatMul", {"qs", "kt"}, {"s"});
  b.output("s", DType::kF32);
  return b.bytes();
}

// Best of 20 node-by-node runs, every node summed (the Reshapes are aliases).
float graph_ms(CudaExecutor& exec, const DeviceTensorMap& in) {
  float best = 1e30f;
  for (int rep = 0; rep < 20; ++rep) {
    float ms = 0;
    for (const NodeTiming& t : exec.profile(in)) ms += t.ms;
    best = std::min(best, ms);
  }
  return best;
}

// `--gtest_also_run_disabled_tests --gtest_filter=*HeadScoresBench*`: the encoder's row and column
// products (L 3800 against W 76 and H 50) and the decoder's (L 900), fused against unfused (the
// Transposes, the Mul and the MatMul), fp32 and fp16; checks they agree, prints the times.
TEST(GpuHeadScores, DISABLED_HeadScoresBench) {
  for (auto [L, J] : {std::pair<int64_t, int64_t>{3800, 76}, {3800, 50}, {900, 76}}) {
    const std::string bytes = score_layer(L, J);
    Graph fused = import_onnx_bytes(bytes, ".", "layer.onnx");
    Graph plain = import_onnx_bytes(bytes, ".", "layer.onnx");
    ASSERT_EQ(run_passes(fused).fused.at("fuse_head_scores"), 1);
    run_passes(plain, {"fuse_head_scores"});
    TensorMap feeds;
    uint64_t seed = 6161;
    for (const std::string& name : plain.inputs)
      feeds[name] = random_tensor(DType::kF32, shape_dims(*plain.value(name).type.shape), seed++, -1, 1);
    Tensor want;
    for (DType dt : {DType::kF32, DType::kF16}) {
      if (dt == DType::kF16) {
        convert_to_fp16(fused);
        convert_to_fp16(plain);
      }
      CudaExecutor gf(fused), gp(plain);
      const Tensor yf = gf.run(feeds).at("s"), yp = gp.run(feeds).at("s");
      if (dt == DType::kF32) {
        EXPECT_LE(rel_l2(yf, yp), 1e-6) << "fused vs unfused, fp32";
        want = yp;
      } else {
        EXPECT_LE(rel_l2(yf, want), 2e-3) << "fused fp16 vs fp32";
      }
      DeviceTensorMap in_f, in_p;
      for (const auto& [name, t] : feeds) {
        in_f[name] = to_device(t, gf.session().stream());
        in_p[name] = to_device(t, gp.session().stream());
      }
      const float f = graph_ms(gf, in_f), p = graph_ms(gp, in_p);
      std::printf("HeadScores %s L %lld J %lld x8 heads of 32: fused %8.4f ms, unfused %8.4f ms: %.2fx\n", dtype_name(dt),
                  static_cast<long long>(L), static_cast<long long>(J), f, p, p / f);
    }
  }
}

}  // namespace
}  // namespace kiln::gpu_test
