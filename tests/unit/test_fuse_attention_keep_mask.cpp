// fuse_attention_keep_mask three ways: it fires on Mask2Former's masked-attention mask as
// exported (built here in nn.MultiheadAttention's rank-3 form, batch 1 and 2, and
// mask2former_tiny's three), the fused graph computes what the unfused one does (CPU reference,
// bit for bit: the same decisions; queries whose mask excludes every key included), and it
// leaves alone what computes something else (another comparison, a count against another
// number, a sum over another axis, a Tile along the batch, a shared
// intermediate, float16 counts). With batch 1 the mask is written once and broadcast over the
// heads; with batch 2 it keeps its head copies.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "../model/model_compare.h"
#include "fusion_test_util.h"
#include "onnx/importer.h"
#include "passes/pattern.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

struct Chain {
  int64_t B = 1, H = 4, Q = 5, h = 3, w = 4, D = 8;
  const char* compare = "Less";   // Less(s, thr); "Greater": Greater(thr, s) — the same set, another form
  float threshold = 0.5f;
  int64_t count_of = 0;           // 0: K (h·w)
  int64_t sum_axis = -1;
  int64_t tile_axis = 1;
  int32_t count_type = 7;         // ONNX INT64; 1 float, 10 float16
  bool less_also_output = false;
};

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

// transformers' mask predictor and decoder reset, then nn.MultiheadAttention's masked scores.
std::string build(const Chain& c) {
  const int64_t K = c.h * c.w, N = c.B * c.H;
  test::ModelBuilder b(17);
  b.input("logits", DType::kF32, {c.B, c.Q, c.h, c.w});
  b.input("q", DType::kF32, {N, c.Q, c.D});
  b.input("k", DType::kF32, {N, K, c.D});
  b.input("v", DType::kF32, {N, K, c.D});
  b.initializer("flat", i64({c.B, c.Q, K}));
  b.initializer("one", i64({1}));
  std::vector<int64_t> reps{1, 1, 1, 1};
  reps[size_t(c.tile_axis)] = c.H;
  b.initializer("reps", i64(reps));
  b.initializer("merged", i64({N, -1, K}));
  b.initializer("thr", Tensor::from_vector<float>({}, {c.threshold}));
  b.initializer("sum_axes", i64({c.sum_axis}));
  b.initializer("count", Tensor::from_vector<int64_t>({}, {c.count_of ? c.count_of : K}));
  b.initializer("last", i64({-1}));
  b.initializer("ninf", Tensor::from_vector<float>({}, {-INFINITY}));
  b.initializer("zero", Tensor::from_vector<float>({}, {0.f}));
  b.initializer("scale", Tensor::from_vector<float>({}, {0.35f}));
  b.node("Sigmoid", {"logits"}, {"s0"});
  b.node("Reshape", {"s0", "flat"}, {"s1"});
  b.node("Unsqueeze", {"s1", "one"}, {"s2"});
  b.node("Tile", {"s2", "reps"}, {"s3"});
  b.node("Reshape", {"s3", "merged"}, {"s4"});
  if (std::string(c.compare) == "Less") b.node("Less", {"s4", "thr"}, {"m"});
  else b.node(c.compare, {"thr", "s4"}, {"m"});
  test::set_int_attr(b.node("Cast", {"m"}, {"mi"}), "to", c.count_type);
  test::set_int_attr(b.node("ReduceSum", {"mi", "sum_axes"}, {"cnt"}), "keepdims", 0);
  if (c.count_type == 1 || c.count_type == 10) {
    test::set_int_attr(b.node("Cast", {"count"}, {"count_f"}), "to", c.count_type);
    b.node("Equal", {"cnt", "count_f"}, {"full"});
  } else {
    b.node("Equal", {"cnt", "count"}, {"full"});
  }
  b.node("Not", {"full"}, {"some"});
  b.node("Unsqueeze", {"some", "last"}, {"some3"});
  b.node("And", {"m", "some3"}, {"masked"});
  b.node("Where", {"masked", "ninf", "zero"}, {"bias"});
  test::set_ints_attr(b.node("Transpose", {"k"}, {"kt"}), "perm", {0, 2, 1});
  b.node("MatMul", {"q", "kt"}, {"sc"});
  b.node("Mul", {"sc", "scale"}, {"scaled"});
  b.node("Add", {"scaled", "bias"}, {"att"});
  test::set_int_attr(b.node("Softmax", {"att"}, {"p"}), "axis", -1);
  b.node("MatMul", {"p", "v"}, {"y"});
  b.output("y", DType::kF32);
  if (c.less_also_output) b.output("m", DType::kBool);
  return b.bytes();
}

// Random inputs; query 0 of every item with logits all below zero (its mask excludes every
// key: the reset keeps them all).
TensorMap feeds_for(const Graph& g, const Chain& c) {
  TensorMap f = test::random_feeds(g, 300, -3, 3);
  Tensor& x = f.at("logits");
  const int64_t K = c.h * c.w;
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t k = 0; k < K; ++k) x.data<float>()[b * c.Q * K + k] = -std::abs(x.data<float>()[b * c.Q * K + k]) - 0.1f;
  return f;
}

struct Outcome {
  int fired = 0;
  Graph g;
};

Outcome run(const Chain& c) {
  const std::string bytes = build(c);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_attention_keep_mask"});
  const PassReport r = run_passes(g);
  test::expect_same_outputs(plain, g, feeds_for(plain, c), 0, 0);
  return {r.fused.at("fuse_attention_keep_mask"), std::move(g)};
}

const Node* keep_mask_node(const Graph& g) {
  for (const Node& n : g.nodes)
    if (n.op_type == "AttentionKeepMask") return &n;
  return nullptr;
}

TEST(FuseAttentionKeepMask, BatchOneBroadcastsOverTheHeads) {
  Outcome o = run(Chain{});
  EXPECT_EQ(o.fired, 1);
  const Node* n = keep_mask_node(o.g);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->inputs, std::vector<std::string>{"logits"});
  EXPECT_EQ(n->attrs.get_int("repeats"), 1);
  EXPECT_EQ(n->attrs.get_float("threshold"), 0.5f);
  EXPECT_EQ(*static_dims(o.g, n->outputs[0]), (Dims{1, 5, 12}));
  for (const char* gone : {"Sigmoid", "Tile", "Less", "ReduceSum", "Equal", "Not", "And", "Cast"})
    EXPECT_EQ(test::count_op(o.g, gone), 0) << gone;
}

TEST(FuseAttentionKeepMask, BatchTwoKeepsTheHeadCopies) {
  Chain c;
  c.B = 2, c.H = 3, c.Q = 7, c.h = 5, c.w = 1;
  Outcome o = run(c);
  EXPECT_EQ(o.fired, 1);
  const Node* n = keep_mask_node(o.g);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->attrs.get_int("repeats"), 3);
  EXPECT_EQ(*static_dims(o.g, n->outputs[0]), (Dims{6, 7, 5}));
}

TEST(FuseAttentionKeepMask, OtherThresholdAndFloatCounts) {
  Chain c;
  c.threshold = 0.3f;
  c.count_type = 1;  // float32 counts: exact below 2^24
  EXPECT_EQ(run(c).fired, 1);
}

TEST(FuseAttentionKeepMask, RefusesOtherComputations) {
  auto expect_refused = [](const Chain& c, const char* what) {
    SCOPED_TRACE(what);
    Outcome o = run(c);
    EXPECT_EQ(o.fired, 0);
    EXPECT_EQ(keep_mask_node(o.g), nullptr);
  };
  Chain c;
  c.compare = "LessOrEqual";
  expect_refused(c, "sigmoid <= threshold");
  c = Chain{};
  c.count_of = 11;
  expect_refused(c, "a count against K - 1");
  c = Chain{};
  c.sum_axis = 1;
  c.h = 5, c.w = 1;  // Q = K = 5: the sum over the queries has the same shape
  expect_refused(c, "a sum over the queries");
  c = Chain{};
  c.B = 2;
  c.tile_axis = 0;  // copies ordered (head, item), not (item, head)
  expect_refused(c, "a Tile along the batch");
  c = Chain{};
  c.less_also_output = true;
  expect_refused(c, "the thresholded mask is a graph output");
  c = Chain{};
  c.count_type = 10;
  expect_refused(c, "float16 counts");
}

TEST(FuseAttentionKeepMask, FiresOnMask2FormerTiny) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "mask2former_tiny";
  ImportOptions import;
  const TensorMap feeds = test::reference_inputs(dir, &import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(plain, {"fuse_attention_keep_mask"});
  const PassReport r = run_passes(g);
  EXPECT_EQ(r.fused.at("fuse_attention_keep_mask"), 3);
  EXPECT_EQ(test::count_op(g, "Tile"), 0);
  EXPECT_EQ(test::count_op(g, "Less"), 0);
  test::expect_same_outputs(plain, g, feeds, 0, 0);
}

}  // namespace
}  // namespace kiln
