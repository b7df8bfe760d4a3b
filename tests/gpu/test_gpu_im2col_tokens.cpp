// Im2ColTokens' CUDA gathers against the CPU reference (exactly: the op copies), and the
// reference SegFormers with fuse_token_im2col_conv on the GPU. Tokens X: 16-byte vectors along C
// (C a multiple of 8 halves / 4 floats) and element accesses (C = 1, 3, 5, 12 in fp16, 67);
// NCHW X: the shared-memory tile (SegFormer's 3-channel picture, ragged column spans, several
// spans per row) and the element fallback for windows too wide for shared memory. Shapes: pads,
// stride 2 and 4, kernels 7, 5, 3, 1x7, dilation 2, asymmetric pads, batch 2. Cases run three
// times on one executor: first run, planned arena, CUDA Graph replay.
#include <algorithm>
#include <cstdio>
#include <string>

#include "fused_model_check.h"
#include "gpu_compare.h"
#include "ops/op.h"
#include "runtime/cuda/cuda_executor.h"

namespace kiln::gpu_test {
namespace {

struct GatherCase {
  Dims bhwc;  // batch, height, width, channels
  bool nchw = false;
  int64_t kh = 3, kw = 3;
  std::vector<int64_t> strides = {2, 2}, dilations = {1, 1}, pads = {1, 1, 1, 1};
};

GpuCase make_case(const GatherCase& k, DType dt, uint64_t seed) {
  const int64_t b = k.bhwc[0], h = k.bhwc[1], w = k.bhwc[2], c = k.bhwc[3];
  GpuCase g{"Im2ColTokens", {random_tensor(dt, k.nchw ? Dims{b, c, h, w} : Dims{b, h * w, c}, seed)}, {}};
  g.domain = kKilnDomain;
  if (!k.nchw) {
    g.attrs.set("height", h);
    g.attrs.set("width", w);
  }
  g.attrs.set("kernel_shape", std::vector<int64_t>{k.kh, k.kw});
  g.attrs.set("strides", k.strides);
  g.attrs.set("dilations", k.dilations);
  g.attrs.set("pads", k.pads);
  g.seed = seed;
  g.gpu_runs = 3;
  g.atol = 0, g.rtol = 0;  // a copy
  return g;
}

void run_cases(const std::vector<GatherCase>& cases, uint64_t seed) {
  for (DType dt : {DType::kF32, DType::kF16})
    for (const GatherCase& k : cases) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + (k.nchw ? " nchw" : " tokens") + " bhwc " +
                   std::to_string(k.bhwc[0]) + "," + std::to_string(k.bhwc[1]) + "," + std::to_string(k.bhwc[2]) +
                   "," + std::to_string(k.bhwc[3]) + " k " + std::to_string(k.kh) + "x" + std::to_string(k.kw));
      expect_gpu_matches_cpu(make_case(k, dt, seed));
      seed += 1;
      if (::testing::Test::HasFatalFailure()) return;
    }
}

const std::vector<int64_t> kS4 = {4, 4}, kP3 = {3, 3, 3, 3}, kS1 = {1, 1}, kD1 = {1, 1}, kD2 = {2, 2};

TEST(GpuIm2ColTokens, Tokens) {
  run_cases({
                {{1, 1, 1, 1}},                                       // one pixel, one channel
                {{2, 17, 33, 3}},                                     // element accesses, batch 2
                {{1, 9, 7, 5}},                                       // C 5
                {{2, 11, 10, 12}},                                    // fp32 vectors, fp16 elements
                {{1, 16, 16, 16}},                                    // vectors in both
                {{2, 17, 15, 64}},                                    // SegFormer stage 1 input (shrunk)
                {{1, 13, 9, 67}},                                     // 64 + 3: elements
                {{1, 17, 23, 8}, false, 7, 7, kS4, kD1, kP3},         // 7x7 stride 4 on tokens
                {{1, 17, 33, 16}, false, 3, 3, kS1, kD2, {2, 2, 2, 2}},  // dilation 2
                {{2, 10, 9, 24}, false, 5, 3, {1, 3}, kD1, {0, 2, 3, 1}},  // asymmetric
                {{1, 1, 65, 24}, false, 1, 7, {1, 2}, kD1, {0, 3, 0, 3}},  // one row, 1x7
                {{1, 8, 8, 32}, false, 3, 3, {4, 4}, kD1, {5, 5, 5, 5}},   // pads past the window's reach
            },
            6100);
}

TEST(GpuIm2ColTokens, Nchw) {
  run_cases({
                {{1, 17, 23, 3}, true, 7, 7, kS4, kD1, kP3},          // SegFormer's first embedding, shrunk
                {{2, 64, 301, 3}, true, 7, 7, kS4, kD1, kP3},         // 76 columns: a full span and a ragged one
                {{1, 33, 31, 1}, true},                               // one channel, 3x3 stride 2
                {{2, 9, 13, 5}, true, 3, 3, kS1, kD2, {2, 2, 2, 2}},  // dilation 2
                {{1, 10, 9, 16}, true, 5, 3, {1, 3}, kD1, {0, 2, 3, 1}},  // asymmetric
                {{1, 3, 200, 7}, true, 1, 7, {1, 2}, kD1, {0, 3, 0, 3}},  // 1x7, two spans per row
                {{2, 9, 9, 512}, true, 5, 5, kS1, kD1, {2, 2, 2, 2}},     // too wide to stage: element kernel
            },
            6200);
}

// The reference SegFormers' 4 patch embeddings each, against the CPU reference and the graph
// without the pass on the GPU; fp32 and fp16 engines.
TEST(GpuIm2ColTokens, SegformerTiny) { expect_fusion_on_gpu("segformer_tiny", "fuse_token_im2col_conv", 4, {"logits"}); }
TEST(GpuIm2ColTokens, SegformerB0) { expect_fusion_on_gpu("segformer_b0", "fuse_token_im2col_conv", 4, {"logits"}); }

// The gathers of SegFormer-B2's patch embeddings at 1024x1024 (fp16) at batch 1 and 8, for the
// lead's benchmark runs: --gtest_also_run_disabled_tests --gtest_filter=*Im2ColTokensBench*. Each
// shape is first checked against the CPU reference, then timed node by node (CUDA events around
// the one node) 30 times after 3 warm-ups. Prints the median, the best, and the rate of X read +
// Y written at the median.
TEST(GpuIm2ColTokens, DISABLED_Im2ColTokensBench) {
  const std::vector<GatherCase> stages = {
      {{1, 1024, 1024, 3}, true, 7, 7, kS4, kD1, kP3},
      {{1, 256, 256, 64}},
      {{1, 128, 128, 128}},
      {{1, 64, 64, 320}},
  };
  uint64_t seed = 1;
  for (int64_t batch : {int64_t(1), int64_t(8)})
    for (GatherCase k : stages) {
      k.bhwc[0] = batch;
      GpuCase c = make_case(k, DType::kF16, seed++);
      Graph g = one_node_graph(c);
      const TensorMap feeds = {{"in0", c.inputs[0]}};
      CudaExecutor gpu(g);
      const Tensor got = gpu.run(feeds).at("out0");
      EXPECT_TRUE(got.same_bytes(CpuExecutor(g).run(feeds).at("out0")));
      DeviceTensorMap in = gpu.input_slots({{"in0", c.inputs[0].dims()}});
      std::vector<float> ms;
      for (int rep = 0; rep < 33; ++rep) {
        const float t = gpu.profile(in).at(0).ms;
        if (rep >= 3) ms.push_back(t);
      }
      std::sort(ms.begin(), ms.end());
      const float median = ms[ms.size() / 2];
      const double bytes = 2.0 * double(c.inputs[0].numel() + got.numel());
      std::printf("im2col_tokens fp16 %s b%lld %lldx%lld C %lld k%lld s%lld: %7.1f MB median %8.4f ms (best %8.4f) %6.0f GB/s\n",
                  k.nchw ? "nchw" : "tokens", static_cast<long long>(batch), static_cast<long long>(k.bhwc[1]),
                  static_cast<long long>(k.bhwc[2]), static_cast<long long>(k.bhwc[3]), static_cast<long long>(k.kh),
                  static_cast<long long>(k.strides[0]), bytes / 1e6, median, ms.front(), bytes / (median * 1e-3) / 1e9);
    }
}

}  // namespace
}  // namespace kiln::gpu_test
