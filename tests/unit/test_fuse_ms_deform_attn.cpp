// fuse_ms_deform_attn three ways: it fires on the exported per-level GridSample pattern (built
// here as transformers' multi_scale_deformable_attention exports it, and on mask2former_tiny),
// the fused graph computes what the unfused one does (CPU reference, fp32 within 1e-5), and it
// leaves alone what computes something else (nearest, border/reflection padding, align_corners
// 1, another grid transform, levels out of order, intermediates read elsewhere). Also: a model
// that names kiln.MSDeformAttn itself imports and agrees, and the fused node survives the
// engine file.
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "fusion_test_util.h"
#include "ms_deform_attn_layer.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "passes/convert_precision.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

using test::Layer;
using test::build;
using test::i64;
using test::tokens;

// Locations partly outside [0, 1] (zero padding), positive weights.
TensorMap feeds_for(const Graph& g, uint64_t seed) {
  TensorMap f;
  for (const std::string& name : g.inputs) {
    const ValueType& t = g.value(name).type;
    const double lo = name == "loc" ? -0.3 : name == "attn" ? 0.0 : -1.0;
    const double hi = name == "loc" ? 1.3 : 1.0;
    f[name] = test::random_tensor(t.dtype, shape_dims(*t.shape), seed++, lo, hi);
  }
  return f;
}

struct Outcome {
  int fired = 0;
  int grid_samples = 0, fused = 0;
  Graph g;
};

// The pipeline with and without the pass on the same inputs: fp32 within 1e-5 (the fused node
// computes in double and rounds once); fp16 within what the unfused graph's per-node roundings allow.
Outcome run(const Layer& s, uint64_t seed = 7) {
  const std::string bytes = build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_ms_deform_attn"});
  const PassReport r = run_passes(g);
  const bool f16 = s.dt == DType::kF16;
  test::expect_same_outputs(plain, g, feeds_for(plain, seed), f16 ? 1e-2 : 1e-5, f16 ? 1e-2 : 1e-5);
  return {r.fused.at("fuse_ms_deform_attn"), test::count_op(g, "GridSample"), test::count_op(g, "kiln.MSDeformAttn"),
          std::move(g)};
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

TEST(FuseMsDeformAttn, ReplacesTheLevelsByOneNode) {
  Outcome o = run(Layer{});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.grid_samples, 0);
  EXPECT_EQ(o.fused, 1);
  EXPECT_EQ(o.g.nodes.size(), 1u);  // everything else was the pattern
  const Node& n = *find_op(o.g, "MSDeformAttn");
  EXPECT_EQ(n.name, "output_transpose");
  EXPECT_EQ(n.domain, "kiln");
  EXPECT_EQ(n.inputs[0], "value");
  EXPECT_EQ(n.inputs[3], "loc");
  EXPECT_EQ(n.inputs[4], "attn");
  EXPECT_EQ(n.outputs, std::vector<std::string>{"out"});
  EXPECT_EQ(o.g.value(n.inputs[1]).constant->to_int64_vector(), (std::vector<int64_t>{5, 7, 3, 4, 2, 3}));
  EXPECT_EQ(o.g.value(n.inputs[2]).constant->to_int64_vector(), (std::vector<int64_t>{0, 35, 47}));
}

TEST(FuseMsDeformAttn, ExportVariants) {
  Layer s;
  s.split = true;
  EXPECT_EQ(run(s).fired, 1);
  s = Layer{};
  s.stack = false;
  EXPECT_EQ(run(s).fired, 1);
  s = Layer{};
  s.shift_as_add = true, s.scale_first = true, s.weights_first = true;
  EXPECT_EQ(run(s).fired, 1);
  s = Layer{};
  s.opset = 20;
  s.mode = "linear";  // opset 20's name for bilinear
  EXPECT_EQ(run(s).fired, 1);
  s = Layer{};
  s.reduce_axis = 3;
  EXPECT_EQ(run(s).fired, 1);
  // One level, one point, one-pixel and one-row levels, batch 1.
  s = Layer{};
  s.B = 1, s.P = 1;
  s.levels = {{1, 1}, {1, 9}, {6, 1}};
  EXPECT_EQ(run(s).fired, 1);
  s.levels = {{4, 4}};
  EXPECT_EQ(run(s).fired, 1);
}

TEST(FuseMsDeformAttn, HalfPrecision) {
  Layer s;
  s.dt = DType::kF16;
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.g.value("out").type.dtype, DType::kF16);
}

// What computes something else must keep its GridSamples (and the graph its outputs).
// An fp16 engine's graph (convert_to_fp16 after the pipeline): the fused node reads value,
// locations and weights and writes its output in fp16, within fp16 rounding of the fp32 graph.
TEST(FuseMsDeformAttn, Fp16EngineRunsTheNodeInHalf) {
  Graph g = import_onnx_bytes(build(Layer{}), ".", "m.onnx");
  run_passes(g);
  const TensorMap feeds = feeds_for(g, 5);
  const Tensor want = CpuExecutor(g).run(feeds).at("out");
  convert_to_fp16(g);
  const Node* n = find_op(g, "MSDeformAttn");
  ASSERT_NE(n, nullptr);
  for (size_t i : {0, 3, 4}) EXPECT_EQ(g.value(n->inputs[i]).type.dtype, DType::kF16) << i;
  EXPECT_EQ(g.value(n->outputs[0]).type.dtype, DType::kF16);
  EXPECT_LE(test::compare_to_golden(CpuExecutor(g).run(feeds).at("out"), want).rel_l2, 2e-3);
}

TEST(FuseMsDeformAttn, RefusesOtherSampling) {
  auto expect_refused = [](const Layer& s, const char* what) {
    SCOPED_TRACE(what);
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 0);
    EXPECT_EQ(o.fused, 0);
    EXPECT_EQ(o.grid_samples, int(s.levels.size()));
  };
  Layer s;
  s.mode = "nearest";
  expect_refused(s, "nearest");
  s = Layer{};
  s.mode = "bicubic";
  expect_refused(s, "bicubic");
  s = Layer{};
  s.padding = "border";
  expect_refused(s, "border padding");
  s = Layer{};
  s.padding = "reflection";
  expect_refused(s, "reflection padding");
  s = Layer{};
  s.align_corners = 1;
  expect_refused(s, "align_corners 1");
  s = Layer{};
  s.shift = 0.5;
  expect_refused(s, "grid 2*loc - 0.5");
  s = Layer{};
  s.scale = 3;
  expect_refused(s, "grid 3*loc - 1");
  s = Layer{};
  s.shift_reversed = true;
  expect_refused(s, "grid 1 - 2*loc");
  s = Layer{};
  s.gather = {1, 0, 2};  // the first two levels' grids swapped
  expect_refused(s, "levels out of order");
}

TEST(FuseMsDeformAttn, KeepsIntermediatesReadElsewhere) {
  for (const char* v : {"gs1", "img0", "vm1", "gl2", "g2", "samples", "w", "sum", "o"}) {
    Layer s;
    s.also_output = v;
    SCOPED_TRACE(v);
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 0);
  }
  // The grid 2*loc - 1 read elsewhere too: it stays for that reader, the layer still fuses.
  Layer s;
  s.also_output = "grid";
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.grid_samples, 0);
}

TEST(FuseMsDeformAttn, DisablePassKeepsTheGridSamples) {
  Graph g = import_onnx_bytes(build(Layer{}), ".", "m.onnx");
  const PassReport r = run_passes(g, {"fuse_ms_deform_attn"});
  EXPECT_EQ(r.fused.at("fuse_ms_deform_attn"), 0);
  EXPECT_EQ(test::count_op(g, "GridSample"), 3);
}

// A model that names kiln.MSDeformAttn itself (an exporter's custom node) imports and agrees
// with the exported pattern.
TEST(FuseMsDeformAttn, CustomNodeImports) {
  Layer s;
  test::ModelBuilder b(17);
  auto* kiln_opset = b.proto().add_opset_import();
  kiln_opset->set_domain("kiln");
  kiln_opset->set_version(1);
  const int64_t L = int64_t(s.levels.size());
  b.input("value", s.dt, {s.B, tokens(s), s.H, s.D});
  b.input("loc", s.dt, {s.B, s.Q, s.H, L, s.P, 2});
  b.input("attn", s.dt, {s.B, s.Q, s.H, L, s.P});
  b.initializer("shapes", Tensor::from_vector<int64_t>({L, 2}, {5, 7, 3, 4, 2, 3}));
  b.initializer("starts", i64({0, 35, 47}));
  b.node("MSDeformAttn", {"value", "shapes", "starts", "loc", "attn"}, {"out"}).set_domain("kiln");
  b.output("out", s.dt);
  Graph custom = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  run_passes(custom);
  Graph plain = import_onnx_bytes(build(s), ".", "m.onnx");
  run_passes(plain, {"fuse_ms_deform_attn"});
  test::expect_same_outputs(plain, custom, feeds_for(plain, 21), 1e-5, 1e-5);
}

TEST(FuseMsDeformAttn, SurvivesTheEngineFile) {
  Outcome o = run(Layer{});
  Engine e = engine_from_bytes(engine_to_bytes(o.g, {"cpu", ""}), "engine file m.kiln");
  ASSERT_NE(find_op(e.graph, "MSDeformAttn"), nullptr);
  const TensorMap feeds = feeds_for(o.g, 3);
  EXPECT_TRUE(CpuExecutor(e.graph).run(feeds).at("out").same_bytes(CpuExecutor(o.g).run(feeds).at("out")));
}

// mask2former_tiny's pixel decoder: 2 layers of 3 levels; every GridSample goes, the outputs
// agree with the unfused graph and with the PyTorch goldens.
TEST(FuseMsDeformAttn, Mask2FormerTinyPixelDecoder) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "mask2former_tiny";
  ImportOptions import;
  const TensorMap feeds = test::reference_inputs(dir, &import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(plain, {"fuse_ms_deform_attn"});
  EXPECT_EQ(run_passes(g).fused.at("fuse_ms_deform_attn"), 2);
  EXPECT_EQ(test::count_op(plain, "GridSample"), 6);
  EXPECT_EQ(test::count_op(g, "GridSample"), 0);
  EXPECT_EQ(test::count_op(g, "kiln.MSDeformAttn"), 2);
  for (const Node& n : g.nodes)
    if (n.op_type == "MSDeformAttn") {
      EXPECT_EQ(g.value(n.inputs[1]).constant->to_int64_vector(), (std::vector<int64_t>{4, 4, 8, 8, 16, 16}));
      EXPECT_EQ(g.value(n.inputs[2]).constant->to_int64_vector(), (std::vector<int64_t>{0, 16, 80}));
    }
  const TensorMap fused = CpuExecutor(g).run(feeds), unfused = CpuExecutor(plain).run(feeds);
  for (const char* name : {"class_queries_logits", "masks_queries_logits"}) {
    SCOPED_TRACE(name);
    test::expect_close(fused.at(name), test::to_doubles(unfused.at(name)), 1e-5, 1e-5);
    const Tensor want = read_npy((dir / "golden" / (std::string(name) + ".npy")).string());
    EXPECT_LE(test::compare_to_golden(fused.at(name), want).rel_l2, 1e-5);
  }
}

}  // namespace
}  // namespace kiln
