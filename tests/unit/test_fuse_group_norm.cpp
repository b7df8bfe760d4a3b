// fuse_group_norm three ways: it fires on GroupNorm as PyTorch exports it (built here, with the
// residual Add and Relu after it; mask2former_tiny's five and anchor_detr_tiny's one), the fused
// graph computes what the unfused one does (CPU reference), and it leaves alone what computes
// something else (γ broadcast over the spatial axes, a second Reshape to other dims, the
// normalized tensor read elsewhere, a per-channel InstanceNormalization, float64), stopping the
// chain where only a link differs (γ not constant, Z broadcast).
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "anchor_detr_tiny_check.h"
#include "fusion_test_util.h"
#include "passes/convert_precision.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

struct Layer {
  Dims x = {2, 6, 5, 7};
  int64_t groups = 3;
  DType dt = DType::kF32;
  Dims gamma = {6, 1, 1};
  bool gamma_input = false;  // γ a graph input, not a constant
  Dims back = {};            // the second Reshape's dims (default X's)
  bool grouped = true;       // the Reshape around the InstanceNormalization
  bool residual = false;
  Dims z = {};               // the residual's dims (default X's)
  bool relu = false;
  bool also_output = false;  // the InstanceNormalization's output is a graph output too
};

Tensor ints(std::vector<int64_t> v) {
  Tensor t(DType::kI64, {int64_t(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}

std::string build(const Layer& s) {
  test::ModelBuilder b(17);
  b.input("x", s.dt, s.x);
  const int64_t c = s.x[1], g = s.grouped ? s.groups : c;
  b.initializer("grouped", ints({s.x[0], g, -1}));
  b.initializer("back", ints(s.back.empty() ? s.x : s.back));
  b.initializer("s", test::random_tensor(s.dt, {g}, 1, 0.5, 2));
  b.initializer("b", test::random_tensor(s.dt, {g}, 2));
  if (s.gamma_input) b.input("gamma", s.dt, s.gamma);
  else b.initializer("gamma", test::random_tensor(s.dt, s.gamma, 3, 0.5, 2));
  b.initializer("beta", test::random_tensor(s.dt, {c, 1, 1}, 4));
  if (s.grouped) {
    b.node("Reshape", {"x", "grouped"}, {"r1"});
    b.node("InstanceNormalization", {"r1", "s", "b"}, {"n"});
    b.node("Reshape", {"n", "back"}, {"r2"});
  } else {
    b.node("InstanceNormalization", {"x", "s", "b"}, {"r2"});
  }
  b.node("Mul", {"r2", "gamma"}, {"m"});
  b.node("Add", {"beta", "m"}, {"a"});
  std::string y = "a";
  if (s.residual) {
    b.input("z", s.dt, s.z.empty() ? s.x : s.z);
    b.node("Add", {y, "z"}, {"az"});
    y = "az";
  }
  if (s.relu) {
    b.node("Relu", {y}, {"y"});
    y = "y";
  }
  b.output(y, s.dt);
  if (s.also_output) b.output(s.grouped ? "n" : "r2", s.dt);
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  Graph g;
};

Outcome run(const Layer& s, uint64_t seed = 5) {
  const std::string bytes = build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_group_norm", "fuse_elementwise"});
  const PassReport r = run_passes(g, {"fuse_elementwise"});  // it would take the Mul/Add left over
  test::expect_same_outputs(plain, g, test::random_feeds(plain, seed, -2, 5), 1e-5, 1e-5);
  return {r.fused.at("fuse_group_norm"), std::move(g)};
}

TEST(FuseGroupNorm, ReplacesTheExportedChain) {
  for (bool residual : {false, true})
    for (bool relu : {false, true}) {
      Layer s;
      s.residual = residual, s.relu = relu;
      SCOPED_TRACE(std::string(residual ? "residual " : "") + (relu ? "relu" : ""));
      Outcome o = run(s);
      EXPECT_EQ(o.fired, 1);
      ASSERT_EQ(o.g.nodes.size(), 1u);
      const Node& n = o.g.nodes[0];
      EXPECT_EQ(n.op_type, "GroupNorm");
      EXPECT_EQ(n.domain, "kiln");
      EXPECT_EQ(n.attrs.get_int("num_groups"), 3);
      EXPECT_EQ(n.inputs.size(), residual ? 4u : 3u);
      EXPECT_EQ(n.attrs.get_string("activation", "none"), relu ? "relu" : "none");
    }
}

TEST(FuseGroupNorm, GammaShapes) {
  for (Dims gamma : {Dims{1, 6, 1, 1}, Dims{6, 1, 1}, Dims{1}, Dims{1, 1, 1}}) {
    Layer s;
    s.gamma = gamma;
    SCOPED_TRACE(dims_to_string(gamma));
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 1);
    EXPECT_EQ(o.g.nodes.size(), 1u);
  }
}

TEST(FuseGroupNorm, HalfPrecisionAndOddSizes) {
  Layer s;
  s.dt = DType::kF16;
  s.x = {1, 8, 3, 11}, s.groups = 4, s.gamma = {8, 1, 1};
  const std::string bytes = build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx"), g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_group_norm", "fuse_elementwise"});
  EXPECT_EQ(run_passes(g, {"fuse_elementwise"}).fused.at("fuse_group_norm"), 1);
  test::expect_same_outputs(plain, g, test::random_feeds(plain, 6, -2, 5), 5e-3, 5e-3);  // fp16 rounds per node unfused
}

TEST(FuseGroupNorm, RefusesOtherComputations) {
  auto expect_refused = [](const Layer& s, const char* what) {
    SCOPED_TRACE(what);
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 0);
    EXPECT_EQ(test::count_op(o.g, "InstanceNormalization"), 1);
  };
  Layer s;
  s.back = {2, 6, 7, 5};
  expect_refused(s, "the second Reshape gives other dims");
  s = Layer{};
  s.grouped = false;
  expect_refused(s, "a per-channel InstanceNormalization without the Reshapes");
  s = Layer{};
  s.also_output = true;
  expect_refused(s, "the normalized tensor is a graph output");
  s = Layer{};
  s.dt = DType::kF64;
  expect_refused(s, "float64");
}

// A link that differs ends the chain there: the GroupNorm is fused, the rest stays as it was.
TEST(FuseGroupNorm, StopsTheChainAtALinkThatDiffers) {
  Layer s;
  s.gamma = {1, 1, 7};  // γ along W: not a per-channel scale
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(test::count_op(o.g, "Mul"), 1);
  EXPECT_EQ(test::count_op(o.g, "Add"), 1);
  s = Layer{};
  s.gamma_input = true;
  o = run(s);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(test::count_op(o.g, "Mul"), 1);
  s = Layer{};
  s.residual = true, s.relu = true, s.z = {1, 6, 5, 7};  // Z broadcast over the batch
  o = run(s);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(test::count_op(o.g, "Add"), 1);
  EXPECT_EQ(test::count_op(o.g, "Relu"), 1);
}

TEST(FuseGroupNorm, SurvivesTheEngineFileAndFp16) {
  Layer s;
  s.residual = true, s.relu = true;
  Outcome o = run(s);
  Engine e = engine_from_bytes(engine_to_bytes(o.g, {"cpu", ""}), "engine file m.kiln");
  EXPECT_EQ(test::count_op(e.graph, "kiln.GroupNorm"), 1);
  const TensorMap feeds = test::random_feeds(o.g, 7, -2, 5);
  const Tensor want = CpuExecutor(o.g).run(feeds).at("y");
  EXPECT_TRUE(CpuExecutor(e.graph).run(feeds).at("y").same_bytes(want));
  convert_to_fp16(o.g);
  const Node* n = nullptr;
  for (const Node& node : o.g.nodes)
    if (node.op_type == "GroupNorm") n = &node;
  ASSERT_NE(n, nullptr);
  for (const std::string& v : n->inputs) EXPECT_EQ(o.g.value(v).type.dtype, DType::kF16) << v;
  EXPECT_LE(test::compare_to_golden(CpuExecutor(o.g).run(feeds).at("y"), want).rel_l2, 2e-3);
}

TEST(FuseGroupNorm, Mask2FormerTiny) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "mask2former_tiny";
  ImportOptions import;
  const TensorMap feeds = test::reference_inputs(dir, &import);
  Graph fused = import_onnx_file((dir / "model.onnx").string(), import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  EXPECT_EQ(run_passes(fused, {"fuse_elementwise"}).fused.at("fuse_group_norm"), 5);
  run_passes(plain, {"fuse_group_norm", "fuse_elementwise"});
  EXPECT_EQ(test::count_op(fused, "kiln.GroupNorm"), 5);
  EXPECT_EQ(test::count_op(fused, "InstanceNormalization"), 0);
  EXPECT_EQ(test::count_op(plain, "Relu") - test::count_op(fused, "Relu"), 1);
  const TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(fused).run(feeds);
  for (const auto& [out, w] : want) EXPECT_LE(compare_output(got.at(out), w, out).rel_l2, 1e-5) << out;
}

TEST(FuseGroupNorm, AnchorDetrTiny) {
  test::expect_pass_keeps_anchor_detr_tiny({"fuse_group_norm"}, 1e-5, [](const Graph&, const Graph& g, const PassReport& r) {
    EXPECT_EQ(r.fused.at("fuse_group_norm"), 1);
    EXPECT_EQ(test::count_op(g, "InstanceNormalization"), 0);
  });
}

}  // namespace
}  // namespace kiln
