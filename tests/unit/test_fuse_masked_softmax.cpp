// fuse_masked_softmax three ways: it fires on masked_fill(mask, -inf) → Softmax as AnchorDETR
// exports it (built here, and anchor_detr_tiny's eight row/column softmaxes), the fused graph
// computes what the unfused one does (CPU reference; a fully masked row stays NaN), and it leaves
// alone what computes something else (another fill value, X broadcast by the Where, another
// Softmax axis, the Where read elsewhere, float64, the mask selecting X rather than the fill).
// Also: the fused node survives the engine file and an fp16 engine runs it in fp16.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "anchor_detr_tiny_check.h"
#include "fusion_test_util.h"
#include "onnx/importer.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

struct Layer {
  Dims x = {2, 3, 7, 11}, mask = {2, 1, 1, 11};
  DType dt = DType::kF32;
  float fill = -INFINITY;
  int64_t axis = -1;
  bool mask_keeps = false;   // Where(mask, X, -inf): the mask selects X, the fill the rest
  bool also_output = false;  // the Where's output is a graph output too
};

std::string build(const Layer& s) {
  test::ModelBuilder b(17);
  b.input("x", s.dt, s.x);
  b.input("mask", DType::kBool, s.mask);
  Tensor fill(s.dt, {});
  if (s.dt == DType::kF64) fill.data<double>()[0] = s.fill;
  else if (s.dt == DType::kF16) fill.data<f16>()[0].bits = float_to_f16(s.fill);
  else fill.data<float>()[0] = s.fill;
  b.initializer("fill", fill);
  if (s.mask_keeps) b.node("Where", {"mask", "x", "fill"}, {"s"});
  else b.node("Where", {"mask", "fill", "x"}, {"s"});
  test::set_int_attr(b.node("Softmax", {"s"}, {"y"}), "axis", s.axis);
  b.output("y", s.dt);
  if (s.also_output) b.output("s", s.dt);
  return b.bytes();
}

// Random scores and a mask about a third True, with row 0 of the mask all True where the mask
// has whole rows (a fully masked row: NaN in both graphs).
TensorMap feeds_for(const Graph& g, uint64_t seed) {
  TensorMap f = test::random_feeds(g, seed, -4, 4);
  Tensor& m = f.at("mask");
  for (int64_t i = 0; i < m.numel(); ++i) m.data<bool>()[i] = ((uint64_t(i) + seed) * 2654435761u >> 9) % 3 == 0;
  const int64_t n = m.rank() ? m.dims().back() : 1;
  if (m.numel() > n)
    for (int64_t i = 0; i < n; ++i) m.data<bool>()[i] = true;
  return f;
}

struct Outcome {
  int fired = 0;
  Graph g;
};

Outcome run(const Layer& s, uint64_t seed = 3) {
  const std::string bytes = build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_masked_softmax"});
  const PassReport r = run_passes(g);
  const bool f16 = s.dt == DType::kF16;
  test::expect_same_outputs(plain, g, feeds_for(plain, seed), f16 ? 1e-3 : 1e-7, f16 ? 1e-3 : 1e-7);
  return {r.fused.at("fuse_masked_softmax"), std::move(g)};
}

TEST(FuseMaskedSoftmax, ReplacesWhereAndSoftmax) {
  Outcome o = run(Layer{});
  EXPECT_EQ(o.fired, 1);
  ASSERT_EQ(o.g.nodes.size(), 1u);
  const Node& n = o.g.nodes[0];
  EXPECT_EQ(n.op_type, "MaskedSoftmax");
  EXPECT_EQ(n.domain, "kiln");
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"x", "mask"}));
  EXPECT_EQ(n.outputs, std::vector<std::string>{"y"});
}

TEST(FuseMaskedSoftmax, MaskShapes) {
  // mask as big as X, broadcast along leading axes only, one mask per row (whole rows), rank 1
  for (auto [x, mask] : {std::pair<Dims, Dims>{{4, 9}, {4, 9}}, {{2, 5, 6}, {6}}, {{3, 4, 5}, {3, 4, 1}},
                         {{13}, {13}}, {{2, 3, 1100}, {2, 1, 1100}}}) {
    Layer s;
    s.x = x, s.mask = mask;
    SCOPED_TRACE(dims_to_string(x) + " mask " + dims_to_string(mask));
    EXPECT_EQ(run(s).fired, 1);
  }
  Layer s;
  s.axis = 3;  // the last axis named positively
  EXPECT_EQ(run(s).fired, 1);
}

TEST(FuseMaskedSoftmax, HalfPrecision) {
  Layer s;
  s.dt = DType::kF16;
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.g.value("y").type.dtype, DType::kF16);
}

TEST(FuseMaskedSoftmax, RefusesOtherComputations) {
  auto expect_refused = [](const Layer& s, const char* what) {
    SCOPED_TRACE(what);
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 0);
    EXPECT_EQ(test::count_op(o.g, "Where"), 1);
    EXPECT_EQ(test::count_op(o.g, "Softmax"), 1);
  };
  Layer s;
  s.fill = -1e9f;
  expect_refused(s, "a finite fill: the masked elements keep a (tiny) weight, a fully masked row is uniform");
  s = Layer{};
  s.fill = INFINITY;
  expect_refused(s, "+inf fill");
  s = Layer{};
  s.mask_keeps = true;
  expect_refused(s, "Where(mask, X, -inf): the other polarity");
  s = Layer{};
  s.axis = 2;
  expect_refused(s, "Softmax over another axis");
  s = Layer{};
  s.x = {1, 3, 1, 11}, s.mask = {2, 1, 7, 11};
  expect_refused(s, "X broadcast by the Where");
  s = Layer{};
  s.dt = DType::kF64;
  expect_refused(s, "float64");
  s = Layer{};
  s.also_output = true;
  expect_refused(s, "the masked scores are a graph output too");
}

TEST(FuseMaskedSoftmax, DisablePassKeepsTheWhere) {
  Graph g = import_onnx_bytes(build(Layer{}), ".", "m.onnx");
  EXPECT_EQ(run_passes(g, {"fuse_masked_softmax"}).fused.at("fuse_masked_softmax"), 0);
  EXPECT_EQ(test::count_op(g, "Where"), 1);
}

TEST(FuseMaskedSoftmax, SurvivesTheEngineFile) {
  Outcome o = run(Layer{});
  Engine e = engine_from_bytes(engine_to_bytes(o.g, {"cpu", ""}), "engine file m.kiln");
  EXPECT_EQ(test::count_op(e.graph, "kiln.MaskedSoftmax"), 1);
  const TensorMap feeds = feeds_for(o.g, 4);
  EXPECT_TRUE(CpuExecutor(e.graph).run(feeds).at("y").same_bytes(CpuExecutor(o.g).run(feeds).at("y")));
}

// After convert_to_fp16 the node reads and writes fp16 (the mask stays bool), within fp16
// rounding of the fp32 graph.
TEST(FuseMaskedSoftmax, Fp16EngineRunsTheNodeInHalf) {
  Layer s;
  s.mask = {2, 3, 7, 11};  // no fully masked row: rel L2 needs finite outputs
  Graph g = import_onnx_bytes(build(s), ".", "m.onnx");
  run_passes(g);
  TensorMap feeds = feeds_for(g, 5);
  feeds.at("mask").data<bool>()[0] = false;
  for (int64_t i = 0; i < feeds.at("mask").numel(); i += 11) feeds.at("mask").data<bool>()[i] = false;
  const Tensor want = CpuExecutor(g).run(feeds).at("y");
  convert_to_fp16(g);
  const Node* n = nullptr;
  for (const Node& node : g.nodes)
    if (node.op_type == "MaskedSoftmax") n = &node;
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(g.value(n->inputs[0]).type.dtype, DType::kF16);
  EXPECT_EQ(g.value(n->inputs[1]).type.dtype, DType::kBool);
  EXPECT_EQ(g.value(n->outputs[0]).type.dtype, DType::kF16);
  EXPECT_LE(test::compare_to_golden(CpuExecutor(g).run(feeds).at("y"), want).rel_l2, 1e-3);
}

// anchor_detr_tiny: a row and a column softmax in each of 2 encoder and 2 decoder layers; the
// outputs agree with the unfused graph and the PyTorch goldens at both input sets.
TEST(FuseMaskedSoftmax, AnchorDetrTiny) {
  test::expect_pass_keeps_anchor_detr_tiny({"fuse_masked_softmax"}, 1e-6, [](const Graph& plain, const Graph& g, const PassReport& r) {
    EXPECT_EQ(r.fused.at("fuse_masked_softmax"), 8);
    EXPECT_EQ(test::count_op(g, "kiln.MaskedSoftmax"), 8);
    EXPECT_EQ(test::count_op(plain, "Where") - test::count_op(g, "Where"), 8);
  });
}

}  // namespace
}  // namespace kiln
