// GraphIndex and the small helpers every fusion pass matches with.
#include <gtest/gtest.h>

#include "passes/pattern.h"

namespace kiln {
namespace {

Node make_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  Node n;
  n.name = op + "_" + out[0];
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// x ─Relu─▶ a ─Add(a, a)─▶ b ─Neg─▶ y (output);  a also feeds Exp ─▶ z (output)
Graph sample() {
  Graph g;
  for (const char* v : {"x", "a", "b", "y", "z", "s"}) g.values[v].name = v;
  g.values["s"].constant = Tensor::from_vector<float>({1}, {0.5f});
  g.inputs = {"x"};
  g.outputs = {"y", "z"};
  g.nodes = {make_node("Relu", {"x"}, {"a"}), make_node("Add", {"a", "a"}, {"b"}), make_node("Neg", {"b"}, {"y"}),
             make_node("Exp", {"a"}, {"z"})};
  return g;
}

TEST(Pattern, ProducersAndConsumers) {
  Graph g = sample();
  GraphIndex idx(g);
  EXPECT_EQ(idx.producer("a"), &g.nodes[0]);
  EXPECT_EQ(idx.producer("x"), nullptr);
  ASSERT_EQ(idx.consumers("a").size(), 2u);  // Add counted once though it reads a twice
  EXPECT_EQ(idx.consumers("a")[0], &g.nodes[1]);
  EXPECT_TRUE(idx.consumers("y").empty());
}

TEST(Pattern, AbsorbableOnlyWithOneConsumerAndNotAnOutput) {
  Graph g = sample();
  GraphIndex idx(g);
  EXPECT_TRUE(idx.used_only_by("b", g.nodes[2]));
  EXPECT_EQ(idx.sole_consumer("b"), &g.nodes[2]);
  EXPECT_FALSE(idx.used_only_by("a", g.nodes[1]));  // Exp reads it too
  EXPECT_EQ(idx.sole_consumer("a"), nullptr);
  g.outputs.push_back("b");
  GraphIndex with_output(g);
  EXPECT_FALSE(with_output.used_only_by("b", g.nodes[2]));  // a graph output must stay
  EXPECT_EQ(with_output.sole_consumer("b"), nullptr);
}

TEST(Pattern, ScalarConstantsAndOps) {
  Graph g = sample();
  EXPECT_EQ(scalar_constant(g, "s"), 0.5);
  EXPECT_FALSE(scalar_constant(g, "x"));
  g.values["v"].constant = Tensor::from_vector<float>({2}, {1.f, 2.f});
  EXPECT_FALSE(scalar_constant(g, "v"));  // two elements
  EXPECT_TRUE(is_op(&g.nodes[0], "Relu"));
  Node custom = g.nodes[0];
  custom.domain = "kiln";
  EXPECT_FALSE(is_op(&custom, "Relu"));
  EXPECT_FALSE(is_op(nullptr, "Relu"));
}

TEST(Pattern, FinishRewriteDropsDeadNodesAndSorts) {
  Graph g = sample();
  g.outputs = {"y"};
  std::swap(g.nodes[0], g.nodes[2]);  // out of order
  finish_rewrite(g);
  ASSERT_EQ(g.nodes.size(), 3u);  // Exp is dead now
  EXPECT_EQ(g.nodes[0].op_type, "Relu");
  EXPECT_EQ(g.nodes[2].op_type, "Neg");
}

}  // namespace
}  // namespace kiln
