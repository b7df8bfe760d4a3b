// fuse_head_scores three ways: it fires on RCDA's score product as exported — Q and K split into
// heads by Reshape + Transpose, Q times the scale, K transposed, MatMul (built here, and
// anchor_detr_tiny's six) — the fused graph computes what the unfused one does (CPU reference:
// one rounding of Q·scale apart, none for a power-of-two scale), and it leaves alone what
// computes something else (a per-channel or non-constant scale, batch broadcasting, another
// head-split perm, a split read elsewhere, float64). Also: the node survives the engine file and
// an fp16 engine runs it in fp16.
#include <gtest/gtest.h>

#include "../model/model_compare.h"
#include "anchor_detr_tiny_check.h"
#include "fusion_test_util.h"
#include "onnx/importer.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

struct Scores {
  int64_t B = 2, L = 9, J = 7, N = 3, D = 8, kB = -1;  // kB: K's batch when it differs (broadcast)
  DType dt = DType::kF32;
  float scale = 0.25f;
  bool with_mul = true, scale_left = false;
  bool per_channel_scale = false;  // Mul by a [D] constant
  bool scale_input = false;        // Mul by a graph input
  std::vector<int64_t> q_perm = {0, 2, 1, 3};
  bool split_is_output = false;  // Q's transposed split is a graph output too
};

Tensor filled(DType dt, Dims dims, float v) {
  Tensor t(dt, dims);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dt == DType::kF16) t.data<f16>()[i].bits = float_to_f16(v);
    else if (dt == DType::kF64) t.data<double>()[i] = v;
    else t.data<float>()[i] = v;
  }
  return t;
}

std::string build(const Scores& s) {
  test::ModelBuilder b(17);
  const int64_t kb = s.kB < 0 ? s.B : s.kB;
  b.input("xq", s.dt, {s.B, s.L, s.N * s.D});
  b.input("xk", s.dt, {kb, s.J, s.N * s.D});
  b.initializer("q_shape", Tensor::from_vector<int64_t>({4}, {s.B, s.L, s.N, s.D}));
  b.initializer("k_shape", Tensor::from_vector<int64_t>({4}, {kb, s.J, s.N, s.D}));
  b.node("Reshape", {"xq", "q_shape"}, {"q4"});
  b.node("Reshape", {"xk", "k_shape"}, {"k4"});
  test::set_ints_attr(b.node("Transpose", {"q4"}, {"qh"}), "perm", s.q_perm);
  test::set_ints_attr(b.node("Transpose", {"k4"}, {"kh"}), "perm", {0, 2, 1, 3});
  test::set_ints_attr(b.node("Transpose", {"kh"}, {"kt"}), "perm", {0, 1, 3, 2});
  std::string q = "qh";
  if (s.with_mul) {
    if (s.scale_input) b.input("scale", s.dt, {});
    else b.initializer("scale", filled(s.dt, s.per_channel_scale ? Dims{s.D} : Dims{}, s.scale));
    if (s.scale_left) b.node("Mul", {"scale", "qh"}, {"qs"});
    else b.node("Mul", {"qh", "scale"}, {"qs"});
    q = "qs";
  }
  b.node("MatMul", {q, "kt"}, {"s"});
  b.output("s", s.dt);
  if (s.split_is_output) b.output("qh", s.dt);
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  Graph g;
};

// Inputs in [-1, 1): fp32 sums of D ≤ 16 products within 1e-6 of each other whatever the order.
Outcome run(const Scores& s, double tol = 1e-6) {
  const std::string bytes = build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_head_scores"});
  const PassReport r = run_passes(g);
  TensorMap feeds = test::random_feeds(plain, 11, -1, 1);
  test::expect_same_outputs(plain, g, feeds, tol, tol);
  return {r.fused.at("fuse_head_scores"), std::move(g)};
}

TEST(FuseHeadScores, ReplacesSplitsScaleAndProduct) {
  Outcome o = run(Scores{});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(test::count_op(o.g, "Transpose"), 0);
  EXPECT_EQ(test::count_op(o.g, "Mul"), 0);
  EXPECT_EQ(test::count_op(o.g, "MatMul"), 0);
  ASSERT_EQ(test::count_op(o.g, "kiln.HeadScores"), 1);
  for (const Node& n : o.g.nodes)
    if (n.op_type == "HeadScores") {
      EXPECT_EQ(n.attrs.get_float("scale"), 0.25f);
      EXPECT_EQ(n.outputs, std::vector<std::string>{"s"});
    }
}

TEST(FuseHeadScores, ScaleForms) {
  Scores s;
  s.scale_left = true;
  EXPECT_EQ(run(s).fired, 1);
  s = Scores{};
  s.with_mul = false;  // scale 1
  EXPECT_EQ(run(s).fired, 1);
  s = Scores{};
  s.scale = 0.17677669f;  // 1/√32: the graph rounds Q·s once, the node does not
  s.D = 16;
  EXPECT_EQ(run(s, 2e-6).fired, 1);
  s = Scores{};
  s.B = 1, s.L = 2, s.J = 3, s.N = 2, s.D = 3;  // small: with L, N or D of 1 a split moves no data (eliminate_noops makes it a Reshape)
  EXPECT_EQ(run(s).fired, 1);
}

TEST(FuseHeadScores, HalfPrecision) {
  Scores s;
  s.dt = DType::kF16;
  Outcome o = run(s, 2e-3);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.g.value("s").type.dtype, DType::kF16);
}

TEST(FuseHeadScores, RefusesOtherComputations) {
  auto expect_refused = [](const Scores& s, const char* what) {
    SCOPED_TRACE(what);
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 0);
    EXPECT_EQ(test::count_op(o.g, "kiln.HeadScores"), 0);
    EXPECT_EQ(test::count_op(o.g, "MatMul"), 1);
  };
  Scores s;
  s.per_channel_scale = true;
  expect_refused(s, "a scale per channel");
  s = Scores{};
  s.scale_input = true;
  expect_refused(s, "a scale computed at run time");
  s = Scores{};
  s.kB = 1;
  expect_refused(s, "K shared by the batch (MatMul broadcasting)");
  s = Scores{};
  s.q_perm = {2, 0, 1, 3};
  s.B = 3, s.N = 3;  // [N, B, L, D]: heads and batch swapped
  expect_refused(s, "another head-split perm");
  s = Scores{};
  s.split_is_output = true;
  expect_refused(s, "the split Q is a graph output too");
  s = Scores{};
  s.dt = DType::kF64;
  expect_refused(s, "float64");
}

TEST(FuseHeadScores, DisablePassKeepsTheProduct) {
  Graph g = import_onnx_bytes(build(Scores{}), ".", "m.onnx");
  EXPECT_EQ(run_passes(g, {"fuse_head_scores"}).fused.at("fuse_head_scores"), 0);
  EXPECT_EQ(test::count_op(g, "MatMul"), 1);
}

TEST(FuseHeadScores, SurvivesTheEngineFile) {
  Outcome o = run(Scores{});
  Engine e = engine_from_bytes(engine_to_bytes(o.g, {"cpu", ""}), "engine file m.kiln");
  EXPECT_EQ(test::count_op(e.graph, "kiln.HeadScores"), 1);
  const TensorMap feeds = test::random_feeds(o.g, 4, -1, 1);
  EXPECT_TRUE(CpuExecutor(e.graph).run(feeds).at("s").same_bytes(CpuExecutor(o.g).run(feeds).at("s")));
}

// After convert_to_fp16 the node reads and writes fp16, within fp16 rounding of the fp32 graph.
TEST(FuseHeadScores, Fp16EngineRunsTheNodeInHalf) {
  Graph g = import_onnx_bytes(build(Scores{}), ".", "m.onnx");
  run_passes(g);
  const TensorMap feeds = test::random_feeds(g, 5, -1, 1);
  const Tensor want = CpuExecutor(g).run(feeds).at("s");
  convert_to_fp16(g);
  for (const Node& n : g.nodes)
    if (n.op_type == "HeadScores") {
      EXPECT_EQ(g.value(n.inputs[0]).type.dtype, DType::kF16);
      EXPECT_EQ(g.value(n.outputs[0]).type.dtype, DType::kF16);
    }
  EXPECT_EQ(test::count_op(g, "kiln.HeadScores"), 1);
  EXPECT_LE(test::compare_to_golden(CpuExecutor(g).run(feeds).at("s"), want).rel_l2, 1e-3);
}

// anchor_detr_tiny: the row and column score products of both encoder layers and of the second
// decoder layer (the first decoder layer's queries are constants, folded with their split and
// scale: its two products keep K's Transpose). Each takes two Transposes and a Mul with it.
TEST(FuseHeadScores, AnchorDetrTiny) {
  test::expect_pass_keeps_anchor_detr_tiny({"fuse_head_scores"}, 1e-6, [](const Graph& plain, const Graph& g, const PassReport& r) {
    EXPECT_EQ(r.fused.at("fuse_head_scores"), 6);
    EXPECT_EQ(test::count_op(g, "kiln.HeadScores"), 6);
    EXPECT_EQ(test::count_op(plain, "MatMul") - test::count_op(g, "MatMul"), 6);
    EXPECT_EQ(test::count_op(plain, "Transpose") - test::count_op(g, "Transpose"), 12);
    EXPECT_EQ(test::count_op(plain, "Mul") - test::count_op(g, "Mul"), 6);
  });
}

}  // namespace
}  // namespace kiln
