// kiln.ResizeSum's CUDA kernel against the CPU reference: token inputs read as 16-byte vectors
// (channels a multiple of 8 fp16 / 4 fp32) and one element at a time (other channel counts),
// at the output size, upsampled and downsampled; NCHW inputs; every coordinate mode; channels
// not a multiple of the 128-byte channel tile (64 fp16 / 32 fp32); widths with a ragged last
// 64-pixel tile, stored as 16-byte vectors (width a multiple of 8 fp16 / 4 fp32) or one
// element at a time; batch 2, fp32 and fp16, with and without Relu; then the SegFormer
// reference models, whose decode head fuse_resize_sum turns into one ResizeSum, on the GPU
// against the same graph on the CPU and against the unfused graph on the GPU. Cases run three
// times on one executor: first run, planned arena, CUDA Graph replay. IdentityStagedAndDirectPaths
// steers inputs through each of the kernel's three ways of reading them (resize_sum.cu).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "../model/model_compare.h"
#include "gpu_compare.h"
#include "onnx/importer.h"
#include "ops/op.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_session.h"

namespace kiln::gpu_test {
namespace {

struct Source {
  int64_t h, w;
  bool tokens = true;
  std::string coord = "half_pixel";
  float scale_h = 0.f, scale_w = 0.f;  // 0: from the output size
};

struct SumCase {
  int64_t b, c, h, w;
  std::vector<Source> in;
  bool relu = true;
};

GpuCase make_case(const SumCase& k, DType dt, uint64_t seed) {
  GpuCase g{"ResizeSum", {}, {}};
  std::vector<std::string> layouts, modes;
  std::vector<int64_t> hs, ws;
  std::vector<float> scales;
  for (size_t i = 0; i < k.in.size(); ++i) {
    const Source& s = k.in[i];
    g.inputs.push_back(random_tensor(dt, s.tokens ? Dims{k.b, s.h * s.w, k.c} : Dims{k.b, k.c, s.h, s.w}, seed + i));
    layouts.push_back(s.tokens ? "tokens" : "nchw");
    modes.push_back(s.coord);
    hs.push_back(s.h), ws.push_back(s.w);
    scales.push_back(s.scale_h), scales.push_back(s.scale_w);
  }
  g.domain = kKilnDomain;
  g.attrs.set("height", k.h);
  g.attrs.set("width", k.w);
  g.attrs.set("layouts", layouts);
  g.attrs.set("coordinate_transformation_modes", modes);
  g.attrs.set("input_heights", hs);
  g.attrs.set("input_widths", ws);
  g.attrs.set("scales", scales);
  g.attrs.set("activation", std::string(k.relu ? "relu" : "none"));
  g.seed = seed;
  g.gpu_runs = 3;
  return g;
}

void run_cases(const std::vector<SumCase>& cases, uint64_t seed) {
  for (DType dt : {DType::kF32, DType::kF16})
    for (const SumCase& k : cases) {
      GpuCase c = make_case(k, dt, seed);
      seed += 10;
      if (dt == DType::kF16) f16_tolerance(c);  // one fp16 rounding of an fp32 sum
      else c.atol = 1e-5, c.rtol = 1e-5;        // fp32 sums against the double reference
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuResizeSum, DecodeHeadShapes) {
  const std::vector<SumCase> cases = {
      // SegFormer's four stages (1, 1/2, 1/4, 1/8), C = 40 (a ragged channel tile), W = 70 (a
      // ragged x tile), batch 2.
      {2, 40, 37, 70, {{37, 70}, {19, 35}, {10, 18}, {5, 9}}},
      {1, 256, 64, 64, {{64, 64}, {32, 32}, {16, 16}, {8, 8}}},  // B0 at 256²
      {2, 33, 17, 130, {{17, 130}, {9, 65}}, false},             // three x tiles, no Relu
      {1, 96, 128, 128, {{16, 16}, {128, 128}, {32, 32}, {64, 64}}},  // stage order as exported
  };
  run_cases(cases, 6100);
}

TEST(GpuResizeSum, LayoutsModesAndRatios) {
  const std::vector<SumCase> cases = {
      {1, 1, 1, 1, {{1, 1}, {1, 1, false}}},                              // one pixel, one channel
      {2, 3, 11, 13, {{5, 4, false}, {11, 13, false}, {6, 7}}},           // NCHW beside tokens
      {1, 17, 23, 29, {{7, 3, true, "pytorch_half_pixel"}, {6, 2, false, "align_corners"},
                       {4, 5, true, "asymmetric"}, {5, 5, true, "half_pixel_symmetric"},
                       {23, 29, true, "tf_half_pixel_for_nn"}}},
      {1, 8, 17, 70, {{1, 1}, {1, 70}, {17, 1, false}}},                  // broadcast-like 1-pixel axes
      {1, 5, 11, 13, {{5, 4, true, "half_pixel", 2.2f, 3.25f}}},         // scales given (2.2*5 = 11)
      {2, 24, 9, 70, {{40, 310}, {9, 70}}},       // downsampled 310 → 70: taps wider than a tile
      {1, 64, 20, 200, {{9, 130, false}, {20, 100}, {3, 250}}},          // mixed up and down
      // All 8 input slots.
      {1, 35, 15, 66, {{15, 66}, {8, 33}, {4, 17}, {2, 9}, {15, 66, false}, {7, 30, false}, {1, 2}, {30, 66}}},
  };
  run_cases(cases, 6500);
}

// The kernel's vector paths and their fallbacks, each in fp32 and fp16 (run_cases).
TEST(GpuResizeSum, VectorAndElementPaths) {
  const std::vector<SumCase> cases = {
      // C = 48, W = 88: 16-byte token loads and output stores in both dtypes, a ragged last x tile
      // (24 pixels) and channel tile (fp16: 48 of 64; fp32: 16 of 32), batch 2; a downsampled
      // token input (vector loads with taps wider than a tile) and an NCHW one beside them.
      {2, 48, 12, 88, {{12, 88}, {6, 44}, {3, 22}, {25, 200}, {5, 30, false}}},
      // C = 36, W = 68: vectors in fp32 (multiples of 4), one element at a time in fp16.
      {1, 36, 7, 68, {{7, 68}, {4, 34}, {2, 17, false}}, false},
      // C = 8, W = 16: one 16-byte fp16 chunk per pixel, tiles far larger than the image.
      {2, 8, 4, 16, {{4, 16}, {2, 8}, {1, 4}}},
      // C = 130: element loads in both dtypes, three fp16 / five fp32 channel tiles, the last
      // holding 2 channels; W = 192: three full x tiles of vector stores.
      {1, 130, 5, 192, {{5, 192}, {3, 96}, {2, 48}}},
      // C = 64, W = 256: the benchmark's layout at a small height, stage order as exported.
      {1, 64, 8, 256, {{1, 32}, {2, 64}, {4, 128}, {8, 256}}},
  };
  run_cases(cases, 6900);
}

// How the kernel reads each input: the identity copy (vec tokens at the output size, weights 1
// and 0; its tiles fetched one ahead), staged through shared memory (vec tokens, taps that
// never decrease, while the 96 KB budget lasts), tap by tap (the rest); and the persistent
// blocks' loop over many tiles each.
TEST(GpuResizeSum, IdentityStagedAndDirectPaths) {
  const std::vector<SumCase> cases = {
      // Thousands of tiles (fp16: 3 x 2 x 400; fp32: 3 x 3 x 400), so every block runs several
      // and the identity's double buffer turns over: W = 260 (a 4-pixel last x tile), C = 72
      // (a last channel tile of 8), batch 2, the identity second in input order.
      {2, 72, 200, 260, {{100, 130}, {200, 260}, {50, 65}, {25, 33}}},
      // Two inputs at the output size: the first is the identity (first in input order), the
      // second (taps 1 and 0 too) is staged; then a 2x input that fp16 leaves past the budget
      // (tap by tap) and a 4x one that still fits; W = 200 (a 72-pixel last tile); no Relu.
      {1, 40, 9, 200, {{9, 200}, {9, 200}, {5, 100}, {3, 50}}, false},
      // Downsampled 2x (a tile reads 256 columns: staged) and 4x with align_corners (over 500
      // columns: past the budget, tap by tap); upsampled NCHW and token inputs; no identity.
      {1, 32, 7, 150, {{14, 300}, {28, 600, true, "align_corners"}, {4, 75, false}, {4, 75}}},
      // Five upsampled vec inputs: the budget stages the first three in fp16 (the rest go tap
      // by tap), all five in fp32; an identity after them; W = 136 (an 8-pixel last tile), C = 24.
      {1, 24, 20, 136, {{10, 68}, {5, 34}, {10, 68, true, "pytorch_half_pixel"}, {7, 45}, {3, 17}, {20, 136}}},
      // The identity and staged inputs with channels that allow no 16-byte access (C = 12 in
      // fp16 / 6 in fp32 would; 10 does in neither): every input tap by tap, element stores.
      {2, 10, 6, 131, {{6, 131}, {3, 66}, {2, 33}}},
      // The identity in align_corners at the output size (weights 1, 0 too), upsampled with
      // asymmetric taps; W = 8 (one 16-byte fp16 run), C = 8.
      {2, 8, 5, 8, {{5, 8, true, "align_corners"}, {2, 3, true, "asymmetric"}}},
  };
  run_cases(cases, 7300);
}

// The reference SegFormers with their decode head fused: the CUDA executor against the CPU
// reference on the same graph (the model tests' fp32 bound), and against the unfused graph on
// the GPU, where only the decode head's summation order differs (1e-5).
Tensor run_gpu(const Graph& g, const TensorMap& feeds) {
  CudaExecutor exec(g);
  exec.run(feeds);
  return exec.run(feeds).at("logits");  // the planned arena
}

double rel_l2(const Tensor& got, const Tensor& want) { return test::compare_to_golden(got, want).rel_l2; }

void check_model(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(test_dir()) / "models" / name;
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  ASSERT_EQ(run_passes(g).fused.at("fuse_resize_sum"), 1);
  run_passes(plain, {"fuse_resize_sum"});
  const Tensor gpu = run_gpu(g, feeds), gpu_unfused = run_gpu(plain, feeds);
  const Tensor cpu = CpuExecutor(g).run(feeds).at("logits");
  EXPECT_LE(rel_l2(gpu, cpu), 1e-4) << name << " fp32, GPU vs CPU";
  EXPECT_LE(rel_l2(gpu, gpu_unfused), 1e-5) << name << " fp32, fused vs unfused on the GPU";
  // fp16 engines: the fused graph converted as `kiln build --fp16` does, against the fp16
  // unfused graph (whose Resizes and Adds round to fp16 after every node).
  convert_to_fp16(g);
  convert_to_fp16(plain);
  const Tensor h = run_gpu(g, feeds), h_unfused = run_gpu(plain, feeds);
  EXPECT_LE(rel_l2(h, h_unfused), 2e-3) << name << " fp16, fused vs unfused on the GPU";
  EXPECT_LE(rel_l2(h, cpu), 1e-2) << name << " fp16 against fp32 (the fp16 model tests' bound)";
}

TEST(GpuResizeSum, SegformerTiny) { check_model("segformer_tiny"); }
TEST(GpuResizeSum, SegformerB0) { check_model("segformer_b0"); }

// SegFormer-B2's decode-head sum at 1024² (fp16, C = 768, 256² from its 4 token stages in
// the order exported) at batch 1 and 8, for the lead's benchmark runs:
// --gtest_also_run_disabled_tests --gtest_filter=*ResizeSumBench*. Prints the median of 60
// node-by-node runs (CUDA events; inputs copied in before each, so L2 starts cold), the rate
// of the bytes the op must move (inputs read once, output written once) and its share of
// 3.0 TB/s (the H100's device-to-device copy rate), then checks the output against the CPU
// reference, so a fast but wrong kernel fails.
TEST(GpuResizeSum, DISABLED_ResizeSumBench) {
  constexpr double kCopyRate = 3.0e12;
  for (int64_t batch : {1, 8}) {
    const int64_t c = 768;
    SumCase k{batch, c, 256, 256, {{32, 32}, {64, 64}, {128, 128}, {256, 256}}};
    GpuCase gc = make_case(k, DType::kF16, 1);
    Graph g = one_node_graph(gc);
    CudaExecutor gpu(g);
    TensorMap host;
    DeviceTensorMap in;
    double bytes = 2.0 * double(batch * c * 256 * 256);
    for (size_t i = 0; i < gc.inputs.size(); ++i) {
      const std::string name = "in" + std::to_string(i);
      host[name] = gc.inputs[i];
      in[name] = to_device(gc.inputs[i], gpu.session().stream());
      bytes += 2.0 * double(gc.inputs[i].numel());
    }
    gpu.profile(in);  // plans, uploads the taps
    std::vector<float> ms;
    for (int rep = 0; rep < 60; ++rep) ms.push_back(gpu.profile(in).at(0).ms);
    std::sort(ms.begin(), ms.end());
    const float med = ms[ms.size() / 2];
    const double rate = bytes / (med * 1e-3);
    std::printf("ResizeSum B2 head b%lld C=%lld 256x256 from 4 token stages fp16  median %8.4f ms (min %.4f, max %.4f)  "
                "%6.1f MB  %7.0f GB/s  %3.0f%% of 3.0 TB/s\n",
                static_cast<long long>(batch), static_cast<long long>(c), med, ms.front(), ms.back(), bytes / 1e6,
                rate / 1e9, 100 * rate / kCopyRate);
    const Tensor got = gpu.run(host).at("out0");
    const Tensor want = CpuExecutor(g).run(host).at("out0");
    test::expect_close(got, test::to_doubles(want), 2e-3, 2e-3);  // f16_tolerance
  }
}

}  // namespace
}  // namespace kiln::gpu_test
