// fuse_mask_position_embedding three ways: it fires on AnchorDETR's mask → sine position
// embedding as exported (built here for both axes, any temperature, and anchor_detr_tiny's two),
// the fused graph computes what the unfused one does (CPU reference; whole padded rows and
// columns give NaN in both), and it leaves alone what computes something else (no normalizing
// Div, another CumSum or Gather axis, a reverse or exclusive CumSum, cos before sin, another
// Gather index, a shared intermediate). Also: the node survives the engine file, and an fp16
// engine keeps it float32 behind a Cast.
#include <gtest/gtest.h>

#include <cmath>

#include "anchor_detr_tiny_check.h"
#include "fusion_test_util.h"
#include "onnx/importer.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

struct Embed {
  int64_t B = 2, H = 7, W = 11, K = 16;
  double temperature = 10000.0;
  int64_t gather_axis = 2;  // 2: the first column, positions down the rows; 1: along the columns
  int64_t gather_index = 0;
  int64_t cumsum_axis = 1;
  bool normalize = true;    // Div by the last count
  bool cos_first = false;
  int64_t reverse = 0, exclusive = 0;
  bool also_output = false;  // the normalized positions are a graph output too
  bool slice_axes = true;    // the normalizer's Slice names its axis (without: axis 0)
};

Tensor f32_scalar(float v) { return Tensor::from_vector<float>({}, {v}); }
Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

// The exporter's mask_to_positions + sine_embed (tools/export/anchor_detr.py) for one axis.
std::string build(const Embed& s) {
  test::ModelBuilder b(17);
  b.input("mask", DType::kBool, {s.B, s.H, s.W});
  std::vector<float> div;
  for (int64_t k = 0; k < s.K; ++k) div.push_back(float(std::pow(s.temperature, double(2 * k) / double(2 * s.K))));
  b.initializer("index", Tensor::from_vector<int64_t>({}, {s.gather_index}));
  b.initializer("cum_axis", Tensor::from_vector<int32_t>({}, {int32_t(s.cumsum_axis)}));
  b.initializer("half", f32_scalar(0.5f));
  b.initializer("two_pi", f32_scalar(float(2 * M_PI)));
  b.initializer("divisors", Tensor::from_vector<float>({s.K}, div));
  b.initializer("minus1", i64({-1}));
  b.initializer("big", i64({INT64_MAX}));
  b.initializer("one", i64({1}));
  b.initializer("last", i64({-1}));
  const int64_t n = s.gather_axis == 2 ? s.H : s.W;
  b.initializer("shape", i64({s.B, n, 2 * s.K}));
  b.node("Not", {"mask"}, {"valid_b"});
  test::set_int_attr(b.node("Cast", {"valid_b"}, {"valid"}), "to", 1);
  test::set_int_attr(b.node("Gather", {"valid", "index"}, {"c0"}), "axis", s.gather_axis);
  auto& cs = b.node("CumSum", {"c0", "cum_axis"}, {"c"});
  if (s.reverse) test::set_int_attr(cs, "reverse", 1);
  if (s.exclusive) test::set_int_attr(cs, "exclusive", 1);
  b.node("Sub", {"c", "half"}, {"centered"});
  if (s.slice_axes) b.node("Slice", {"c", "minus1", "big", "one", "one"}, {"total"});
  else b.node("Slice", {"c", "minus1", "big"}, {"total"});
  if (s.normalize) b.node("Div", {"centered", "total"}, {"norm"});
  else b.node("Add", {"centered", "total"}, {"norm"});  // keeps the Slice read: only the Div differs
  b.node("Mul", {"norm", "two_pi"}, {"p"});
  b.node("Unsqueeze", {"p", "last"}, {"p3"});
  b.node("Div", {"p3", "divisors"}, {"a"});
  b.node("Sin", {"a"}, {"sin"});
  b.node("Cos", {"a"}, {"cos"});
  b.node("Unsqueeze", {"sin", "last"}, {"sin4"});
  b.node("Unsqueeze", {"cos", "last"}, {"cos4"});
  if (s.cos_first) test::set_int_attr(b.node("Concat", {"cos4", "sin4"}, {"pairs"}), "axis", -1);
  else test::set_int_attr(b.node("Concat", {"sin4", "cos4"}, {"pairs"}), "axis", -1);
  b.node("Reshape", {"pairs", "shape"}, {"y"});
  b.output("y", DType::kF32);
  if (s.also_output) b.output("norm", DType::kF32);
  return b.bytes();
}

// A padded mask: item b valid on its top-left (H − b − 1) × (W − 2b − 1) (item 0 one row and
// column of padding), and, when `whole` is set, the last item wholly padding (division by zero).
TensorMap feeds_for(const Embed& s, bool whole = false) {
  Tensor m(DType::kBool, {s.B, s.H, s.W});
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t y = 0; y < s.H; ++y)
      for (int64_t x = 0; x < s.W; ++x)
        m.data<bool>()[(b * s.H + y) * s.W + x] = (whole && b == s.B - 1) || y >= s.H - b - 1 || x >= s.W - 2 * b - 1;
  return {{"mask", m}};
}

struct Outcome {
  int fired = 0;
  Graph g;
};

// The whole pipeline with and without the pass: outputs within one float32 ulp of 1 (the
// arithmetic is the same float32 steps; sin and cos may come from libm's float or double
// functions), NaN where the other has NaN.
Outcome run(const Embed& s, bool whole = false) {
  const std::string bytes = build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_mask_position_embedding"});
  const PassReport r = run_passes(g);
  test::expect_same_outputs(plain, g, feeds_for(s, whole), 0x1p-23, 0);
  return {r.fused.at("fuse_mask_position_embedding"), std::move(g)};
}

TEST(FuseMaskPositionEmbedding, ReplacesTheChain) {
  for (int64_t gather_axis : {int64_t(2), int64_t(1)}) {
    Embed s;
    s.gather_axis = gather_axis;
    SCOPED_TRACE(gather_axis);
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 1);
    ASSERT_EQ(o.g.nodes.size(), 1u);
    const Node& n = o.g.nodes[0];
    EXPECT_EQ(n.op_type, "MaskPositionEmbedding");
    EXPECT_EQ(n.domain, "kiln");
    EXPECT_EQ(n.inputs, std::vector<std::string>{"mask"});
    EXPECT_EQ(n.attrs.get_int("axis"), gather_axis == 2 ? 1 : 2);
    EXPECT_EQ(n.attrs.get_float("offset"), 0.5f);
    EXPECT_EQ(n.attrs.get_float("scale"), float(2 * M_PI));
    EXPECT_EQ(n.attrs.get_floats("divisors").size(), 16u);
  }
}

// The temperature's powers travel as they are: another temperature fuses and computes its own.
TEST(FuseMaskPositionEmbedding, AnyTemperatureAndSize) {
  for (auto [t, k, h, w] : {std::tuple<double, int64_t, int64_t, int64_t>{20.0, 3, 5, 9}, {1e4, 64, 1, 1}, {128.0, 1, 13, 2}}) {
    Embed s;
    s.temperature = t, s.K = k, s.H = h, s.W = w, s.B = 1;
    SCOPED_TRACE(t);
    EXPECT_EQ(run(s).fired, 1);
  }
}

TEST(FuseMaskPositionEmbedding, WhollyPaddedItemIsNanInBoth) {
  Embed s;
  s.B = 3;
  Outcome o = run(s, true);
  ASSERT_EQ(o.fired, 1);
  const Tensor y = CpuExecutor(o.g).run(feeds_for(s, true)).at("y");
  EXPECT_TRUE(std::isnan(y.data<float>()[y.numel() - 1]));
}

TEST(FuseMaskPositionEmbedding, RefusesOtherComputations) {
  auto expect_refused = [](const Embed& s, const char* what) {
    SCOPED_TRACE(what);
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 0);
    EXPECT_EQ(test::count_op(o.g, "kiln.MaskPositionEmbedding"), 0);
  };
  Embed s;
  s.normalize = false;
  expect_refused(s, "no normalizing Div");
  s = Embed{};
  s.cumsum_axis = 0;
  expect_refused(s, "CumSum across the batch");
  s = Embed{};
  s.reverse = 1;
  expect_refused(s, "reverse CumSum");
  s = Embed{};
  s.exclusive = 1;
  expect_refused(s, "exclusive CumSum");
  s = Embed{};
  s.cos_first = true;
  expect_refused(s, "cos before sin");
  s = Embed{};
  s.gather_index = 1;
  expect_refused(s, "the second column");
  s = Embed{};
  s.gather_axis = 0;
  s.B = 7;  // Gather along the batch: [H, W], positions along W from item 0
  expect_refused(s, "Gather along the batch axis");
  s = Embed{};
  s.also_output = true;
  expect_refused(s, "the positions are a graph output too");
  s = Embed{};
  s.slice_axes = false;
  expect_refused(s, "a Slice without axes cuts axis 0, not the count");
}

TEST(FuseMaskPositionEmbedding, DisablePassKeepsTheChain) {
  Graph g = import_onnx_bytes(build(Embed{}), ".", "m.onnx");
  EXPECT_EQ(run_passes(g, {"fuse_mask_position_embedding"}).fused.at("fuse_mask_position_embedding"), 0);
  EXPECT_EQ(test::count_op(g, "kiln.MaskPositionEmbedding"), 0);
}

TEST(FuseMaskPositionEmbedding, SurvivesTheEngineFile) {
  Outcome o = run(Embed{});
  Engine e = engine_from_bytes(engine_to_bytes(o.g, {"cpu", ""}), "engine file m.kiln");
  EXPECT_EQ(test::count_op(e.graph, "kiln.MaskPositionEmbedding"), 1);
  const TensorMap feeds = feeds_for(Embed{});
  EXPECT_TRUE(CpuExecutor(e.graph).run(feeds).at("y").same_bytes(CpuExecutor(o.g).run(feeds).at("y")));
}

// The op writes float32 (its input is a bool mask): an fp16 engine keeps it and casts after it.
TEST(FuseMaskPositionEmbedding, Fp16EngineKeepsItFloat32) {
  Graph g = import_onnx_bytes(build(Embed{}), ".", "m.onnx");
  run_passes(g);
  const Tensor want = CpuExecutor(g).run(feeds_for(Embed{})).at("y");
  convert_to_fp16(g);
  EXPECT_EQ(test::count_op(g, "kiln.MaskPositionEmbedding"), 1);
  EXPECT_TRUE(CpuExecutor(g).run(feeds_for(Embed{})).at("y").same_bytes(want));
}

// anchor_detr_tiny: the row and column embeddings (pos_x, pos_y); Not, Cast, the Gathers,
// CumSums, Slices, Subs, Divs, Muls, Unsqueezes, Sin/Cos, Concats and Reshapes of both go. Bit
// for bit against the unfused graph up to sin/cos rounding, through the MLPs that follow.
TEST(FuseMaskPositionEmbedding, AnchorDetrTiny) {
  test::expect_pass_keeps_anchor_detr_tiny({"fuse_mask_position_embedding"}, 1e-6, [](const Graph& plain, const Graph& g, const PassReport& r) {
    EXPECT_EQ(r.fused.at("fuse_mask_position_embedding"), 2);
    EXPECT_EQ(test::count_op(g, "kiln.MaskPositionEmbedding"), 2);
    EXPECT_EQ(test::count_op(g, "CumSum"), 0);
    EXPECT_EQ(test::count_op(plain, "CumSum"), 2);
    EXPECT_EQ(test::count_op(g, "Concat"), test::count_op(plain, "Concat") - 2);
  });
}

}  // namespace
}  // namespace kiln
