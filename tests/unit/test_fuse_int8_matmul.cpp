// fuse_int8_matmul: op counts (a Q/DQ MatMul; segformer_tiny through insert_qdq), the fused
// graph against the unfused Q/DQ graph on the CPU reference, and the forms it must leave alone
// (zero points ≠ 0, uint8 activations, scales along K, a weight that is not a constant, Q and
// DQ scales that differ). Also which ops an INT8 engine lacks on CUDA (quant/cuda_coverage.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "../ops/harness.h"
#include "io/npy.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "ops/quantize/int8_matmul.h"
#include "passes/convert_precision.h"
#include "passes/infer_shapes.h"
#include "passes/pipeline.h"
#include "quant/collect_ranges.h"
#include "quant/cuda_coverage.h"
#include "passes/fuse_int8_matmul.h"
#include "quant/insert_qdq.h"
#include "quant/quant_targets.h"
#include "runtime/cpu_executor.h"
#include "runtime/output_compare.h"

namespace kiln::quant {
namespace {

constexpr int64_t M = 6, K = 20, N = 5;

// What a variant changes in the Q/DQ MatMul model below.
struct Variant {
  Tensor x_zero = Tensor::scalar<int8_t>(0);  // undefined: omitted (uint8)
  float dq_scale = 0.02f;                    // the activation DequantizeLinear's scale
  Tensor w_scale = test::random_tensor(DType::kF32, {N}, 3, 0.005, 0.02);
  int64_t w_axis = 1;
  Tensor w_zero = Tensor::from_vector<int8_t>({N}, std::vector<int8_t>(N, 0));
  bool w_input = false;  // W a graph input instead of an initializer
};

Graph qdq_matmul(const Variant& v) {
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {M, K}).output("y", DType::kF32);
  if (v.w_input) b.input("w", DType::kI8, {K, N});
  else b.initializer("w", test::random_tensor(DType::kI8, {K, N}, 4, -127, 127));
  b.initializer("sx", Tensor::scalar<float>(0.02f));
  b.initializer("sxd", Tensor::scalar<float>(v.dq_scale));
  b.initializer("sw", v.w_scale);
  b.initializer("zw", v.w_zero);
  std::vector<std::string> q_in = {"x", "sx"};
  if (v.x_zero.defined()) {
    b.initializer("zx", v.x_zero);
    q_in.push_back("zx");
  }
  b.node("QuantizeLinear", q_in, {"xq"});
  std::vector<std::string> dq_in = {"xq", "sxd"};
  if (v.x_zero.defined()) dq_in.push_back("zx");
  b.node("DequantizeLinear", dq_in, {"xd"});
  test::set_int_attr(b.node("DequantizeLinear", {"w", "sw", "zw"}, {"wd"}), "axis", v.w_axis);
  b.node("MatMul", {"xd", "wd"}, {"y"});
  return import_onnx_bytes(b.bytes(), ".", "qdq.onnx");
}

TEST(FuseInt8MatMul, QdqMatMulFusesAndMatchesUnfused) {
  Graph g = qdq_matmul({});
  Graph f = g;
  ASSERT_EQ(fuse_int8_matmul(f), 1);
  EXPECT_EQ(f.op_histogram(), (std::map<std::string, int>{{"kiln.Int8MatMul", 1}})) << "the Q/DQ pairs go";
  for (uint64_t seed : {10, 11, 12}) {
    const Tensor x = test::random_tensor(DType::kF32, {M, K}, seed, -3, 3);  // some of it saturates
    const Tensor want = CpuExecutor(g).run({{"x", x}}).at("y");
    // The Q/DQ graph rounds x̂ and ŵ to float32 and sums their products in float32; the fused node
    // rounds the exact integer sum once: a few float32 ulps of Σ|x̂ŵ| apart.
    test::expect_close(CpuExecutor(f).run({{"x", x}}).at("y"), test::to_doubles(want), 1e-5, 1e-5);
  }
}

// A quantizer's model through the whole pipeline: the int8 weight's DequantizeLinear is kept
// from folding until the fusion took it, so the MatMul runs as int8. With ModelOpt's fake-quant
// weights — float W → QuantizeLinear → DequantizeLinear — the first fold makes W int8 first, and
// the bias Add joins the Int8MatMul as FusedMatMul's would.
TEST(FuseInt8MatMul, PipelineFusesExplicitQdqModels) {
  Graph g = qdq_matmul({});
  Graph unfused = g;
  run_passes(g);
  EXPECT_EQ(g.op_histogram(), (std::map<std::string, int>{{"kiln.Int8MatMul", 1}}));
  run_passes(unfused, {"fuse_int8_matmul"});
  EXPECT_EQ(unfused.op_histogram(), (std::map<std::string, int>{{"DequantizeLinear", 1}, {"MatMul", 1},
                                                                 {"QuantizeLinear", 1}}))
      << "without the fusion the weight folds to float32 as before";
  const Tensor x = test::random_tensor(DType::kF32, {M, K}, 70, -2, 2);
  test::expect_close(CpuExecutor(g).run({{"x", x}}).at("y"),
                     test::to_doubles(CpuExecutor(unfused).run({{"x", x}}).at("y")), 1e-5, 1e-5);

  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {M, K}).output("y", DType::kF32);
  b.initializer("w", test::random_tensor(DType::kF32, {K, N}, 71, -0.5, 0.5));
  b.initializer("sw", test::random_tensor(DType::kF32, {N}, 72, 0.003, 0.005));
  b.initializer("zw", Tensor::from_vector<int8_t>({N}, std::vector<int8_t>(N, 0)));
  b.initializer("sx", Tensor::scalar<float>(0.02f));
  b.initializer("zx", Tensor::scalar<int8_t>(0));
  b.initializer("bias", test::random_tensor(DType::kF32, {N}, 73));
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "sx", "zx"}, {"xd"});
  test::set_int_attr(b.node("QuantizeLinear", {"w", "sw", "zw"}, {"wq"}), "axis", 1);
  test::set_int_attr(b.node("DequantizeLinear", {"wq", "sw", "zw"}, {"wd"}), "axis", 1);
  b.node("MatMul", {"xd", "wd"}, {"p"});
  b.node("Add", {"p", "bias"}, {"y"});
  Graph fake = import_onnx_bytes(b.bytes(), ".", "fake_quant.onnx");
  Graph fake_unfused = fake;
  run_passes(fake);
  // fuse_matmul_epilogue then gives the Int8MatMul its bias.
  EXPECT_EQ(fake.op_histogram(), (std::map<std::string, int>{{"kiln.Int8MatMul", 1}}));
  EXPECT_EQ(fake.nodes[0].inputs.size(), 5u);
  run_passes(fake_unfused, {"fuse_int8_matmul"});
  test::expect_close(CpuExecutor(fake).run({{"x", x}}).at("y"),
                     test::to_doubles(CpuExecutor(fake_unfused).run({{"x", x}}).at("y")), 1e-5, 1e-5);
}

// A quantizer's linear layer with bias, GELU and residual, 3-D tokens: one Int8MatMul carrying
// the whole epilogue; equal to the graph without the int8 fusion (Q/DQ, float MatMul) up to
// float32 rounding of the sums.
TEST(FuseInt8MatMul, ExplicitQdqLayerTakesBiasActivationAndResidual) {
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {2, M, K}).input("r", DType::kF32, {2, M, N}).output("y", DType::kF32);
  b.initializer("w", test::random_tensor(DType::kI8, {K, N}, 80, -127, 127));
  b.initializer("sw", test::random_tensor(DType::kF32, {N}, 81, 0.005, 0.02));
  b.initializer("sx", Tensor::scalar<float>(0.02f));
  b.initializer("zx", Tensor::scalar<int8_t>(0));
  b.initializer("bias", test::random_tensor(DType::kF32, {N}, 82));
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "sx", "zx"}, {"xd"});
  test::set_int_attr(b.node("DequantizeLinear", {"w", "sw"}, {"wd"}), "axis", 1);
  b.node("MatMul", {"xd", "wd"}, {"p"});
  b.node("Add", {"bias", "p"}, {"pb"});
  b.node("Relu", {"pb"}, {"a"});
  b.node("Add", {"a", "r"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "layer.onnx");
  Graph unfused = g;
  run_passes(g);
  EXPECT_EQ(g.op_histogram(), (std::map<std::string, int>{{"kiln.Int8MatMul", 1}}));
  ASSERT_EQ(g.nodes[0].inputs.size(), 6u);
  EXPECT_EQ(g.nodes[0].attrs.get_string("activation"), "relu");
  run_passes(unfused, {"fuse_int8_matmul"});
  EXPECT_EQ(unfused.op_histogram()["kiln.FusedMatMul"], 1);
  const TensorMap feeds = {{"x", test::random_tensor(DType::kF32, {2, M, K}, 83, -2, 2)},
                           {"r", test::random_tensor(DType::kF32, {2, M, N}, 84)}};
  test::expect_close(CpuExecutor(g).run(feeds).at("y"), test::to_doubles(CpuExecutor(unfused).run(feeds).at("y")),
                     1e-5, 1e-5);
}

TEST(FuseInt8MatMul, PerTensorWeightScaleFuses) {
  Variant v;
  v.w_scale = Tensor::scalar<float>(0.01f);
  v.w_zero = Tensor::scalar<int8_t>(0);
  Graph g = qdq_matmul(v);
  Graph f = g;
  ASSERT_EQ(fuse_int8_matmul(f), 1);
  const Tensor x = test::random_tensor(DType::kF32, {M, K}, 20, -2, 2);
  test::expect_close(CpuExecutor(f).run({{"x", x}}).at("y"), test::to_doubles(CpuExecutor(g).run({{"x", x}}).at("y")),
                     1e-5, 1e-5);
}

TEST(FuseInt8MatMul, LeavesOtherQuantizationAlone) {
  const std::vector<std::pair<const char*, std::function<void(Variant&)>>> cases = {
      {"activation zero point 3", [](Variant& v) { v.x_zero = Tensor::scalar<int8_t>(3); }},
      {"uint8 activation (no zero point)", [](Variant& v) { v.x_zero = Tensor(); }},
      {"uint8 activation, zero point 0", [](Variant& v) { v.x_zero = Tensor::scalar<uint8_t>(0); }},
      {"Q and DQ scales differ", [](Variant& v) { v.dq_scale = 0.03f; }},
      {"weight scale along K (axis 0)",
       [](Variant& v) {
         v.w_axis = 0;
         v.w_scale = test::random_tensor(DType::kF32, {K}, 5, 0.005, 0.02);
         v.w_zero = Tensor::from_vector<int8_t>({K}, std::vector<int8_t>(K, 0));
       }},
      {"weight zero point 1", [](Variant& v) { v.w_zero = Tensor::from_vector<int8_t>({N}, {0, 0, 1, 0, 0}); }},
      {"weight not a constant", [](Variant& v) { v.w_input = true; }},
  };
  for (const auto& [what, change] : cases) {
    Variant v;
    change(v);
    Graph g = qdq_matmul(v);
    EXPECT_EQ(fuse_int8_matmul(g), 0) << what;
    EXPECT_EQ(g.op_histogram()["MatMul"], 1) << what;
  }
}

// A linear layer with bias, ReLU and residual: the passes make it a FusedMatMul, insert_qdq puts
// the Q/DQ pairs around it, and the fusion keeps its whole epilogue.
TEST(FuseInt8MatMul, FusedMatMulKeepsItsEpilogue) {
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {2, M, K}).input("r", DType::kF32, {2, M, N}).output("y", DType::kF32);
  b.initializer("w", test::random_tensor(DType::kF32, {K, N}, 30, -0.5, 0.5));
  b.initializer("bias", test::random_tensor(DType::kF32, {N}, 31));
  b.node("MatMul", {"x", "w"}, {"p"});
  b.node("Add", {"p", "bias"}, {"pb"});
  b.node("Relu", {"pb"}, {"a"});
  b.node("Add", {"a", "r"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "linear.onnx");
  run_passes(g);
  ASSERT_EQ(g.op_histogram()["kiln.FusedMatMul"], 1);
  const TensorMap feeds = {{"x", test::random_tensor(DType::kF32, {2, M, K}, 32, -2, 2)},
                           {"r", test::random_tensor(DType::kF32, {2, M, N}, 33)}};
  RangeCollector c(find_quant_targets(g).activations);
  c.add_run(g, feeds);
  insert_qdq_int8(g, c.amax(Calibrator::kMinMax, 100));
  Graph f = g;
  ASSERT_EQ(fuse_int8_matmul(f), 1);
  EXPECT_EQ(f.op_histogram(), (std::map<std::string, int>{{"kiln.Int8MatMul", 1}}));
  for (const Node& n : f.nodes) {
    EXPECT_EQ(n.attrs.get_string("activation"), "relu");
    EXPECT_EQ(n.inputs.size(), 6u) << "bias and residual kept";
    EXPECT_EQ(f.value(n.inputs[2]).constant->dims(), (Dims{N, K})) << "W stored transposed";
  }
  test::expect_close(CpuExecutor(f).run(feeds).at("y"), test::to_doubles(CpuExecutor(g).run(feeds).at("y")), 1e-5,
                     1e-5);
}

// segformer_tiny calibrated on its input: every one of its 35 FusedMatMuls (the 4 patch
// embeddings among them: fuse_token_im2col_conv) becomes an Int8MatMul; the classifier Conv keeps
// its Q/DQ. Fused and unfused logits differ only where a float32
// rounding difference moves a later activation across an int8 rounding boundary (on its own
// input none does: the classifier Conv reads re-quantized activations, and the logits agree
// bit for bit).
TEST(FuseInt8MatMul, SegformerTinyEveryGemmFuses) {
  const std::filesystem::path dir = std::filesystem::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  Graph g = import_onnx_file((dir / "model.onnx").string());
  run_passes(g);
  const TensorMap feeds = {{"pixel_values", read_npy((dir / "inputs" / "pixel_values.npy").string())}};
  RangeCollector c(find_quant_targets(g).activations);
  c.add_run(g, feeds);
  insert_qdq_int8(g, c.amax(Calibrator::kMinMax, 100));
  Graph f = g;
  EXPECT_EQ(fuse_int8_matmul(f), 30);  // each block's K and V one GEMM (fuse_kv_projection)
  auto h = f.op_histogram();
  EXPECT_EQ(h["kiln.Int8MatMul"], 30);  // not the picture's embedding: a float PatchEmbedTokens
  EXPECT_EQ(h["kiln.FusedMatMul"], 0);
  EXPECT_EQ(h["Conv"], 1);
  EXPECT_EQ(h["DequantizeLinear"], 2) << "the Conv's activation and weight";
  EXPECT_EQ(h["QuantizeLinear"], 1);
  const Tensor yf = CpuExecutor(f).run(feeds).at("logits"), yg = CpuExecutor(g).run(feeds).at("logits");
  const OutputComparison cmp = compare_output(yf, yg, "logits");
  std::printf("[ int8 ] segformer_tiny fused vs Q/DQ: rel L2 %.3g, labels %.5f\n", cmp.rel_l2,
              cmp.label_agreement.value_or(-1));
  EXPECT_LT(cmp.rel_l2, 1e-3);
  EXPECT_GE(cmp.label_agreement.value_or(0), 0.999);
  EXPECT_EQ(fuse_int8_matmul(f), 0) << "nothing left to fuse";
}

// Converted to fp16 storage, the fused node reads float16 X but keeps its float32 scales: fp16
// would move them, and with them every dequantized value.
TEST(FuseInt8MatMul, Fp16ConversionKeepsTheScalesFloat32) {
  Graph g = qdq_matmul({});
  infer_shapes(g);
  fuse_int8_matmul(g);
  Tensor x = test::random_tensor(DType::kF32, {M, K}, 40, -2, 2);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = f16_to_float(float_to_f16(x.data<float>()[i]));
  const Tensor want = CpuExecutor(g).run({{"x", x}}).at("y");  // x already exact in fp16
  convert_to_fp16(g);
  bool seen = false;
  for (const Node& n : g.nodes)
    if (n.op_type == kInt8MatMulOp) {
      seen = true;
      EXPECT_EQ(g.value(n.inputs[0]).type.dtype, DType::kF16);
      EXPECT_EQ(g.value(n.inputs[1]).type.dtype, DType::kF32);
      EXPECT_EQ(g.value(n.inputs[3]).type.dtype, DType::kF32);
    }
  ASSERT_TRUE(seen);
  // The same int8 products; only Y's rounding to fp16 (2^-11 of it) differs.
  test::expect_close(CpuExecutor(g).run({{"x", x}}).at("y"), test::to_doubles(want), 1e-6, 4.9e-4);
}

TEST(Int8CudaCoverage, NamesOpsWithoutKernels) {
  test::ModelBuilder b(17);
  b.input("a", DType::kI8, {2, 3}).input("c", DType::kI8, {3, 4}).output("y", DType::kI32);
  b.node("MatMulInteger", {"a", "c"}, {"y"});
  const Graph g = import_onnx_bytes(b.bytes(), ".", "mmi.onnx");
  EXPECT_EQ(ops_without_cuda_kernel_in(g), std::vector<std::string>{"MatMulInteger"});
  Graph q = qdq_matmul({});
  fuse_int8_matmul(q);
#ifdef KILN_WITH_CUDA
  EXPECT_TRUE(cuda_runs_int8());
  EXPECT_TRUE(ops_without_cuda_kernel_in(q).empty());
#else
  EXPECT_FALSE(cuda_runs_int8());
  EXPECT_EQ(ops_without_cuda_kernel_in(q), std::vector<std::string>{"kiln.Int8MatMul"});
#endif
}

}  // namespace
}  // namespace kiln::quant
