// commute_mean_linear three ways: it fires on a linear layer whose output is averaged over token
// axes (built here with one and two axes, keepdims 0 and 1, opset 17's axes attribute and 18's
// axes input, and anchor_detr_tiny's eight RCDA key projections), the rewritten graph computes
// what the original does (within fp32 rounding: the sums run in another order), and it leaves
// alone what does not commute (a mean over the mapped axis, an activation, a residual, the GEMM's
// output read elsewhere, axes not constant).
#include <gtest/gtest.h>

#include "anchor_detr_tiny_check.h"
#include "fusion_test_util.h"
#include "onnx/importer.h"
#include "passes/pattern.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

struct Mean {
  std::vector<int64_t> axes = {1};
  int64_t keepdims = 0;
  int opset = 17;
  bool relu = false;         // MatMul → Add(bias) → Relu → ReduceMean
  bool residual = false;     // … → Add(bias) → Add(x) → ReduceMean (K = N)
  bool also_output = false;  // the linear layer's output is a graph output too
  bool axes_input = false;   // opset 18 with the axes a graph input
};

// x [2, 5, 7, 8] ─▶ MatMul(W [8, 8]) ─▶ Add(b [8]) ─▶ [Relu] ─▶ [Add(x)] ─▶ z ─▶ ReduceMean(axes) ─▶ y
std::string build(const Mean& s) {
  test::ModelBuilder b(s.opset);
  b.input("x", DType::kF32, {2, 5, 7, 8});
  b.initializer("w", test::random_tensor(DType::kF32, {8, 8}, 3));
  b.initializer("b", test::random_tensor(DType::kF32, {8}, 4));
  b.node("MatMul", {"x", "w"}, {"xw"});
  b.node("Add", {"xw", "b"}, {"lin"});
  std::string z = "lin";
  if (s.relu) b.node("Relu", {z}, {"act"}), z = "act";
  if (s.residual) b.node("Add", {z, "x"}, {"res"}), z = "res";
  onnx::NodeProto* mean = nullptr;
  if (s.opset >= 18) {
    if (s.axes_input) b.input("axes", DType::kI64, {int64_t(s.axes.size())});
    else b.initializer("axes", Tensor::from_vector<int64_t>({int64_t(s.axes.size())}, s.axes));
    mean = &b.node("ReduceMean", {z, "axes"}, {"y"});
  } else {
    mean = &b.node("ReduceMean", {z}, {"y"});
    test::set_ints_attr(*mean, "axes", s.axes);
  }
  test::set_int_attr(*mean, "keepdims", s.keepdims);
  b.output("y", DType::kF32);
  if (s.also_output) b.output(z, DType::kF32);
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  Graph g;
};

Outcome run(const Mean& s) {
  const std::string bytes = build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"commute_mean_linear"});
  const PassReport r = run_passes(g);
  TensorMap feeds = test::random_feeds(plain, 41, -2, 2);
  if (s.axes_input) feeds["axes"] = Tensor::from_vector<int64_t>({int64_t(s.axes.size())}, s.axes);
  // |y| ≤ 8·2·1 + 1: fp32 sums of 8 products and means of ≤ 35 rows, in another order.
  test::expect_same_outputs(plain, g, feeds, 1e-5, 1e-5);
  return {r.fused.at("commute_mean_linear"), std::move(g)};
}

// The FusedMatMul now reads the ReduceMean's output.
bool mean_first(const Graph& g) {
  GraphIndex idx(g);
  for (const Node& n : g.nodes)
    if (n.op_type == "FusedMatMul") {
      const Node* p = idx.producer(n.inputs[0]);
      return p && p->op_type == "ReduceMean" && n.outputs[0] == "y";
    }
  return false;
}

TEST(CommuteMeanLinear, MovesTheMeanBeforeTheGemm) {
  for (auto [axes, keep, opset] : {std::tuple<std::vector<int64_t>, int64_t, int>{{1}, 0, 17}, {{2}, 1, 17},
                                   {{1, 2}, 0, 17}, {{-2}, 0, 18}, {{0, 1}, 1, 18}}) {
    Mean s;
    s.axes = axes, s.keepdims = keep, s.opset = opset;
    SCOPED_TRACE("axes " + std::to_string(axes[0]) + " keepdims " + std::to_string(keep) + " opset " + std::to_string(opset));
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 1);
    EXPECT_TRUE(mean_first(o.g));
    EXPECT_EQ(test::count_op(o.g, "kiln.FusedMatMul"), 1);
  }
}

TEST(CommuteMeanLinear, LeavesWhatDoesNotCommute) {
  auto expect_left = [](const Mean& s, const char* what) {
    SCOPED_TRACE(what);
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 0);
    EXPECT_FALSE(mean_first(o.g));
  };
  Mean s;
  s.axes = {3};
  expect_left(s, "the mean over the mapped axis");
  s.axes = {-1};
  expect_left(s, "the mean over the mapped axis, counted from the end");
  s = Mean{};
  s.relu = true;
  expect_left(s, "an activation between");
  s = Mean{};
  s.residual = true;
  expect_left(s, "a residual between");
  s = Mean{};
  s.also_output = true;
  expect_left(s, "the linear layer's output is a graph output");
  s = Mean{};
  s.opset = 18, s.axes_input = true;
  expect_left(s, "axes known only at run time");
  s = Mean{};
  s.axes = {0, 1, 2};
  expect_left(s, "every row averaged away: a rank-1 input no GEMM takes");
}

// anchor_detr_tiny: k_row and k_col of each of its 4 RCDA layers project h·w positions and keep
// their means over h or w: the 8 GEMMs now run over w or h rows.
TEST(CommuteMeanLinear, AnchorDetrTiny) {
  test::expect_pass_keeps_anchor_detr_tiny({"commute_mean_linear"}, 1e-5, [](const Graph& plain, const Graph& g, const PassReport& r) {
    EXPECT_EQ(r.fused.at("commute_mean_linear"), 8);
    EXPECT_EQ(test::count_op(g, "ReduceMean"), test::count_op(plain, "ReduceMean"));
    EXPECT_EQ(test::count_op(g, "kiln.FusedMatMul"), test::count_op(plain, "kiln.FusedMatMul"));
  });
}

}  // namespace
}  // namespace kiln
