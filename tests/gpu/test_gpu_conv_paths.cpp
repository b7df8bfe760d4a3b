// Conv's own CUDA paths against the CPU reference (ops/conv/conv_path.h picks them): the depthwise
// kernel (tiled for square 3/5/7 kernels at stride 1 and dilation 1, 16-byte vector loads when rows
// are aligned, else direct) and kernel == stride convolutions as patch rearrangement + GEMM. Every
// case first checks that conv_path sends it where the test means it to go; the shapes hit ragged
// tiles, one-pixel planes, rows that are and are not multiples of the vector, more planes than a
// grid dimension holds, and (patchify) inputs whose trailing rows/columns the windows drop.
// Cases run three times on one executor: first run, planned arena (scratch), CUDA Graph replay.
#include <algorithm>
#include <cstdio>

#include "gpu_compare.h"
#include "ops/conv/conv_path.h"
#include "runtime/cuda/cuda_executor.h"

namespace kiln::gpu_test {
namespace {

using conv::ConvPath;

struct ConvCase {
  Dims x, w;
  int64_t group;
  std::vector<int64_t> strides, pads, dilations;  // pads: begins then ends
  bool bias;
  std::string auto_pad = "";
};

// The spatial axes the dispatcher sees (H, W; 1-D as H = 1), for explicit pads.
std::vector<conv::Axis> axes_of(const ConvCase& k) {
  const size_t n = k.x.size() - 2;
  std::vector<conv::Axis> axes;
  if (n == 1) axes.emplace_back();
  for (size_t i = 0; i < n; ++i) {
    conv::Axis a;
    a.in = k.x[2 + i], a.k = k.w[2 + i], a.s = k.strides[i], a.d = k.dilations[i];
    a.pb = k.pads.empty() ? 0 : k.pads[i];
    a.pe = k.pads.empty() ? 0 : k.pads[n + i];
    axes.push_back(a);
  }
  return axes;
}

GpuCase make_case(const ConvCase& k, DType dt, uint64_t seed) {
  GpuCase c{"Conv", {random_tensor(dt, k.x, seed), random_tensor(dt, k.w, seed + 1)}, {1, 2}};
  if (k.bias) c.inputs.push_back(random_tensor(dt, {k.w[0]}, seed + 2));
  c.attrs.set("group", k.group);
  c.attrs.set("strides", k.strides);
  c.attrs.set("dilations", k.dilations);
  if (!k.pads.empty()) c.attrs.set("pads", k.pads);
  if (!k.auto_pad.empty()) c.attrs.set("auto_pad", k.auto_pad);
  c.seed = seed;
  c.gpu_runs = 3;
  return c;
}

void run_cases(const std::vector<ConvCase>& cases, ConvPath path, uint64_t seed, double f16_atol, double f16_rtol) {
  for (const ConvCase& k : cases) {
    if (!k.auto_pad.empty()) continue;  // pads resolved by the window code; the path ignores them
    const ConvPath got = conv::conv_path(axes_of(k), k.group, k.x[1], k.w[0]);
    ASSERT_EQ(got, path) << dims_to_string(k.x) << " * " << dims_to_string(k.w) << " takes the "
                         << conv::conv_path_name(got) << " path";
  }
  for (DType dt : {DType::kF32, DType::kF16})
    for (const ConvCase& k : cases) {
      GpuCase c = make_case(k, dt, seed);
      seed += 3;
      if (dt == DType::kF16) f16_tolerance(c, f16_atol, f16_rtol);
      else c.atol = 2e-5, c.rtol = 1e-5;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// Depthwise: W is [C, 1, kh, kw], group C.
ConvCase dw(Dims x, int64_t kh, int64_t kw, std::vector<int64_t> strides, std::vector<int64_t> pads,
            std::vector<int64_t> dilations, bool bias) {
  const int64_t c = x[1];
  Dims w = x.size() == 3 ? Dims{c, 1, kw} : Dims{c, 1, kh, kw};
  return {std::move(x), std::move(w), c, std::move(strides), std::move(pads), std::move(dilations), bias};
}

TEST(GpuConvPaths, DepthwiseTiled) {
  const std::vector<int64_t> s1 = {1, 1}, d1 = {1, 1}, p1 = {1, 1, 1, 1};
  const std::vector<ConvCase> cases = {
      dw({1, 1, 1, 1}, 3, 3, s1, p1, d1, true),               // one channel, one pixel
      dw({3, 3, 17, 33}, 3, 3, s1, p1, d1, true),             // 64-wide tiles, ragged, rows unaligned
      dw({1, 17, 33, 17}, 3, 3, s1, p1, d1, false),           // 32-wide tiles
      dw({3, 17, 3, 3}, 3, 3, s1, p1, d1, true),              // 16-wide tiles
      dw({1, 3, 1025, 3}, 3, 3, s1, p1, d1, true),            // many tile rows
      dw({1, 3, 3, 1025}, 3, 3, s1, p1, d1, false),           // many tile columns
      dw({2, 5, 40, 64}, 3, 3, s1, p1, d1, true),             // aligned rows: vector loads
      dw({1, 4, 37, 136}, 3, 3, s1, p1, d1, true),            // vector loads, ragged last tile
      dw({1, 64, 128, 128}, 3, 3, s1, p1, d1, true),          // SegFormer MixFFN-like
      dw({1, 3, 17, 33}, 3, 3, s1, {0, 0, 0, 0}, d1, true),   // no pads
      dw({1, 3, 5, 6}, 3, 3, s1, {3, 3, 3, 3}, d1, false),    // pads wider than the kernel's reach
      dw({1, 4, 10, 9}, 3, 3, s1, {0, 2, 1, 0}, d1, true),    // asymmetric pads
      dw({1, 3, 17, 33}, 5, 5, s1, {2, 2, 2, 2}, d1, true),   // 5x5
      dw({3, 17, 33, 17}, 7, 7, s1, {3, 3, 3, 3}, d1, true),  // 7x7
      dw({1, 3, 33, 32}, 7, 7, s1, {3, 3, 3, 3}, d1, false),  // 7x7, vector loads
      dw({2, 40000, 1, 2}, 3, 3, s1, p1, d1, true),           // 80000 planes: more than grid.y
  };
  run_cases(cases, ConvPath::kDepthwise, 4100, 2e-3, 2e-3);
}

TEST(GpuConvPaths, DepthwiseDirect) {
  const std::vector<int64_t> s1 = {1, 1}, s2 = {2, 2}, d1 = {1, 1};
  const std::vector<ConvCase> cases = {
      dw({1, 17, 33, 17}, 3, 3, s2, {1, 1, 1, 1}, d1, true),        // stride 2
      dw({3, 3, 17, 33}, 3, 3, s1, {1, 1, 1, 1}, {2, 2}, false),    // dilation 2
      dw({1, 3, 17, 33}, 1, 1, s1, {0, 0, 0, 0}, d1, true),         // 1x1: a per-channel scale
      dw({1, 3, 17, 17}, 5, 5, s2, {0, 0, 0, 0}, d1, true),         // 5x5 stride 2, no pads
      dw({1, 5, 19, 23}, 3, 5, s1, {1, 2, 1, 2}, d1, true),         // non-square kernel
      dw({1, 3, 1025, 3}, 7, 3, {3, 1}, {3, 1, 3, 1}, {1, 2}, true),
      dw({3, 17, 1025}, 1, 3, {1}, {1, 1}, {1}, true),              // 1-D
      dw({1, 3, 33}, 1, 5, {2}, {2, 2}, {2}, false),                // 1-D stride and dilation
      dw({1, 70000, 1, 3}, 3, 3, s2, {1, 1, 1, 1}, d1, true),       // 70000 planes
  };
  run_cases(cases, ConvPath::kDepthwise, 4300, 2e-3, 2e-3);
}

TEST(GpuConvPaths, DepthwiseAutoPad) {
  // SAME_UPPER at stride 2 pads more at the end than at the start; the kernel reads only the start.
  std::vector<ConvCase> cases = {dw({1, 6, 10, 9}, 3, 3, {2, 2}, {}, {1, 1}, true),
                                 dw({1, 6, 10, 9}, 3, 3, {1, 1}, {}, {1, 1}, false)};
  cases[0].auto_pad = "SAME_UPPER";
  cases[1].auto_pad = "SAME_LOWER";
  run_cases(cases, ConvPath::kDepthwise, 4500, 2e-3, 2e-3);
}

TEST(GpuConvPaths, Patchify) {
  auto pc = [](Dims x, int64_t c_out, int64_t k, bool bias) {
    const int64_t c = x[1];
    return ConvCase{std::move(x), {c_out, c, k, k}, 1, {k, k}, {0, 0, 0, 0}, {1, 1}, bias};
  };
  const std::vector<ConvCase> cases = {
      pc({1, 3, 8, 8}, 5, 2, true),         // exact multiples
      pc({3, 3, 9, 11}, 5, 2, false),       // trailing row and column dropped, batch 3
      pc({1, 17, 33, 35}, 64, 4, true),     // 3 dropped rows and columns
      pc({3, 5, 16, 24}, 64, 8, true),      // batch 3, k = 8
      pc({1, 6, 23, 17}, 5, 8, false),      // 2x2 windows of 8, 7 and 1 dropped
      pc({1, 64, 64, 64}, 64, 8, true),     // SegFormer stage-0 reduction (shrunk)
      pc({2, 32, 32, 32}, 32, 4, true),     // stage-1-like, batch 2
      pc({1, 8, 8, 8}, 64, 8, true),        // one window: a 1 x 512 . 512 x 64 GEMM
  };
  // Sums of up to 4096 products in fp16 storage (as the MatMul tests).
  run_cases(cases, ConvPath::kPatchify, 4700, 2e-2, 5e-3);

  // Unequal windows per axis, and 1-D.
  const std::vector<ConvCase> odd = {
      {{2, 3, 9, 13}, {5, 3, 2, 4}, 1, {2, 4}, {0, 0, 0, 0}, {1, 1}, true},
      {{1, 4, 7, 9}, {5, 4, 1, 4}, 1, {1, 4}, {0, 0, 0, 0}, {1, 1}, false},
      {{3, 6, 1025}, {7, 6, 4}, 1, {4}, {0, 0}, {1}, true},
  };
  run_cases(odd, ConvPath::kPatchify, 4900, 2e-2, 5e-3);
}

// Timings of SegFormer-B2's convolutions at 1024x1024 (fp16, batch 1), for the lead's benchmark
// runs: --gtest_also_run_disabled_tests --gtest_filter=*ConvPathsBench*. Prints the best of 20
// node-by-node runs and the rate of the bytes each must move (input, weights, output).
TEST(GpuConvPaths, DISABLED_ConvPathsBench) {
  struct B {
    const char* what;
    ConvCase k;
  };
  const std::vector<int64_t> s1 = {1, 1}, d1 = {1, 1}, p1 = {1, 1, 1, 1}, p0 = {0, 0, 0, 0};
  const std::vector<B> cases = {
      {"dw3x3 C=256 256x256", dw({1, 256, 256, 256}, 3, 3, s1, p1, d1, true)},
      {"dw3x3 C=512 128x128", dw({1, 512, 128, 128}, 3, 3, s1, p1, d1, true)},
      {"dw3x3 C=1280 64x64", dw({1, 1280, 64, 64}, 3, 3, s1, p1, d1, true)},
      {"dw3x3 C=2048 32x32", dw({1, 2048, 32, 32}, 3, 3, s1, p1, d1, true)},
      {"sr 8x8/8 64->64 256x256", {{1, 64, 256, 256}, {64, 64, 8, 8}, 1, {8, 8}, p0, d1, true}},
      {"sr 4x4/4 128->128 128x128", {{1, 128, 128, 128}, {128, 128, 4, 4}, 1, {4, 4}, p0, d1, true}},
      {"sr 2x2/2 320->320 64x64", {{1, 320, 64, 64}, {320, 320, 2, 2}, 1, {2, 2}, p0, d1, true}},
      {"embed 7x7/4 3->64 1024x1024", {{1, 3, 1024, 1024}, {64, 3, 7, 7}, 1, {4, 4}, {3, 3, 3, 3}, d1, true}},
      {"embed 3x3/2 64->128 256x256", {{1, 64, 256, 256}, {128, 64, 3, 3}, 1, {2, 2}, p1, d1, true}},
  };
  for (const B& b : cases) {
    GpuCase c = make_case(b.k, DType::kF16, 1);
    Graph g = one_node_graph(c);
    CudaExecutor gpu(g);
    const std::map<std::string, Dims> dims = {{"in0", b.k.x}};
    gpu.prepare(dims);
    DeviceTensorMap in = gpu.input_slots(dims);
    float best = 1e30f;
    for (int rep = 0; rep < 20; ++rep) best = std::min(best, gpu.profile(in).at(0).ms);
    const Dims y = shape_dims(*g.values.at("out0").type.shape);
    const double bytes = 2.0 * double(numel_of(b.k.x) + numel_of(b.k.w) + numel_of(y));
    std::printf("%-30s %-9s %8.4f ms %7.0f GB/s\n", b.what,
                conv::conv_path_name(conv::conv_path(axes_of(b.k), b.k.group, b.k.x[1], b.k.w[0])), best,
                bytes / (best * 1e-3) / 1e9);
  }
}

}  // namespace
}  // namespace kiln::gpu_test
