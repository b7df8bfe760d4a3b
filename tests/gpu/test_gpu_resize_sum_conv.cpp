// kiln.ResizeSumConv's CUDA kernel (resize_sum_conv.cu) against the CPU reference (ResizeSum,
// rounded to fp16, then the 1x1 Conv): every width of the conv's warp columns (1 to 5 n8 tiles a
// warp: 1 to 160 outputs, ragged and whole), fp32 and fp16 bias / output, the sum's inputs
// (the identity, or its 64-channel tokens and their projection; upsampled token maps in each
// linear mode), ragged x tiles, batch 2 and enough tiles
// that each persistent block walks several (the double buffers turn over); what the kernel
// refuses; then SegFormer-B0 in fp16 with the pass on and off on the GPU (segformer_tiny's head
// has 32 channels: not fused).
// Cases run three times on one executor: first run, planned arena, CUDA Graph replay.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "../model/model_compare.h"
#include "gpu_compare.h"
#include "onnx/importer.h"
#include "ops/op.h"
#include "ops/spatial/resize_sum_conv.h"
#include "ops/spatial/resize_sum_conv_launch.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_session.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::gpu_test {
namespace {

struct Source {
  int64_t h, w;
  bool tokens = true;
  std::string coord = "half_pixel";
};

struct ConvCase {
  int64_t b, c, h, w;
  std::vector<Source> in;
  int64_t classes;
  DType out = DType::kF32;  // the bias's and the output's dtype
  bool relu = true;
  int proj = -1;  // the input given as 64-channel tokens and its projection (Wp, Bp) to C
};

GpuCase make_case(const ConvCase& k, uint64_t seed, DType x_type = DType::kF16) {
  GpuCase g{"ResizeSumConv", {}, {}};
  g.domain = kKilnDomain;
  std::vector<std::string> layouts, modes;
  std::vector<int64_t> hs, ws;
  std::vector<float> scales;
  for (size_t i = 0; i < k.in.size(); ++i) {
    const Source& s = k.in[i];
    const int64_t c = int(i) == k.proj ? 64 : k.c;
    g.inputs.push_back(random_tensor(x_type, s.tokens ? Dims{k.b, s.h * s.w, c} : Dims{k.b, c, s.h, s.w}, seed + i));
    layouts.push_back(s.tokens ? "tokens" : "nchw");
    modes.push_back(s.coord);
    hs.push_back(s.h), ws.push_back(s.w);
    scales.push_back(0.f), scales.push_back(0.f);
  }
  // Weights of 2/sqrt(C) keep the outputs near 1, where the tolerance below is meaningful.
  const double w = 2.0 / std::sqrt(double(k.c));
  g.inputs.push_back(random_tensor(x_type, {k.classes, k.c, 1, 1}, seed + 100, -w, w));
  g.inputs.push_back(random_tensor(k.out, {k.classes}, seed + 101));
  g.constant_inputs = {k.in.size(), k.in.size() + 1};
  if (k.proj >= 0) {  // Wp of 1/8 keeps the projected tokens near the others' scale
    g.inputs.push_back(random_tensor(x_type, {64, k.c}, seed + 102, -0.125, 0.125));
    g.inputs.push_back(random_tensor(x_type, {k.c}, seed + 103));
    g.constant_inputs.push_back(k.in.size() + 2), g.constant_inputs.push_back(k.in.size() + 3);
    g.attrs.set("projected_input", int64_t(k.proj));
  }
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
  // The sum rounds to fp16 on both sides (an element may land one ulp apart: fp32 against
  // double sums), then C products in fp32 against the reference's order; fp16 outputs round once more.
  f16_tolerance(g);
  return g;
}

// Sends launches to the mma.sync kernel while it lives (resize_sum_conv_launch.h).
struct MmaSyncOnly {
  MmaSyncOnly() { spatial::set_resize_sum_conv_wgmma_allowed(false); }
  ~MmaSyncOnly() { spatial::set_resize_sum_conv_wgmma_allowed(true); }
};

// Every case on the kernel the op picks (the wgmma one on Hopper, where its layout fits: up to
// 32 classes, spans up to 48 columns), then on the mma.sync one.
void run_cases(const std::vector<ConvCase>& cases, uint64_t seed) {
  for (bool mma_sync : {false, true}) {
    std::optional<MmaSyncOnly> only;
    if (mma_sync) only.emplace();
    uint64_t s = seed;
    for (const ConvCase& k : cases) {
      SCOPED_TRACE(std::to_string(k.classes) + " classes, C " + std::to_string(k.c) + (mma_sync ? ", mma.sync" : ""));
      expect_gpu_matches_cpu(make_case(k, s));
      s += 200;
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(GpuResizeSumConv, DecodeHeadShapes) {
  const std::vector<ConvCase> cases = {
      // SegFormer-B0's head (C 256, 19 classes: one n8 tile a warp, 3 of its 8 columns past the
      // classes), 40 pixels of one 64-pixel x tile, stage order as exported.
      {1, 256, 24, 40, {{3, 5}, {6, 10}, {12, 20}, {24, 40}}, 19},
      // B2's (C 768, 150 classes: 5 n8 tiles a warp, the last warp column 22 of 40), batch 2,
      // W 136: a third x tile of 8 pixels.
      {2, 768, 6, 136, {{1, 17}, {2, 34}, {3, 68}, {6, 136}}, 150},
  };
  run_cases(cases, 8100);
}

TEST(GpuResizeSumConv, ConvWidthsAndTypes) {
  const std::vector<ConvCase> cases = {
      {2, 64, 5, 130, {{5, 130}, {3, 65}}, 1, DType::kF16, false},  // one output, fp16 bias and output, no Relu
      {1, 128, 4, 96, {{2, 48}, {4, 96}}, 64},                      // 2 n8 tiles a warp, whole
      {1, 128, 3, 64, {{3, 64}, {2, 32}}, 96, DType::kF16},         // 3, whole
      {1, 192, 3, 70, {{3, 70}, {1, 35}}, 128},                     // 4, whole; 3 chunks
      {1, 64, 2, 128, {{2, 128}, {1, 64}}, 160, DType::kF16},       // 5, whole: every warp column full
      {1, 64, 3, 33, {{3, 33}}, 33},                                // 2 tiles a warp, 31 past the classes
  };
  run_cases(cases, 8500);
}

// The sum inside the fused kernel: no identity, or the identity not last; three banded inputs of
// other coordinate modes and ratios (3x and 6x rows: weights that fp16 rounds; 1 -> 5 columns:
// align_corners), images narrower than a tile and wider than three; a second input at the
// output size (banded: 65 columns a tile); many tiles a block (2 x 150 rows x 5 x tiles = 1500
// tiles of 2 chunks each), so the double buffers turn over.
TEST(GpuResizeSumConv, InputPathsAndManyTiles) {
  const std::vector<ConvCase> cases = {
      {1, 64, 9, 100, {{3, 50}, {9, 100}, {3, 25, true, "align_corners"}, {9, 20, true, "asymmetric"}}, 21},
      {2, 128, 150, 260, {{75, 130, true, "pytorch_half_pixel"}, {150, 260}, {25, 65}}, 40, DType::kF16},
      {1, 64, 7, 150, {{7, 150}, {7, 150, true, "align_corners"}, {1, 5, true, "align_corners"}}, 150, DType::kF32, false},
      {1, 64, 4, 500, {{2, 250}, {1, 125}, {4, 500}}, 19},  // 8 x tiles, the last of 52 pixels
  };
  run_cases(cases, 8900);
}

// The identity given as 64-channel tokens and its projection to C (SegFormer-B2's stage 0 and
// its decode-head GEMM): first or last in input order, with and without Relu, fp16 and fp32
// outputs, ragged x tiles, several tiles a block (the source tokens' buffer turns over by tile).
TEST(GpuResizeSumConv, ProjectedIdentity) {
  const std::vector<ConvCase> cases = {
      {1, 768, 6, 136, {{1, 17}, {2, 34}, {3, 68}, {6, 136}}, 19, DType::kF32, true, 3},  // B2's head, as exported
      {2, 128, 40, 100, {{40, 100}, {20, 50}}, 40, DType::kF16, false, 0},
      {1, 64, 9, 64, {{9, 64}}, 150, DType::kF32, true, 0},
  };
  run_cases(cases, 9300);
}

// Whether the op sends the case to the wgmma kernel (on Hopper): the layouts the CUDA op makes.
bool takes_wgmma(const ConvCase& k) {
  const GpuCase g = make_case(k, 1);
  Node node;
  node.name = "head";
  node.op_type = spatial::kResizeSumConvOp;
  node.domain = kKilnDomain;
  node.attrs = g.attrs;
  std::vector<Dims> dims;
  for (const Tensor& t : g.inputs) dims.push_back(t.dims());
  const spatial::ResizeSumPlan plan = spatial::plan_resize_sum_conv(OpContextBase{node}, dims);
  const auto l = spatial::resize_sum_conv_layout(plan, k.classes, k.proj, k.proj >= 0 ? 64 : 0);
  return l && spatial::resize_sum_conv_wgmma_layout(plan, *l, k.classes) && spatial::resize_sum_conv_wgmma_allowed();
}

// The wgmma kernel's cases (it takes each on Hopper, checked): SegFormer-B0's head and B2's,
// projected or not, 1 to 32 classes, rows and columns of other ratios and modes, ragged x
// tiles, several tiles a block (the stages, weight and token buffers turn over); B2's at 32
// classes has every column of the accumulator in use. (DecodeHeadShapes' first case and
// ProjectedIdentity's first run on it too.)
TEST(GpuResizeSumConv, WgmmaShapes) {
  ASSERT_EQ(spatial::resize_sum_conv_wgmma_allowed(), cuda_hopper());
  const std::vector<ConvCase> cases = {
      {2, 256, 16, 16, {{2, 2}, {4, 4}, {8, 8}, {16, 16}}, 19},                                // B0's head at 64²/4
      {1, 768, 6, 136, {{1, 17}, {2, 34}, {3, 68}, {6, 136}}, 32, DType::kF32, true, 3},       // B2's, projected
      {2, 192, 9, 200, {{2, 25}, {3, 50}, {5, 100}, {9, 200}}, 1, DType::kF16, false},        // rows 4.5x, 3x, 1.8x
      {2, 128, 36, 44, {{9, 11}, {14, 18}, {18, 22}, {36, 44}}, 19, DType::kF32, true},      // the wider pattern, ragged tiles
      {1, 768, 20, 70, {{3, 9, true, "align_corners"}, {5, 18, true, "align_corners"}, {10, 35}, {20, 70}}, 24,
       DType::kF16, true, 3},
  };
  for (const ConvCase& k : cases) EXPECT_EQ(takes_wgmma(k), cuda_hopper()) << k.c << " channels, " << k.classes << " classes";
  run_cases(cases, 9700);
}

TEST(GpuResizeSumConv, RefusesWhatTheKernelLacks) {
  expect_gpu_unsupported(make_case({1, 40, 4, 8, {{4, 8}}, 19}, 1), "no CUDA kernel");     // channels not whole chunks
  expect_gpu_unsupported(make_case({1, 64, 4, 8, {{4, 8}}, 161}, 2), "no CUDA kernel");    // 161 outputs
  expect_gpu_unsupported(make_case({1, 64, 4, 8, {{4, 8}}, 19}, 3, DType::kF32), "no CUDA kernel");  // float32
  expect_gpu_unsupported(make_case({1, 64, 4, 8, {{2, 4, false}}, 19}, 4), "no CUDA kernel");       // NCHW
  expect_gpu_unsupported(make_case({1, 64, 4, 8, {{4, 40}}, 19}, 5), "no CUDA kernel");             // downsampled
}

// The reference SegFormers in fp16 (as `kiln build --fp16` converts them), the decode head's
// ResizeSum + classifier fused against the same graph without the pass, both on the GPU: only
// the conv's summation order and the sum's rounding path differ.
Tensor run_gpu(const Graph& g, const TensorMap& feeds) {
  CudaExecutor exec(g);
  exec.run(feeds);
  return exec.run(feeds).at("logits");  // the planned arena
}

void check_model(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(test_dir()) / "models" / name;
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  const auto& late = after_fp16_pass_names();
  PassReport r = run_passes(g, std::set<std::string>(late.begin(), late.end()));
  const Tensor cpu = CpuExecutor(g).run(feeds).at("logits");  // fp32
  convert_to_fp16(g);
  Graph plain = g;
  for (const std::string& p : late)
    if (p != "fuse_resize_sum_conv") run_pass(plain, p, r, false);
  run_pass(g, "fuse_resize_sum_conv", r, false);
  ASSERT_EQ(r.fused.at("fuse_resize_sum_conv"), 1) << name;
  for (const std::string& p : late)
    if (p != "fuse_resize_sum_conv") run_pass(g, p, r, false);
  const Tensor fused = run_gpu(g, feeds), unfused = run_gpu(plain, feeds);
  const double d = test::compare_to_golden(fused, unfused).rel_l2, e = test::compare_to_golden(fused, cpu).rel_l2;
  std::printf("%s fp16: fused vs unfused rel L2 %.3g, fused vs fp32 CPU %.3g\n", name.c_str(), d, e);
  EXPECT_LE(d, 2e-3) << name << " fp16, fused vs unfused on the GPU";
  EXPECT_LE(e, 1e-2) << name << " fp16 against fp32 (the fp16 model tests' bound)";
}

TEST(GpuResizeSumConv, SegformerB0) { check_model("segformer_b0"); }

// SegFormer-B2's decode head at 1024² (fp16 tokens, C = 768, fp32 logits) with 19 classes (the
// benchmark's Cityscapes head; also with stage 0 as its 64-channel tokens and their projection)
// and 150 (ADE20K's), batch 1 and 8, for the lead's benchmark runs (--gtest_also_run_disabled_tests
// --gtest_filter=*ResizeSumConvBench*): the median of 60 node-by-node runs and the rate of the
// bytes the op must move (inputs once, W once, logits once) against 3.0 TB/s; then the output
// against the CPU reference.
TEST(GpuResizeSumConv, DISABLED_ResizeSumConvBench) {
  constexpr double kCopyRate = 3.0e12;
  struct Config {
    int64_t classes;
    int proj;  // 3: stage 0 as its 64-channel tokens and the projection to 768
  };
  for (bool mma_sync : {false, true})
  for (const Config& cf : {Config{19, -1}, Config{19, 3}, Config{150, -1}})
    for (int64_t batch : {1, 8}) {
      if (mma_sync && cf.classes > spatial::kRscWgmmaMaxClasses) continue;  // ran on it already
      // KILN_RSC_BENCH=b8p (batch, p for projected): that case alone, for a profiler.
      const char* only_case = std::getenv("KILN_RSC_BENCH");
      const std::string name = "b" + std::to_string(batch) + (cf.proj >= 0 ? "p" : "") + (cf.classes > 32 ? "k" : "");
      if (only_case && name != only_case) continue;
      std::optional<MmaSyncOnly> only;
      if (mma_sync) only.emplace();
      const int64_t c = 768, k = cf.classes;
      const ConvCase cc{batch, c, 256, 256, {{32, 32}, {64, 64}, {128, 128}, {256, 256}}, k, DType::kF32, true, cf.proj};
      GpuCase gc = make_case(cc, 1);
      Graph g = one_node_graph(gc);
      CudaExecutor gpu(g);
      TensorMap host;
      DeviceTensorMap in;
      double bytes = 4.0 * double(batch * k * 256 * 256) + 2.0 * double(k * c);
      for (size_t i = 0; i < cc.in.size(); ++i) {
        const std::string name = "in" + std::to_string(i);
        host[name] = gc.inputs[i];
        in[name] = to_device(gc.inputs[i], gpu.session().stream());
        bytes += 2.0 * double(gc.inputs[i].numel());
      }
      gpu.profile(in);
      std::vector<float> ms;
      for (int rep = 0; rep < 60; ++rep) ms.push_back(gpu.profile(in).at(0).ms);
      std::sort(ms.begin(), ms.end());
      const float med = ms[ms.size() / 2];
      const double rate = bytes / (med * 1e-3);
      const bool wgmma = !mma_sync && k <= spatial::kRscWgmmaMaxClasses && spatial::resize_sum_conv_wgmma_allowed();
      std::printf("ResizeSumConv B2 head b%lld C=%lld K=%lld%s %s 256x256 fp16->fp32  median %8.4f ms (min %.4f, max %.4f)  "
                  "%6.1f MB  %7.0f GB/s  %3.0f%% of 3.0 TB/s\n",
                  static_cast<long long>(batch), static_cast<long long>(c), static_cast<long long>(k),
                  cf.proj >= 0 ? " projected" : "", wgmma ? "wgmma" : "mma.sync", med, ms.front(), ms.back(), bytes / 1e6, rate / 1e9,
                  100 * rate / kCopyRate);
      const Tensor got = gpu.run(host).at("out0");
      const Tensor want = CpuExecutor(g).run(host).at("out0");
      test::expect_close(got, test::to_doubles(want), 2e-3, 2e-3);
    }
}

}  // namespace
}  // namespace kiln::gpu_test
