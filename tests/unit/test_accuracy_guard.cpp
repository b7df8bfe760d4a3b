// The accuracy guard (quant/accuracy_guard.h) on three chained GEMMs whose middle one reads an
// activation with one outlier channel (its weights scaled 1000× into that channel, the next
// layer's row scaled 1/1000 back: the float outputs do not see it). Quantized per tensor, that
// activation's step is ~1000× too coarse for every other channel, so the middle layer is the
// one to keep in float — found by measuring, whatever its place in the graph. Also: a loose
// budget keeps none, an impossible one is refused naming the best figure, and insert_qdq's
// keep_float leaves exactly the named GEMM without Q/DQ.
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "quant/accuracy_guard.h"
#include "quant/collect_ranges.h"
#include "quant/quant_targets.h"
#include "quant/quantize_graph.h"
#include "runtime/layer_cost.h"
#include "runtime/specialize.h"

namespace kiln::quant {
namespace {

constexpr int64_t K = 16, kOutlier = 3;

// x [B, 16] → Relu(x·w1) → Relu(·w2) → ·w3 → y [B, 8]; B symbolic.
Graph outlier_model() {
  Tensor w1 = test::random_tensor(DType::kF32, {K, K}, 31), w2 = test::random_tensor(DType::kF32, {K, K}, 32);
  for (int64_t k = 0; k < K; ++k) {
    float& into = w1.data<float>()[k * K + kOutlier];
    into = 1000 * std::fabs(into);  // x ≥ 0: that channel is large and survives the Relu
    w2.data<float>()[kOutlier * K + k] /= 1000;
  }
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {-1, K}).output("y", DType::kF32);
  b.initializer("w1", w1).initializer("w2", w2).initializer("w3", test::random_tensor(DType::kF32, {K, 8}, 33));
  b.node("MatMul", {"x", "w1"}, {"m1"});
  b.node("Relu", {"m1"}, {"h1"});
  b.node("MatMul", {"h1", "w2"}, {"m2"});
  b.node("Relu", {"m2"}, {"h2"});
  b.node("MatMul", {"h2", "w3"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "outlier.onnx");
  run_passes(g);
  return g;
}

struct OutlierCase {
  Graph g = outlier_model();
  std::vector<TensorMap> held_out;
  std::map<std::string, double> amax;
  std::vector<std::string> targets;  // the GEMMs' outputs, in graph order
  OutlierCase() {
    RangeCollector c(find_quant_targets(g).activations);
    EngineBuild eb;
    for (uint64_t seed : {41, 42}) {  // calibration
      const TensorMap f = {{"x", test::random_tensor(DType::kF32, {24, K}, seed, 0, 1)}};
      c.add_run(specialize(g, dims_of(f), eb, "model"), f);
    }
    amax = c.amax(Calibrator::kMinMax, 100);
    for (int64_t rows : {32, 20})  // held out, two batch sizes: two specialized graphs
      held_out.push_back({{"x", test::random_tensor(DType::kF32, {rows, K}, 50 + uint64_t(rows), 0, 1)}});
    for (size_t i : find_quant_targets(g).consumers) targets.push_back(g.nodes[i].outputs[0]);
  }
};

TEST(AccuracyGuard, KeepsTheOutlierLayerInFloat) {
  OutlierCase s;
  ASSERT_EQ(s.targets.size(), 3u);
  const GuardResult r = guard_accuracy(s.g, s.amax, s.held_out, parse_accuracy_budget("l2:0.05"), EngineBuild{});
  std::printf("[ guard ] all int8: rel L2 %.4g; sensitivities:", r.all_int8.rel_l2);
  for (const GuardLayer& l : r.layers) std::printf(" %s %.4g", l.output.c_str(), l.alone.rel_l2);
  std::printf("; chosen %.4g\n", r.chosen.rel_l2);
  ASSERT_EQ(r.layers.size(), 3u);
  EXPECT_EQ(r.layers[0].output, s.targets[1]) << "the middle GEMM is the most sensitive";
  EXPECT_GT(r.layers[0].alone.rel_l2, 10 * r.layers[1].alone.rel_l2);
  EXPECT_EQ(r.keep_float, (std::set<std::string>{s.targets[1]}));
  EXPECT_FALSE(within_budget(r.all_int8, r.budget));
  EXPECT_LE(r.chosen.rel_l2, 0.05);
  EXPECT_GT(r.chosen.rel_l2, 0) << "two GEMMs are still int8";
  EXPECT_EQ(r.inputs, 2);
  EXPECT_EQ(r.given_back, 0);
  EXPECT_EQ(r.evaluations, 3 + 1 + 1 + 1);  // sensitivities, all int8, one kept, trying to give it back
  const Graph at32 = specialize(s.g, dims_of(s.held_out[0]), EngineBuild{}, "g");
  for (const Node& n : at32.nodes) {
    if (n.outputs[0] == s.targets[1]) {
      EXPECT_DOUBLE_EQ(r.layers[0].flops, layer_cost(at32, n).flops) << "at the first input's dims";
    }
  }
  EXPECT_GE(r.layers[0].flops, 2.0 * 32 * K * K);

  // The chosen graph as the build makes it: the kept GEMM float, the others kiln.Int8MatMul, and
  // its outputs the figure the guard measured.
  Graph q = s.g;
  const QuantizeReport qr = quantize_graph(q, s.amax, {}, r.keep_float);
  EXPECT_EQ(qr.int8_gemms, 2);
  EXPECT_EQ(q.op_histogram()["kiln.Int8MatMul"], 2);
  EXPECT_EQ(q.op_histogram()["MatMul"], 1);
  EXPECT_EQ(q.op_histogram().count("QuantizeLinear"), 0u);
  AgreementTally t;
  for (const TensorMap& f : s.held_out) {
    const EngineBuild eb;
    t.add(CpuExecutor(specialize(q, dims_of(f), eb, "q")).run(f), CpuExecutor(specialize(s.g, dims_of(f), eb, "g")).run(f),
          {"y"});
  }
  EXPECT_DOUBLE_EQ(t.result().rel_l2, r.chosen.rel_l2);
}

TEST(AccuracyGuard, ALooseBudgetKeepsNothing) {
  OutlierCase s;
  const GuardResult r = guard_accuracy(s.g, s.amax, s.held_out, parse_accuracy_budget("l2:10"), EngineBuild{});
  EXPECT_TRUE(r.keep_float.empty());
  EXPECT_EQ(r.evaluations, 3 + 1);
  EXPECT_DOUBLE_EQ(r.chosen.rel_l2, r.all_int8.rel_l2);
  EXPECT_GT(r.chosen.rel_l2, 0.05) << "the outlier layer is int8 too";
}

TEST(AccuracyGuard, AnImpossibleBudgetNamesTheBestFigure) {
  OutlierCase s;
  try {
    guard_accuracy(s.g, s.amax, s.held_out, parse_accuracy_budget("l2:0"), EngineBuild{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    const std::string m = e.what();
    EXPECT_NE(m.find("l2:0 cannot be met with any layer in int8: the best is rel L2 "), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST(AccuracyGuard, LabelsNeedClassScores) {
  OutlierCase s;
  try {
    guard_accuracy(s.g, s.amax, s.held_out, parse_accuracy_budget("labels:99"), EngineBuild{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("holds no class scores [N, C, ...]"), std::string::npos) << e.what();
  }
}

TEST(AccuracyGuard, KeptTargetsGetNoQdq) {
  OutlierCase s;
  Graph q = s.g;
  const QdqReport r = insert_qdq_int8(q, s.amax, {s.targets[0], s.targets[2]});
  EXPECT_EQ(r.activations, 1);
  EXPECT_EQ(r.weights, 1);
  EXPECT_EQ(q.op_histogram()["QuantizeLinear"], 1);
  const std::string middle_input = s.g.nodes[find_quant_targets(s.g).consumers[1]].inputs[0];
  for (const Node& n : q.nodes) {
    if (n.op_type == "QuantizeLinear") {
      EXPECT_EQ(n.inputs[0], middle_input);
    }
  }
  try {
    Graph again = s.g;
    insert_qdq_int8(again, s.amax, {"no_such_value"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'no_such_value'"), std::string::npos) << e.what();
  }
  // Ranges are needed only for what is quantized.
  const std::map<std::string, double> only_middle = {{middle_input, 1.0}};
  Graph partial = s.g;
  const std::set<std::string> ends = {s.targets[0], s.targets[2]};
  EXPECT_NO_THROW(insert_qdq_int8(partial, only_middle, ends));
}

}  // namespace
}  // namespace kiln::quant
