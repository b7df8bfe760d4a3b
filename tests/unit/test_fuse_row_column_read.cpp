// fuse_row_column_read three ways: it fires on the exported RCDA read (built here as AnchorDETR's
// export computes it, and on anchor_detr_tiny's encoder and decoder), the fused graph computes
// what the unfused one does (CPU reference, fp32 within 1e-5), and it leaves alone what computes
// something else (a_row or V broadcast by the MatMuls, a Reshape that moves the query rows, a
// Squeeze of another axis or of every unit axis, a_row in another layout, intermediates read
// elsewhere, float64). Also: a model that names kiln.RowColumnRead itself imports and agrees, the
// fused node survives the engine file, and an fp16 engine's graph runs it in fp16.
#include <gtest/gtest.h>

#include <array>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "anchor_detr_tiny_check.h"
#include "fusion_test_util.h"
#include "onnx/importer.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "row_column_layer.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

using test::RowColumnLayer;

// Scores of either sign (softmax weights well spread), values in [-3, 3).
TensorMap feeds_for(const Graph& g, uint64_t seed) { return test::random_feeds(g, seed, -3, 3); }

struct Outcome {
  int fired = 0;
  int matmuls = 0, fused = 0;
  Graph g;
};

// The pipeline with and without the pass on the same inputs. fp32: within 1e-5 (the fused node
// sums in double and rounds once; the unfused MatMuls round per_col and sum in float). fp16: the
// unfused graph rounds per_col (|per_col| < 3) to fp16, 2^-11 relative, before the second MatMul
// weighs it by a_row (summing to 1): within 2e-3 absolute plus the output's own rounding.
Outcome run(const RowColumnLayer& s, uint64_t seed = 7) {
  const std::string bytes = test::build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_row_column_read"});
  const PassReport r = run_passes(g);
  const bool f16 = s.dt == DType::kF16;
  test::expect_same_outputs(plain, g, feeds_for(plain, seed), f16 ? 2e-3 : 1e-5, f16 ? 1e-3 : 1e-5);
  return {r.fused.at("fuse_row_column_read"), test::count_op(g, "MatMul"), test::count_op(g, "kiln.RowColumnRead"),
          std::move(g)};
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

TEST(FuseRowColumnRead, ReplacesTheChainByOneNode) {
  Outcome o = run(RowColumnLayer{});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.matmuls, 0);
  EXPECT_EQ(o.fused, 1);
  EXPECT_EQ(o.g.nodes.size(), 4u);  // the two Softmaxes, V's Reshape, the fused node
  EXPECT_EQ(test::count_op(o.g, "Unsqueeze"), 0);
  EXPECT_EQ(test::count_op(o.g, "Squeeze"), 0);
  const Node& n = *find_op(o.g, "RowColumnRead");
  EXPECT_EQ(n.name, "Squeeze_8");  // the Squeeze it ends in
  EXPECT_EQ(n.domain, "kiln");
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"a_col", "a_row", "v2"}));
  EXPECT_EQ(n.outputs, std::vector<std::string>{"out"});
  EXPECT_EQ(shape_to_string(*o.g.value("out").type.shape), "2x3x7x4");
}

TEST(FuseRowColumnRead, ExportVariants) {
  RowColumnLayer s;
  s.unsqueeze_axis = 3, s.squeeze_axis = -2;  // the same axes the other way round
  EXPECT_EQ(run(s).fired, 1);
  s = RowColumnLayer{};
  s.N = 0;  // [B, L, H]: no heads axis
  EXPECT_EQ(run(s).fired, 1);
  s.B = 0;  // [L, H]: no batch dims at all
  EXPECT_EQ(run(s).fired, 1);
  // One column, one row, one query, one head; D = 1 and W = D.
  for (auto [L, H, W, D] : {std::array<int64_t, 4>{7, 5, 1, 4}, {7, 1, 6, 4}, {1, 5, 6, 4}, {3, 4, 5, 1}, {9, 3, 4, 4}}) {
    s = RowColumnLayer{};
    s.L = L, s.H = H, s.W = W, s.D = D;
    SCOPED_TRACE("L H W D " + std::to_string(L) + " " + std::to_string(H) + " " + std::to_string(W) + " " +
                 std::to_string(D));
    EXPECT_EQ(run(s).fired, 1);
  }
  s = RowColumnLayer{};
  s.N = 1;
  EXPECT_EQ(run(s).fired, 1);
}

TEST(FuseRowColumnRead, HalfPrecision) {
  RowColumnLayer s;
  s.dt = DType::kF16;
  s.L = 40, s.H = 9, s.W = 13, s.D = 8;
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.g.value("out").type.dtype, DType::kF16);
}

// What computes something else keeps its MatMuls (and the graph its outputs).
TEST(FuseRowColumnRead, RefusesOtherComputations) {
  auto expect_refused = [](const RowColumnLayer& s, const char* what) {
    SCOPED_TRACE(what);
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 0);
    EXPECT_EQ(o.fused, 0);
    EXPECT_EQ(o.matmuls, 2);
  };
  RowColumnLayer s;
  s.row_shared_by_heads = true;
  expect_refused(s, "a_row [B, 1, L, W] broadcast over the heads");
  s = RowColumnLayer{};
  s.v_shared_by_batch = true;
  expect_refused(s, "V [1, N, H, W·D] broadcast over the batch");
  s = RowColumnLayer{};
  s.split_collapses_rows = true;
  expect_refused(s, "the Reshape gives [.., 1, W, L·D]: every query reads every query's per_col");
  s = RowColumnLayer{};
  s.N = 1, s.squeeze_axis = 1;
  expect_refused(s, "Squeeze of the heads axis: out [B, L, 1, D]");
  s = RowColumnLayer{};
  s.N = 1, s.squeeze_without_axes = true;
  expect_refused(s, "Squeeze of every unit axis: out [B, L, D]");
  s = RowColumnLayer{};
  s.N = 1, s.row_rows_first = true, s.unsqueeze_axis = 1;
  expect_refused(s, "Unsqueeze on axis 1 of a_row [B, L, 1, W]");
  s = RowColumnLayer{};
  s.dt = DType::kF64;
  expect_refused(s, "float64");
}

TEST(FuseRowColumnRead, KeepsIntermediatesReadElsewhere) {
  for (const char* v : {"prod", "split", "m3"}) {
    RowColumnLayer s;
    s.also_output = v;
    SCOPED_TRACE(v);
    EXPECT_EQ(run(s).fired, 0);
  }
  // a_row's Unsqueeze read elsewhere too: it stays for that reader, the read still fuses.
  RowColumnLayer s;
  s.also_output = "unsq";
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.matmuls, 0);
  EXPECT_EQ(test::count_op(o.g, "Unsqueeze"), 1);
}

TEST(FuseRowColumnRead, DisablePassKeepsTheMatMuls) {
  Graph g = import_onnx_bytes(test::build(RowColumnLayer{}), ".", "m.onnx");
  const PassReport r = run_passes(g, {"fuse_row_column_read"});
  EXPECT_EQ(r.fused.at("fuse_row_column_read"), 0);
  EXPECT_EQ(test::count_op(g, "MatMul"), 2);
  EXPECT_EQ(test::count_op(g, "kiln.RowColumnRead"), 0);
}

// A model that names kiln.RowColumnRead itself imports and agrees with the exported pattern.
TEST(FuseRowColumnRead, CustomNodeImports) {
  RowColumnLayer s;
  test::ModelBuilder b(17);
  auto* kiln_opset = b.proto().add_opset_import();
  kiln_opset->set_domain("kiln");
  kiln_opset->set_version(1);
  b.input("s_col", s.dt, {s.B, s.N, s.L, s.H});
  b.input("s_row", s.dt, {s.B, s.N, s.L, s.W});
  b.input("v", s.dt, {s.B, s.N, s.H, s.W, s.D});
  b.initializer("v_shape", test::i64s({s.B, s.N, s.H, s.W * s.D}));
  test::set_int_attr(b.node("Softmax", {"s_col"}, {"a_col"}), "axis", -1);
  test::set_int_attr(b.node("Softmax", {"s_row"}, {"a_row"}), "axis", -1);
  b.node("Reshape", {"v", "v_shape"}, {"v2"});
  b.node("RowColumnRead", {"a_col", "a_row", "v2"}, {"out"}).set_domain("kiln");
  b.output("out", s.dt);
  Graph custom = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  run_passes(custom);
  Graph plain = import_onnx_bytes(test::build(s), ".", "m.onnx");
  run_passes(plain, {"fuse_row_column_read"});
  EXPECT_EQ(shape_to_string(*custom.value("out").type.shape), "2x3x7x4");
  test::expect_same_outputs(plain, custom, feeds_for(plain, 21), 1e-5, 1e-5);
}

TEST(FuseRowColumnRead, SurvivesTheEngineFile) {
  Outcome o = run(RowColumnLayer{});
  Engine e = engine_from_bytes(engine_to_bytes(o.g, {"cpu", ""}), "engine file m.kiln");
  ASSERT_NE(find_op(e.graph, "RowColumnRead"), nullptr);
  const TensorMap feeds = feeds_for(o.g, 3);
  EXPECT_TRUE(CpuExecutor(e.graph).run(feeds).at("out").same_bytes(CpuExecutor(o.g).run(feeds).at("out")));
}

// An fp16 engine's graph (convert_to_fp16 after the pipeline): the fused node reads a_col, a_row
// and V and writes its output in fp16, within fp16 rounding of the fp32 graph.
TEST(FuseRowColumnRead, Fp16EngineRunsTheNodeInHalf) {
  Graph g = import_onnx_bytes(test::build(RowColumnLayer{}), ".", "m.onnx");
  run_passes(g);
  const TensorMap feeds = feeds_for(g, 5);
  const Tensor want = CpuExecutor(g).run(feeds).at("out");
  convert_to_fp16(g);
  const Node* n = find_op(g, "RowColumnRead");
  ASSERT_NE(n, nullptr);
  for (size_t i : {0, 1, 2}) EXPECT_EQ(g.value(n->inputs[i]).type.dtype, DType::kF16) << i;
  EXPECT_EQ(g.value(n->outputs[0]).type.dtype, DType::kF16);
  EXPECT_LE(test::compare_to_golden(CpuExecutor(g).run(feeds).at("out"), want).rel_l2, 2e-3);
}

// anchor_detr_tiny: 2 encoder and 2 decoder layers, one RCDA read each; both MatMuls of every
// read go, the outputs agree with the unfused graph and with the PyTorch goldens — at the
// reference size and at the second input set (batch 2, 96x128).
TEST(FuseRowColumnRead, AnchorDetrTiny) {
  // fuse_attention left out of the unfused graph too: without this pass it takes each column
  // read's softmax · V as masked attention (kiln.Attention with dv = W·D).
  test::expect_pass_keeps_anchor_detr_tiny({"fuse_row_column_read", "fuse_attention"}, 1e-5,
                                           [](const Graph& plain, const Graph& g, const PassReport& r) {
    EXPECT_EQ(r.fused.at("fuse_row_column_read"), 4);
    EXPECT_EQ(test::count_op(g, "kiln.RowColumnRead"), 4);
    // Two MatMuls per read, and per kiln.Attention of the full pipeline (which plain skips);
    // without fuse_attention, plain's self-attention score product is a kiln.HeadScores instead.
    const int scores_in_plain_only = test::count_op(plain, "kiln.HeadScores") - test::count_op(g, "kiln.HeadScores");
    EXPECT_EQ(scores_in_plain_only, 1);
    EXPECT_EQ(test::count_op(plain, "MatMul") - test::count_op(g, "MatMul"),
              8 + 2 * test::count_op(g, "kiln.Attention") - scores_in_plain_only);
    EXPECT_EQ(test::count_op(plain, "Squeeze") - test::count_op(g, "Squeeze"), 4);
  });
}

}  // namespace
}  // namespace kiln
