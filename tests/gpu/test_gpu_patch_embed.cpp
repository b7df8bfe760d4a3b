// PatchEmbedTokens' CUDA kernels against the CPU reference (double sums of the same operands:
// float32 x under fp16 W rounded to fp16 first on both sides), and the reference SegFormers with
// fuse_patch_embed_tokens on the GPU. Tensor-core kernel (fp16 W): C 1/3/4, Co 24/32/64/96/128,
// 7x7 stride 4 pad 3 and 3x3 stride 2 pad 1, dilation 2, asymmetric pads, H and W off the 4x32
// tile, 1-3 images, no bias, float32 or float16 x and y (fp32 x + fp16 W + fp32 bias: what fp16
// engines run); widths of whole 16-byte rows, which Hopper stages by TMA, and others, which the
// warps stage. Direct kernel: fp32 W, and Co 130 (past the tensor-core kernel). Cases run three
// times on one executor: first run, planned arena, CUDA Graph replay. The LayerNorm epilogue
// (fuse_patch_embed_layer_norm) on both kernels, and on segformer_b0.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "../model/model_compare.h"
#include "fused_model_check.h"
#include "gpu_compare.h"
#include "onnx/importer.h"
#include "ops/op.h"
#include "passes/convert_precision.h"
#include "passes/pattern.h"
#include "passes/pipeline.h"
#include "runtime/cuda/cuda_executor.h"

namespace kiln::gpu_test {
namespace {

struct EmbedCase {
  int64_t b = 1, c = 3, h = 17, w = 23, co = 64;
  int64_t k = 7, s = 4;
  std::vector<int64_t> pads = {3, 3, 3, 3}, dilations = {1, 1};
  bool bias = true;
  bool norm = false;  // the LayerNorm epilogue: Scale and LB of Y's type, epsilon 1e-6
};

// x, w, bias, y types: W's is the compute type.
struct Types {
  const char* name;
  DType x, w, bias;
};
const Types kF32 = {"f32", DType::kF32, DType::kF32, DType::kF32};
const Types kF16 = {"f16", DType::kF16, DType::kF16, DType::kF16};
const Types kF32InF16Out = {"f32 x, f16 y", DType::kF32, DType::kF16, DType::kF16};
const Types kF32InF32Out = {"f32 x, f16 W, f32 bias and y", DType::kF32, DType::kF16, DType::kF32};
const Types kF16InF32Out = {"f16 x, f32 bias and y", DType::kF16, DType::kF16, DType::kF32};

GpuCase make_case(const EmbedCase& e, const Types& t, uint64_t seed) {
  GpuCase g{"PatchEmbedTokens", {random_tensor(t.x, {e.b, e.c, e.h, e.w}, seed),
                                 random_tensor(t.w, {e.k * e.k * e.c, e.co}, seed + 1)}, {1}};
  if (e.bias) {
    g.inputs.push_back(random_tensor(t.bias, {e.co}, seed + 2));
    g.constant_inputs.push_back(2);
  }
  if (e.norm) {
    const DType y = e.bias ? t.bias : t.w;
    if (!e.bias) g.inputs.push_back(Tensor());
    g.inputs.push_back(random_tensor(y, {e.co}, seed + 3));
    g.inputs.push_back(random_tensor(y, {e.co}, seed + 4));
    g.constant_inputs.insert(g.constant_inputs.end(), {3, 4});
    g.attrs.set("epsilon", 1e-6f);
  }
  g.domain = kKilnDomain;
  g.attrs.set("kernel_shape", std::vector<int64_t>{e.k, e.k});
  g.attrs.set("strides", std::vector<int64_t>{e.s, e.s});
  g.attrs.set("dilations", e.dilations);
  g.attrs.set("pads", e.pads);
  g.seed = seed;
  g.gpu_runs = 3;
  if (t.w == DType::kF16) f16_tolerance(g);  // fp16 y rounds once; fp32 y only differs in sum order
  // With the norm, fp16 y rounds twice: the conv's value v, whose fp32 sum (double on the CPU)
  // may round to the neighbouring fp16 number, moving y by one ulp of v times rsqrt(var)·|Scale|
  // (~2e-3 at |v| ~ 10), then y itself.
  if (e.norm && (e.bias ? t.bias : t.w) == DType::kF16) f16_tolerance(g, 4e-3, 2e-3);
  return g;
}

std::string describe(const EmbedCase& e, const Types& t) {
  char s[160];
  std::snprintf(s, sizeof s, "%s b%lld c%lld %lldx%lld co%lld k%lld s%lld%s", t.name, static_cast<long long>(e.b),
                static_cast<long long>(e.c), static_cast<long long>(e.h), static_cast<long long>(e.w),
                static_cast<long long>(e.co), static_cast<long long>(e.k), static_cast<long long>(e.s),
                e.bias ? "" : " no bias");
  if (e.norm) std::snprintf(s + std::strlen(s), sizeof s - std::strlen(s), " + LayerNorm");
  return s;
}

void run_cases(const std::vector<EmbedCase>& cases, const std::vector<Types>& types, uint64_t seed) {
  for (const Types& t : types)
    for (const EmbedCase& e : cases) {
      SCOPED_TRACE(describe(e, t));
      expect_gpu_matches_cpu(make_case(e, t, seed));
      seed += 3;
      if (::testing::Test::HasFatalFailure()) return;
    }
}

const std::vector<EmbedCase> kShapes = {
    {},                                                  // SegFormer's first embedding, shrunk
    {2, 3, 70, 101, 32},                                 // ragged tiles both ways, batch 2
    {3, 1, 33, 31, 24, 3, 2, {1, 1, 1, 1}},              // one channel, Co 24 (not a multiple of 32)
    {1, 4, 45, 130, 64, 3, 2, {1, 1, 1, 1}},             // four channels, 3x3 stride 2
    {2, 3, 9, 9, 128, 7, 4},                             // Co 128, one partial tile
    {1, 3, 21, 19, 96, 7, 4, {3, 3, 3, 3}, {1, 1}, false},  // Co 96, no bias
    {1, 2, 19, 40, 48, 3, 1, {2, 1, 0, 2}, {2, 2}},     // dilation 2, asymmetric pads, stride 1
    {1, 3, 1, 1, 32, 7, 4},                              // one pixel
    // Rows of whole 16-byte units (W a multiple of 8): Hopper stages these by TMA boxes.
    {2, 3, 68, 96, 64},                                  // SegFormer's geometry, ragged bottom tiles
    {1, 4, 45, 128, 64, 3, 2, {1, 1, 1, 1}},             // 3x3 stride 2
    {3, 1, 33, 32, 24, 3, 2, {1, 1, 1, 1}},              // one channel, Co 24
};

TEST(GpuPatchEmbedTokens, TensorCores) { run_cases(kShapes, {kF16, kF32InF16Out, kF32InF32Out, kF16InF32Out}, 7100); }

TEST(GpuPatchEmbedTokens, Direct) {
  run_cases(kShapes, {kF32}, 7200);
  run_cases({{1, 3, 20, 22, 130}, {2, 4, 13, 11, 200, 3, 2, {1, 1, 1, 1}}}, {kF16, kF32InF32Out, kF32}, 7300);  // Co > 128
}

// The LayerNorm epilogue (fuse_patch_embed_layer_norm) on both kernels: in the tensor-core
// kernel's registers (Co 64 and 24, whose padded columns stay out of the statistics; no conv
// bias), and after the direct kernel by LayerNormalization's (fp32 W; Co 130).
std::vector<EmbedCase> normed(std::vector<EmbedCase> cases) {
  for (EmbedCase& e : cases) e.norm = true;
  return cases;
}
const std::vector<EmbedCase> kNormShapes = normed({
    {},
    {2, 3, 70, 101, 64},
    {3, 1, 33, 31, 24, 3, 2, {1, 1, 1, 1}},
    {1, 3, 21, 19, 96, 7, 4, {3, 3, 3, 3}, {1, 1}, false},
    {2, 3, 68, 96, 64},  // TMA staging on Hopper
});
TEST(GpuPatchEmbedTokens, LayerNormEpilogue) {
  run_cases(kNormShapes, {kF16, kF32InF16Out, kF32InF32Out, kF16InF32Out}, 7400);
  run_cases(kNormShapes, {kF32}, 7500);
  run_cases(normed({{1, 3, 20, 22, 130}}), {kF16, kF32InF32Out}, 7600);
}

// The reference SegFormers' picture embedding, against the CPU reference and the graph without
// the pass on the GPU; fp32 and fp16 engines.
TEST(GpuPatchEmbedTokens, SegformerTiny) { expect_fusion_on_gpu("segformer_tiny", "fuse_patch_embed_tokens", 1, {"logits"}); }
TEST(GpuPatchEmbedTokens, SegformerB0) { expect_fusion_on_gpu("segformer_b0", "fuse_patch_embed_tokens", 1, {"logits"}); }
TEST(GpuPatchEmbedTokens, SegformerB0Norm) { expect_fusion_on_gpu("segformer_b0", "fuse_patch_embed_layer_norm", 1, {"logits"}); }

// segformer_tiny as `kiln build --fp16` makes it: the fused node reads the float32 picture (no
// Cast) and the logits stay within fp16 precision of the PyTorch goldens.
TEST(GpuPatchEmbedTokens, SegformerTinyFp16AgainstGoldens) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(test_dir()) / "models" / "segformer_tiny";
  ImportOptions import;
  const TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  ASSERT_EQ(run_passes(g).fused.at("fuse_patch_embed_tokens"), 1);
  convert_to_fp16(g);
  const GraphIndex idx(g);
  for (const Node& n : g.nodes)
    if (is_kiln_op(&n, "PatchEmbedTokens")) {
      EXPECT_EQ(n.inputs[0], g.inputs[0]);
      EXPECT_EQ(g.value(n.inputs[1]).type.dtype, DType::kF16);
    }
  CudaExecutor exec(g);
  exec.run(feeds);
  const TensorMap got = exec.run(feeds);
  EXPECT_GT(test::expect_goldens(dir, "segformer_tiny", got, {1e-2, 0.99, "model ", " fp16 fused patch embed", ""}), 0);
}

// The first image of x, and the tokens of y's first image.
Tensor first_image(const Tensor& t) {
  Dims d = t.dims();
  d[0] = 1;
  Tensor one(t.dtype(), d);
  std::memcpy(one.raw(), t.raw(), one.nbytes());
  return one;
}

// SegFormer-B2's stage-0 embedding at 1024x1024 (X [b, 3, 1024, 1024], W [147, 64]) at batch 1
// and 8, for the lead's benchmark runs: --gtest_also_run_disabled_tests
// --gtest_filter=*PatchEmbedBench*. Three forms: what fp16 engines run (fp32 x, fp32 y: the
// stream start stays fp32), fp32 x with fp16 y, and fp16 throughout. The first image is checked
// against the CPU reference, then the node is timed 30 times after 3 warm-ups (CUDA events around
// it). Prints the median, the best, and the median's share of 3.0 TB/s for X read + Y written once.
TEST(GpuPatchEmbedTokens, DISABLED_PatchEmbedBench) {
  uint64_t seed = 1;
  for (const Types& t : {kF32InF32Out, kF32InF16Out, kF16})
    for (int64_t batch : {int64_t(1), int64_t(8)}) {
      const EmbedCase e{batch, 3, 1024, 1024, 64};
      GpuCase c = make_case(e, t, seed++);
      Graph g = one_node_graph(c);
      const TensorMap feeds = {{"in0", c.inputs[0]}};
      CudaExecutor gpu(g);
      const Tensor got = gpu.run(feeds).at("out0");
      {
        GpuCase one = c;
        one.inputs[0] = first_image(c.inputs[0]);
        const Tensor want = CpuExecutor(one_node_graph(one)).run({{"in0", one.inputs[0]}}).at("out0");
        test::expect_close(first_image(got), test::to_doubles(want), c.atol, c.rtol);
      }
      DeviceTensorMap in = gpu.input_slots({{"in0", c.inputs[0].dims()}});
      std::vector<float> ms;
      for (int rep = 0; rep < 33; ++rep) {
        const float ti = gpu.profile(in).at(0).ms;
        if (rep >= 3) ms.push_back(ti);
      }
      std::sort(ms.begin(), ms.end());
      const float median = ms[ms.size() / 2];
      const double bytes = double(c.inputs[0].nbytes() + got.nbytes());
      const double floor_ms = bytes / 3.0e12 * 1e3;
      std::printf("patch_embed %-30s b%lld: %7.1f MB median %8.4f ms (best %8.4f) floor %7.4f ms: %5.1f%% of 3.0 TB/s\n",
                  t.name, static_cast<long long>(batch), bytes / 1e6, median, ms.front(), floor_ms,
                  100.0 * floor_ms / median);
    }
}

}  // namespace
}  // namespace kiln::gpu_test
