// DepthwiseConvNHWC's CUDA kernels against the CPU reference: the 3x3 strip kernel (stride 1,
// dilation 1, any pads) and the direct kernel (every other geometry), each with 16-byte channel
// vectors (C a multiple of 8 halves / 4 floats) and with one element per access (C = 1, 3, 12 in
// fp16, 17, ...). Shapes hit one-pixel images, ragged last strips (widths not a multiple of 8),
// rows narrower than a strip, batches, pads wider than the window's reach, and SegFormer's MixFFN
// stages (shrunk so the CPU reference stays quick). Cases run three times on one executor: first
// run, planned arena, CUDA Graph replay.
#include <algorithm>
#include <cstdio>

#include "gpu_compare.h"
#include "ops/op.h"
#include "runtime/cuda/cuda_executor.h"

namespace kiln::gpu_test {
namespace {

struct TokenCase {
  Dims bhwc;  // batch, height, width, channels
  int64_t kh = 3, kw = 3;
  std::vector<int64_t> strides = {1, 1}, dilations = {1, 1}, pads = {1, 1, 1, 1};
  bool bias = true;
};

GpuCase make_case(const TokenCase& k, DType dt, uint64_t seed) {
  const int64_t b = k.bhwc[0], h = k.bhwc[1], w = k.bhwc[2], c = k.bhwc[3];
  GpuCase g{"DepthwiseConvNHWC", {random_tensor(dt, {b, h * w, c}, seed), random_tensor(dt, {c, 1, k.kh, k.kw}, seed + 1)},
            {1, 2}};
  if (k.bias) g.inputs.push_back(random_tensor(dt, {c}, seed + 2));
  g.domain = kKilnDomain;
  g.attrs.set("height", h);
  g.attrs.set("width", w);
  g.attrs.set("strides", k.strides);
  g.attrs.set("dilations", k.dilations);
  g.attrs.set("pads", k.pads);
  g.seed = seed;
  g.gpu_runs = 3;
  return g;
}

void run_cases(const std::vector<TokenCase>& cases, uint64_t seed) {
  for (DType dt : {DType::kF32, DType::kF16})
    for (const TokenCase& k : cases) {
      GpuCase c = make_case(k, dt, seed);
      seed += 3;
      if (dt == DType::kF16) f16_tolerance(c);
      else c.atol = 2e-5, c.rtol = 1e-5;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuTokenDwconv, Strip3x3) {
  const std::vector<TokenCase> cases = {
      {{1, 1, 1, 1}},                                     // one channel, one pixel
      {{2, 17, 33, 3}},                                   // 3 channels: element accesses; ragged strip
      {{1, 3, 17, 17}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, false},
      {{2, 17, 33, 64}},                                  // vectors, batch 2, 33 = 4 strips + 1
      {{1, 5, 8, 8}},                                     // one fp16 vector per pixel, one strip per row
      {{1, 9, 7, 12}},                                    // fp32 vectors, fp16 element accesses
      {{1, 17, 33, 16}, 3, 3, {1, 1}, {1, 1}, {0, 0, 0, 0}},   // no pads
      {{1, 10, 9, 24}, 3, 3, {1, 1}, {1, 1}, {0, 2, 1, 0}},    // asymmetric pads
      {{1, 5, 6, 8}, 3, 3, {1, 1}, {1, 1}, {3, 3, 3, 3}},      // pads beyond the window's reach
      {{1, 1, 40, 32}},                                   // one row
      {{3, 40, 1, 40}},                                   // one column
      {{1, 64, 64, 256}},                                 // SegFormer stage 1 at 256^2
      {{2, 16, 16, 512}},                                 // stage 2-like, batch 2
      {{1, 32, 32, 1280}},                                // stage 3-like (B2's 320 * 4)
  };
  run_cases(cases, 5100);
}

TEST(GpuTokenDwconv, Direct) {
  const std::vector<TokenCase> cases = {
      {{1, 17, 33, 16}, 3, 3, {2, 2}},                            // stride 2
      {{2, 17, 13, 3}, 3, 3, {2, 1}},                             // stride 2, element accesses
      {{1, 17, 33, 32}, 3, 3, {1, 1}, {2, 2}, {2, 2, 2, 2}},      // dilation 2
      {{1, 17, 33, 17}, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}},      // 5x5
      {{2, 9, 10, 64}, 7, 7, {1, 1}, {1, 1}, {3, 3, 3, 3}},       // 7x7
      {{1, 9, 11, 8}, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, false}, // 1x1: a per-channel scale
      {{1, 19, 23, 40}, 3, 5, {1, 1}, {1, 1}, {1, 2, 1, 2}},      // non-square
      {{1, 1, 65, 24}, 1, 7, {1, 2}, {1, 1}, {0, 3, 0, 3}},       // one row, 1x7, stride 2
      {{1, 16, 16, 1}, 5, 5, {2, 2}, {1, 1}, {0, 0, 0, 0}},       // one channel, no pads
  };
  run_cases(cases, 5300);
}

// Rates of the MixFFN depthwise convs of SegFormer-B2 at 1024x1024 (fp16, batch 1) on the token
// layout, for the lead's benchmark runs: --gtest_also_run_disabled_tests
// --gtest_filter=*TokenDwconvBench*. Prints the best of 20 node-by-node runs, the rate of the
// bytes it must move (X, W, bias, Y) and that rate as a share of 4.8 TB/s (H200 HBM3e); the
// first shape's floor is 67.1 MB / 4.8 TB/s = 14.0 us, the target >= 60% (<= 23 us).
TEST(GpuTokenDwconv, DISABLED_TokenDwconvBench) {
  const std::vector<Dims> shapes = {{1, 256, 256, 256}, {1, 128, 128, 512}, {1, 64, 64, 1280}, {1, 32, 32, 2048}};
  for (const Dims& s : shapes) {
    GpuCase c = make_case({s}, DType::kF16, 1);
    Graph g = one_node_graph(c);
    CudaExecutor gpu(g);
    const std::map<std::string, Dims> dims = {{"in0", c.inputs[0].dims()}};
    gpu.prepare(dims);
    DeviceTensorMap in = gpu.input_slots(dims);
    float best = 1e30f;
    for (int rep = 0; rep < 20; ++rep) best = std::min(best, gpu.profile(in).at(0).ms);
    const double bytes = 2.0 * double(2 * s[0] * s[1] * s[2] * s[3] + s[3] * 10);
    const double rate = bytes / (best * 1e-3);
    std::printf("dwconv3x3 NHWC [%lld, %lldx%lld, %lld]  %8.4f ms %7.0f GB/s  %3.0f%% of 4.8 TB/s\n",
                static_cast<long long>(s[0]), static_cast<long long>(s[1]), static_cast<long long>(s[2]),
                static_cast<long long>(s[3]), best, rate / 1e9, 100 * rate / 4.8e12);
  }
}

}  // namespace
}  // namespace kiln::gpu_test
