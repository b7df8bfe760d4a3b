// The INT8 Q/DQ rewrite: where it puts the pairs (op counts on a MatMul, a Conv and
// segformer_tiny), the scales and int8 weights it writes, and that the quantized graph computes
// what int8 rounding allows — an elementwise bound derived below for a MatMul, a relative bound
// for segformer_tiny — while a wrong scale breaks both bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "../ops/harness.h"
#include "io/npy.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "quant/collect_ranges.h"
#include "quant/insert_qdq.h"
#include "quant/quant_targets.h"
#include "runtime/cpu_executor.h"
#include "runtime/output_compare.h"

namespace kiln::quant {
namespace {

constexpr int64_t M = 8, K = 16, N = 12;

Graph matmul_model(const Tensor& w) {
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {M, K}).output("y", DType::kF32);
  b.initializer("w", w);
  b.node("MatMul", {"x", "w"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "matmul.onnx");
  run_passes(g);
  return g;
}

std::map<std::string, double> minmax_ranges(const Graph& g, const TensorMap& feeds) {
  RangeCollector c(find_quant_targets(g).activations);
  c.add_run(g, feeds);
  return c.amax(Calibrator::kMinMax, 100);
}

// Elements of yq outside the bound int8 rounding allows. With x̂ = x + a, |a| ≤ s_x/2 (x within
// the calibrated range: no clipping) and ŵ = w + b, |b| ≤ s_w[j]/2 per output column j,
//   |x̂·ŵ − x·w|_ij ≤ Σ_k |a||w_kj| + |x_ik||b| + |a||b| ≤ Σ_k s_x/2·|w_kj| + |x_ik|·s_w[j]/2 + s_x·s_w[j]/4,
// plus float32 rounding of the K-term sums (K·2⁻²³ of Σ|x̂||ŵ|, taken generously as 1e-5 of it).
int outside_bound(const Tensor& yq, const Tensor& y, const Tensor& x, const Tensor& w, double sx,
                  const std::vector<double>& sw) {
  int outside = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double bound = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double xv = std::fabs(x.data<float>()[i * K + k]), wv = std::fabs(w.data<float>()[k * N + j]);
        bound += sx / 2 * wv + xv * sw[size_t(j)] / 2 + sx * sw[size_t(j)] / 4;
        mag += (xv + sx) * (wv + sw[size_t(j)]);
      }
      const double err = std::fabs(double(yq.data<float>()[i * N + j]) - double(y.data<float>()[i * N + j]));
      outside += err > bound + 1e-5 * mag;
    }
  return outside;
}

TEST(InsertQdq, MatMulIsQuantizedWithinTheInt8Bound) {
  const Tensor w = test::random_tensor(DType::kF32, {K, N}, 11, -0.7, 0.7);
  const Tensor x = test::random_tensor(DType::kF32, {M, K}, 12, -3, 3);
  Graph g = matmul_model(w);
  const Tensor y = CpuExecutor(g).run({{"x", x}}).at("y");
  const std::map<std::string, double> amax = minmax_ranges(g, {{"x", x}});
  Graph q = g;
  const QdqReport r = insert_qdq_int8(q, amax);
  EXPECT_EQ(r.activations, 1);
  EXPECT_EQ(r.weights, 1);
  EXPECT_EQ(q.op_histogram(), (std::map<std::string, int>{{"DequantizeLinear", 2}, {"MatMul", 1}, {"QuantizeLinear", 1}}));

  // The weight: int8 in [−127, 127], per column (axis 1) scale max|w[:, j]| / 127; w itself gone.
  const Node* wdq = nullptr;
  for (const Node& n : q.nodes)
    if (n.op_type == "DequantizeLinear" && q.is_constant(n.inputs[0])) wdq = &n;
  ASSERT_NE(wdq, nullptr);
  EXPECT_EQ(wdq->attrs.get_int("axis"), 1);
  const Tensor& wq = *q.value(wdq->inputs[0]).constant;
  const Tensor& ws = *q.value(wdq->inputs[1]).constant;
  ASSERT_EQ(wq.dtype(), DType::kI8);
  ASSERT_EQ(ws.dims(), (Dims{N}));
  std::vector<double> sw(N);
  for (int64_t j = 0; j < N; ++j) {
    double m = 0;
    for (int64_t k = 0; k < K; ++k) m = std::max(m, double(std::fabs(w.data<float>()[k * N + j])));
    EXPECT_FLOAT_EQ(ws.data<float>()[j], float(m / 127)) << j;
    sw[size_t(j)] = ws.data<float>()[j];
  }
  int extremes = 0;
  for (int64_t i = 0; i < wq.numel(); ++i) {
    EXPECT_GE(wq.data<int8_t>()[i], -127);
    extremes += std::abs(wq.data<int8_t>()[i]) == 127;
  }
  EXPECT_GE(extremes, N) << "each column's largest |w| maps to ±127";
  EXPECT_FALSE(q.has_value("w"));
  const double sx = amax.at("x") / 127;

  const Tensor yq = CpuExecutor(q).run({{"x", x}}).at("y");
  EXPECT_EQ(outside_bound(yq, y, x, w, sx, sw), 0);
  EXPECT_GT(compare_output(yq, y, "y").rel_l2, 1e-4) << "the rounding is really there";

  // A scale a quarter too small clips x at a quarter of its range: far outside the bound.
  std::map<std::string, double> wrong = amax;
  wrong["x"] /= 4;
  Graph bad = g;
  insert_qdq_int8(bad, wrong);
  EXPECT_GT(outside_bound(CpuExecutor(bad).run({{"x", x}}).at("y"), y, x, w, sx, sw), M * N / 2);
}

TEST(InsertQdq, ConvWeightsArePerOutputChannel) {
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {1, 3, 9, 9}).output("y", DType::kF32);
  b.initializer("w", test::random_tensor(DType::kF32, {5, 3, 3, 3}, 21));
  b.initializer("b", test::random_tensor(DType::kF32, {5}, 22));
  b.node("Conv", {"x", "w", "b"}, {"c"});
  b.node("Relu", {"c"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "conv.onnx");
  run_passes(g);
  ASSERT_EQ(g.op_histogram().count("kiln.FusedConv"), 1u) << "the Relu joins the conv";
  const Tensor x = test::random_tensor(DType::kF32, {1, 3, 9, 9}, 23, -2, 2);
  const Tensor y = CpuExecutor(g).run({{"x", x}}).at("y");
  Graph q = g;
  insert_qdq_int8(q, minmax_ranges(g, {{"x", x}}));
  EXPECT_EQ(q.op_histogram(),
            (std::map<std::string, int>{{"DequantizeLinear", 2}, {"QuantizeLinear", 1}, {"kiln.FusedConv", 1}}));
  for (const Node& n : q.nodes)
    if (n.op_type == "DequantizeLinear" && q.is_constant(n.inputs[0])) {
      EXPECT_EQ(n.attrs.get_int("axis"), 0);
      EXPECT_EQ(q.value(n.inputs[1]).constant->dims(), (Dims{5}));
    }
  // Bias stays float; the rounding of 27-term sums of two 8-bit operands stays near 1%.
  EXPECT_LT(compare_output(CpuExecutor(q).run({{"x", x}}).at("y"), y, "y").rel_l2, 2e-2);
}

TEST(InsertQdq, MissingRangeNamesTheTensor) {
  Graph g = matmul_model(test::random_tensor(DType::kF32, {K, N}, 11));
  try {
    insert_qdq_int8(g, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
}

// Activation-by-activation products stay float: nothing to quantize in a MatMul of two inputs.
TEST(InsertQdq, ProductsOfTwoActivationsAreLeftFloat) {
  test::ModelBuilder b(17);
  b.input("a", DType::kF32, {4, 5}).input("c", DType::kF32, {5, 6}).output("y", DType::kF32);
  b.node("MatMul", {"a", "c"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "mm2.onnx");
  run_passes(g);
  EXPECT_TRUE(find_quant_targets(g).activations.empty());
}

// segformer_tiny: the optimized graph's 30 FusedMatMuls (each block's K and V projections one:
// fuse_kv_projection; per output column, as the two were) and 1 Conv all take Q/DQ; 30 distinct
// activations (GEMMs reading one tensor share it); 31 weights. Calibrated (min-max) on its
// own input, the logits stay within 2% rel L2 of fp32 and every label agrees. Why 2%: a tensor
// quantized to 127 steps of amax carries rounding noise of RMS (amax/127)/√12; its LayerNorm
// outputs have amax ≈ 4·RMS, so ≈ 0.9% per quantized operand. The normalizations rescale rather
// than accumulate it, so the logits carry the noise of a few operands in quadrature (measured
// 0.4%); 2% is about five operands' worth. Scales 16× too small (clipping every activation at a
// sixteenth of its range) must exceed it.
TEST(InsertQdq, SegformerTinyQuantizedAgreesWithFp32) {
  const std::filesystem::path dir = std::filesystem::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  Graph g = import_onnx_file((dir / "model.onnx").string());
  run_passes(g);
  const TensorMap feeds = {{"pixel_values", read_npy((dir / "inputs" / "pixel_values.npy").string())}};
  const Tensor y = CpuExecutor(g).run(feeds).at("logits");
  const QuantTargets t = find_quant_targets(g);
  EXPECT_EQ(t.activations.size(), 30u);  // not the picture's embedding: a float PatchEmbedTokens
  EXPECT_EQ(t.weights.size(), 31u);
  const std::map<std::string, double> amax = minmax_ranges(g, feeds);
  Graph q = g;
  const QdqReport r = insert_qdq_int8(q, amax);
  EXPECT_EQ(r.nodes_added, 30 * 2 + 31);
  auto h = q.op_histogram();
  EXPECT_EQ(h["QuantizeLinear"], 30);
  EXPECT_EQ(h["DequantizeLinear"], 61);
  EXPECT_EQ(h["kiln.FusedMatMul"], 30);  // 3 patch embeddings among them (fuse_token_im2col_conv)
  EXPECT_EQ(h["Conv"], 1);
  const OutputComparison c = compare_output(CpuExecutor(q).run(feeds).at("logits"), y, "logits");
  std::printf("[ int8 ] segformer_tiny vs fp32: rel L2 %.4g, labels %.4f\n", c.rel_l2, c.label_agreement.value_or(-1));
  EXPECT_LT(c.rel_l2, 2e-2);
  EXPECT_GT(c.rel_l2, 1e-4) << "quantized at all";
  ASSERT_TRUE(c.label_agreement);
  EXPECT_EQ(*c.label_agreement, 1.0);

  std::map<std::string, double> wrong = amax;
  for (auto& [name, a] : wrong) a /= 16;
  Graph bad = g;
  insert_qdq_int8(bad, wrong);
  EXPECT_GT(compare_output(CpuExecutor(bad).run(feeds).at("logits"), y, "y").rel_l2, 2e-2);
}

}  // namespace
}  // namespace kiln::quant
