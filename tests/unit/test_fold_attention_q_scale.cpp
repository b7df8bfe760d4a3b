// fold_attention_transposes with Q scaled after its head split (AnchorDETR's decoder
// self-attention: split → Transpose → Mul(1/√d) → attention): the Mul joins kiln.Attention's
// scale and the Transpose folds as the others do. Fires (built here and on anchor_detr_tiny),
// agrees with the graph without the pass (bit for bit for a power-of-two scale, within one
// rounding of Q·s otherwise), and leaves alone a scale per channel or computed at run time and a
// scaled Q read elsewhere.
#include <gtest/gtest.h>

#include "anchor_detr_tiny_check.h"
#include "fusion_test_util.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

struct Scaled {
  float s = 0.25f;
  bool per_channel = false;  // Mul by a [D] constant
  bool runtime = false;      // Mul by a graph input
  bool left = false;         // Mul(s, q)
  bool also_output = false;  // the scaled Q is a graph output too
};

//   xq [2,5,3,8] ─T(0,2,1,3)─▶ q ─Mul(s)─▶ qs ─┐
//   xk [2,7,3,8] ─T(0,2,3,1)─▶ kt ─────────────MatMul─Mul(0.35)─Softmax─MatMul(·, v)─T(0,2,1,3)─▶ y
std::string build(const Scaled& o) {
  test::ModelBuilder b;
  b.input("xq", DType::kF32, {2, 5, 3, 8});
  b.input("xk", DType::kF32, {2, 7, 3, 8});
  b.input("xv", DType::kF32, {2, 7, 3, 6});
  test::set_ints_attr(b.node("Transpose", {"xq"}, {"q"}), "perm", {0, 2, 1, 3});
  test::set_ints_attr(b.node("Transpose", {"xk"}, {"kt"}), "perm", {0, 2, 3, 1});
  test::set_ints_attr(b.node("Transpose", {"xv"}, {"v"}), "perm", {0, 2, 1, 3});
  if (o.runtime) b.input("s", DType::kF32, {});
  else if (o.per_channel) b.initializer("s", Tensor::from_vector<float>({8}, std::vector<float>(8, o.s)));
  else b.initializer("s", Tensor::scalar<float>(o.s));
  if (o.left) b.node("Mul", {"s", "q"}, {"qs"});
  else b.node("Mul", {"q", "s"}, {"qs"});
  b.initializer("c", Tensor::scalar<float>(0.35f));
  b.node("MatMul", {"qs", "kt"}, {"sc0"});
  b.node("Mul", {"sc0", "c"}, {"sc"});
  test::set_int_attr(b.node("Softmax", {"sc"}, {"p"}), "axis", -1);
  b.node("MatMul", {"p", "v"}, {"o"});
  test::set_ints_attr(b.node("Transpose", {"o"}, {"y"}), "perm", {0, 2, 1, 3});
  b.output("y", DType::kF32);
  if (o.also_output) b.output("qs", DType::kF32);
  return b.bytes();
}

const Node* attention_node(const Graph& g) {
  for (const Node& n : g.nodes)
    if (n.op_type == "Attention") return &n;
  return nullptr;
}

// The pipeline with and without fold_attention_transposes on the same inputs.
Graph run(const Scaled& o, double tol) {
  const std::string bytes = build(o);
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(g);
  run_passes(plain, {"fold_attention_transposes"});
  const TensorMap feeds = test::random_feeds(plain, 31, -2, 2);
  if (tol == 0) {
    const TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
    for (const auto& [name, t] : want) EXPECT_TRUE(got.at(name).same_bytes(t)) << name;
  } else {
    test::expect_same_outputs(plain, g, feeds, tol, tol);
  }
  return g;
}

TEST(FoldAttentionQScale, ScaleJoinsTheNode) {
  for (bool left : {false, true}) {
    Scaled o;
    o.left = left;
    Graph g = run(o, 0);  // 0.25 · 0.35 rounds as 0.35 does: bit for bit
    const Node* a = attention_node(g);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->attrs.get_ints("seq_first"), (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ(a->attrs.get_float("scale"), float(double(0.35f) * 0.25));
    EXPECT_EQ(test::count_op(g, "Mul"), 0);
    EXPECT_EQ(test::count_op(g, "Transpose"), 0);
  }
  Scaled o;
  o.s = 0.3f;  // not a power of two: Q·s rounded in the graph, not in the node
  Graph g = run(o, 1e-6);
  EXPECT_EQ(test::count_op(g, "Mul"), 0);
}

TEST(FoldAttentionQScale, LeavesOtherScalings) {
  auto expect_kept = [](const Scaled& o, const char* what) {
    SCOPED_TRACE(what);
    Graph g = run(o, 0);
    const Node* a = attention_node(g);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->attrs.get_ints("seq_first")[0], 0);
    EXPECT_EQ(test::count_op(g, "Mul"), 1);
  };
  Scaled o;
  o.per_channel = true;
  expect_kept(o, "a scale per channel");
  o = Scaled{};
  o.runtime = true;
  expect_kept(o, "a scale computed at run time");
  o = Scaled{};
  o.also_output = true;
  expect_kept(o, "the scaled Q is a graph output too");
}

// anchor_detr_tiny: the second decoder layer's self-attention (the first one's queries are
// constants): its scaled Q's Mul and Transpose go; no Mul is left in the model.
TEST(FoldAttentionQScale, AnchorDetrTiny) {
  test::expect_pass_keeps_anchor_detr_tiny({"fold_attention_transposes"}, 1e-6, [](const Graph& plain, const Graph& g, const PassReport& r) {
    EXPECT_EQ(r.fused.at("fold_attention_transposes"), 4);
    EXPECT_EQ(test::count_op(g, "Mul"), 0);
    EXPECT_EQ(test::count_op(plain, "Mul"), 1);
    const Node* a = attention_node(g);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->attrs.get_ints("seq_first"), (std::vector<int64_t>{1, 1, 1, 1}));
  });
}

}  // namespace
}  // namespace kiln
