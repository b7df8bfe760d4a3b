// layer_compare (kiln compare's core) on hand-made graphs and values: which tensors are compared,
// the tolerance rule, shape mismatches, and the jump rule — the error's first layer, not the ones
// that carry it, looking through tensors only one side has. Also the CPU executor's ValueDone.
#include <gtest/gtest.h>

#include <cmath>

#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "runtime/layer_compare.h"

namespace kiln {
namespace {

Tensor filled(const Dims& dims, float start, float step = 0.25f) {
  std::vector<float> v(size_t(numel_of(dims)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = start + step * float(i);
  return Tensor::from_vector<float>(dims, v);
}

Tensor scaled(const Tensor& t, float s) {
  Tensor out = t.clone();
  for (int64_t i = 0; i < out.numel(); ++i) out.data<float>()[i] *= s;
  return out;
}

// A chain of unary nodes x → names[0] → names[1] → ... whose last tensor is the output.
Graph chain(const std::vector<std::pair<std::string, std::string>>& op_and_tensor) {
  Graph g;
  g.inputs = {"x"};
  g.values["x"] = Value{"x", {}, std::nullopt};
  std::string prev = "x";
  for (const auto& [op, tensor] : op_and_tensor) {
    Node n;
    n.name = "node_" + tensor;
    n.op_type = op;
    n.inputs = {prev};
    n.outputs = {tensor};
    g.nodes.push_back(n);
    g.values[tensor] = Value{tensor, {}, std::nullopt};
    prev = tensor;
  }
  g.outputs = {prev};
  return g;
}

struct Fixture {
  Graph ref = chain({{"Relu", "a"}, {"Neg", "b"}, {"Abs", "c"}, {"Exp", "y"}});
  TensorMap ref_values{{"a", filled({2, 3}, 1)}, {"b", filled({2, 3}, 2)}, {"c", filled({2, 3}, 3)},
                       {"y", filled({2, 3}, 4)}};
};

TEST(CompareLayers, EqualRunsAreWithinAndHaveNoJump) {
  Fixture f;
  LayerReport r = compare_layers(f.ref, f.ref_values, f.ref, f.ref_values, default_tolerance("fp32"), true);
  ASSERT_EQ(r.tensors.size(), 4u);
  EXPECT_EQ(r.tensors[0].name, "a");  // topological order
  EXPECT_EQ(r.tensors[3].name, "y");
  EXPECT_TRUE(r.tensors[3].graph_output);
  EXPECT_EQ(r.mismatches, 0);
  EXPECT_FALSE(r.first_jump);
  EXPECT_EQ(r.tensors[1].covers, (std::vector<NodeRef>{{"Neg", "node_b"}}));
}

TEST(CompareLayers, TheJumpIsTheFirstLayerOutOfToleranceNotTheOnesAfterIt) {
  Fixture f;
  TensorMap got = f.ref_values;
  got["b"] = scaled(got["b"], 1.05f);  // b introduces the error, c and y carry it
  got["c"] = scaled(got["c"], 1.05f);
  got["y"] = scaled(got["y"], 1.05f);
  LayerReport r = compare_layers(f.ref, got, f.ref, f.ref_values, default_tolerance("fp32"), true);
  ASSERT_TRUE(r.first_jump);
  EXPECT_EQ(r.tensors[*r.first_jump].name, "b");
  EXPECT_EQ(r.tensors[0].status, TensorStatus::kWithin);
  EXPECT_EQ(r.tensors[2].status, TensorStatus::kOutOfTolerance);
  EXPECT_FALSE(r.tensors[2].jump);
  EXPECT_FALSE(r.tensors[3].jump);
  EXPECT_EQ(r.mismatches, 3);
  EXPECT_NEAR(r.tensors[1].stats.rel_l2, 0.05, 1e-6);
}

TEST(CompareLayers, AnErrorThatReappearsAfterAGoodLayerIsASecondJump) {
  Fixture f;
  TensorMap got = f.ref_values;
  got["a"] = scaled(got["a"], 2.f);
  got["c"] = scaled(got["c"], 2.f);  // b within, so c introduces an error of its own
  LayerReport r = compare_layers(f.ref, got, f.ref, f.ref_values, default_tolerance("fp32"), true);
  ASSERT_TRUE(r.first_jump);
  EXPECT_EQ(r.tensors[*r.first_jump].name, "a");
  EXPECT_TRUE(r.tensors[2].jump);
}

TEST(CompareLayers, LooksThroughTensorsTheReferenceLacksAndNamesWhatAFusionStandsFor) {
  Fixture f;
  // The compared side fused Neg and Abs into one node writing c: b does not exist there.
  Graph fused = chain({{"Relu", "a"}, {"kiln_fused", "c"}, {"Exp", "y"}});
  fused.nodes[1].domain = "kiln";
  TensorMap got{{"a", f.ref_values["a"]}, {"c", scaled(f.ref_values["c"], 1.1f)}, {"y", f.ref_values["y"]},
                {"extra", filled({1}, 0)}};
  LayerReport r = compare_layers(fused, got, f.ref, f.ref_values, default_tolerance("fp32"), true);
  ASSERT_EQ(r.tensors.size(), 3u);
  ASSERT_TRUE(r.first_jump);
  const TensorComparison& j = r.tensors[*r.first_jump];
  EXPECT_EQ(j.name, "c");
  EXPECT_EQ(j.producer, (NodeRef{"kiln.kiln_fused", "node_c"}));
  EXPECT_EQ(j.covers, (std::vector<NodeRef>{{"Neg", "node_b"}, {"Abs", "node_c"}}));

  // With a's error upstream, c only carries it; a is the jump, seen through the fused node.
  got["a"] = scaled(got["a"], 1.1f);
  r = compare_layers(fused, got, f.ref, f.ref_values, default_tolerance("fp32"), true);
  EXPECT_EQ(r.tensors[*r.first_jump].name, "a");
  EXPECT_FALSE(r.tensors[1].jump);

  // A tensor the compared side made up (not in the reference) is counted, not compared; the
  // jump looks through it to the compared tensors before it.
  Graph extra = chain({{"Relu", "a"}, {"Neg", "made_up"}, {"Abs", "c"}, {"Exp", "y"}});
  got = f.ref_values;
  got["made_up"] = filled({2, 3}, 9);
  got["c"] = scaled(got["c"], 1.1f);
  got["a"] = scaled(got["a"], 1.1f);
  r = compare_layers(extra, got, f.ref, f.ref_values, default_tolerance("fp32"), true);
  EXPECT_EQ(r.not_in_reference, 1);
  EXPECT_EQ(r.tensors.size(), 3u);
  EXPECT_FALSE(r.tensors[1].jump) << "c's nearest compared input a is already out";
}

TEST(CompareLayers, ToleranceIsRelL2OrMaxAbsAndNeverNonFinite) {
  Fixture f;
  TensorMap got = f.ref_values;
  TensorMap ref = f.ref_values;
  ref["a"] = filled({2, 3}, 1e-8f, 0);  // a near-zero reference: rel L2 49, but max abs 4.9e-7
  got["a"] = filled({2, 3}, 5e-7f, 0);  // ... is within atol 1e-6
  got["b"] = scaled(got["b"], 1 + 5e-5f);  // within rtol 1e-4
  got["c"] = got["c"].clone();  // copies share bytes: leave the reference's alone
  got["c"].data<float>()[1] = NAN;
  LayerReport r = compare_layers(f.ref, got, f.ref, ref, default_tolerance("fp32"), true);
  EXPECT_EQ(r.tensors[0].status, TensorStatus::kWithin);
  EXPECT_EQ(r.tensors[1].status, TensorStatus::kWithin);
  EXPECT_EQ(r.tensors[2].status, TensorStatus::kOutOfTolerance);
  EXPECT_FALSE(r.tensors[2].stats.finite);
  EXPECT_TRUE(r.tensors[2].jump);
  EXPECT_EQ(r.mismatches, 1);

  Tolerance strict{1e-6, 0, std::nullopt};
  r = compare_layers(f.ref, got, f.ref, ref, strict, true);
  EXPECT_EQ(r.tensors[0].status, TensorStatus::kOutOfTolerance);
  EXPECT_EQ(r.tensors[1].status, TensorStatus::kOutOfTolerance);
}

TEST(CompareLayers, ShapesThatDifferByNameAreReportedNotCompared) {
  Fixture f;
  TensorMap got = f.ref_values;
  got["b"] = filled({3, 2}, 2);
  LayerReport r = compare_layers(f.ref, got, f.ref, f.ref_values, default_tolerance("fp32"), true);
  EXPECT_EQ(r.tensors[1].status, TensorStatus::kShapeMismatch);
  EXPECT_EQ(r.tensors[1].dims, (Dims{3, 2}));
  EXPECT_EQ(r.tensors[1].ref_dims, (Dims{2, 3}));
  EXPECT_EQ(r.mismatches, 1);
  EXPECT_EQ(r.tensors[*r.first_jump].name, "b");
}

TEST(CompareLayers, WithoutPerLayerOnlyOutputsAreComparedAndNothingJumps) {
  Fixture f;
  TensorMap got = f.ref_values;
  got["b"] = scaled(got["b"], 2.f);
  got["y"] = scaled(got["y"], 2.f);
  LayerReport r = compare_layers(f.ref, got, f.ref, f.ref_values, default_tolerance("fp32"), false);
  ASSERT_EQ(r.tensors.size(), 1u);
  EXPECT_EQ(r.tensors[0].name, "y");
  EXPECT_EQ(r.mismatches, 1);
  EXPECT_FALSE(r.first_jump);
  EXPECT_EQ(r.not_in_reference, 0);
}

TEST(CompareLayers, AnOutputTheReferenceLacksIsAUserError) {
  Fixture f;
  Graph other = chain({{"Relu", "a"}, {"Neg", "z"}});
  TensorMap got{{"a", f.ref_values["a"]}, {"z", f.ref_values["b"]}};
  try {
    compare_layers(other, got, f.ref, f.ref_values, default_tolerance("fp32"), true);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'z'"), std::string::npos) << e.what();
  }
}

TEST(CompareLayers, LabelAgreementOnClassScoreOutputsOnlyAndMinLabels) {
  // y [1, 2, 3] class scores: swapping the two classes at one of 3 positions flips one label.
  Graph g = chain({{"Relu", "a"}, {"Neg", "y"}});
  Tensor scores = Tensor::from_vector<float>({1, 2, 3}, {1, 1, 1, 0, 0, 0});
  Tensor flipped = Tensor::from_vector<float>({1, 2, 3}, {0, 1, 1, 1, 0, 0});
  TensorMap ref{{"a", scores}, {"y", scores}};
  TensorMap got{{"a", scores}, {"y", flipped}};
  Tolerance tol{1.0, 0, 0.9};  // rel L2 (0.82) passes; labels (2 of 3) do not
  LayerReport r = compare_layers(g, got, g, ref, tol, true);
  EXPECT_FALSE(r.tensors[0].stats.label_agreement);  // not an output
  ASSERT_TRUE(r.tensors[1].stats.label_agreement);
  EXPECT_NEAR(*r.tensors[1].stats.label_agreement, 2.0 / 3, 1e-12);
  EXPECT_EQ(r.tensors[1].status, TensorStatus::kOutOfTolerance);
  tol.min_labels = 0.5;
  EXPECT_EQ(compare_layers(g, got, g, ref, tol, true).tensors[1].status, TensorStatus::kWithin);
}

TEST(CompareLayers, DefaultTolerancesFollowThePrecision) {
  EXPECT_EQ(default_tolerance("fp32").rtol, 1e-4);
  EXPECT_EQ(default_tolerance("tf32").rtol, 5e-3);
  EXPECT_EQ(default_tolerance("fp16").rtol, 1e-2);
  EXPECT_EQ(default_tolerance("fp16").atol, 1e-3);
  EXPECT_EQ(default_tolerance("fp32").atol, 1e-6);
}

TEST(CompareExecutor, ValueDoneSeesEveryNodeOutputWithItsValue) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {2, 3}).output("y", DType::kF32);
  b.node("Relu", {"x"}, {"r"});
  b.node("Neg", {"r"}, {"n"});
  b.node("Mul", {"n", "r"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), "", "test model");
  run_passes(g, {"fuse_elementwise"});  // which would make the three nodes one
  CpuExecutor exec(g);
  Tensor x = Tensor::from_vector<float>({2, 3}, {-1, 2, -3, 4, 0.5f, 6});
  std::map<std::string, Tensor> seen;
  std::vector<std::string> order;
  TensorMap outs = exec.run({{"x", x}}, {}, [&](const std::string& name, const Tensor& t) {
    seen[name] = t;
    order.push_back(name);
  });
  EXPECT_EQ(order, (std::vector<std::string>{"r", "n", "y"}));
  // r and n were freed by the executor after their last use; the callback's copies live on.
  EXPECT_EQ(seen["r"].data<float>()[1], 2.f);
  EXPECT_EQ(seen["n"].data<float>()[3], -4.f);
  EXPECT_TRUE(seen["y"].same_bytes(outs.at("y")));
  EXPECT_EQ(outs.at("y").data<float>()[5], -36.f);
}

}  // namespace
}  // namespace kiln
