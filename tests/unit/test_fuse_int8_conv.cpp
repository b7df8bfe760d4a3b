// fuse_int8_conv: a Q/DQ Conv and a FusedConv (insert_qdq's form) become kiln.Int8Conv and
// compute what the Q/DQ graph computes; grouped convs, scales along the input channels and
// asymmetric activations stay; segformer_tiny ends with no Q/DQ node once both fusions ran.
#include <gtest/gtest.h>

#include <filesystem>

#include "../ops/harness.h"
#include "io/npy.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/infer_shapes.h"
#include "passes/pipeline.h"
#include "quant/collect_ranges.h"
#include "passes/fuse_int8_conv.h"
#include "passes/fuse_int8_matmul.h"
#include "quant/insert_qdq.h"
#include "quant/quant_targets.h"
#include "runtime/cpu_executor.h"
#include "runtime/output_compare.h"

namespace kiln::quant {
namespace {

struct Variant {
  int64_t group = 1;
  int64_t w_axis = 0;
  int8_t x_zero = 0;
};

// x [1, 4, 11, 9] → Q/DQ → Conv(3×3, stride 2, pad 1) with DQ(int8 W [6, 4/group, 3, 3]) + bias.
Graph qdq_conv(const Variant& v) {
  const int64_t c_in = 4 / v.group, scales = v.w_axis == 0 ? 6 : c_in;
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {1, 4, 11, 9}).output("y", DType::kF32);
  b.initializer("w", test::random_tensor(DType::kI8, {6, c_in, 3, 3}, 50, -127, 127));
  b.initializer("sw", test::random_tensor(DType::kF32, {scales}, 51, 0.005, 0.02));
  b.initializer("bias", test::random_tensor(DType::kF32, {6}, 52));
  b.initializer("sx", Tensor::scalar<float>(0.03f));
  b.initializer("zx", Tensor::scalar<int8_t>(v.x_zero));
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "sx", "zx"}, {"xd"});
  test::set_int_attr(b.node("DequantizeLinear", {"w", "sw"}, {"wd"}), "axis", v.w_axis);
  auto& conv = b.node("Conv", {"xd", "wd", "bias"}, {"y"});
  test::set_int_attr(conv, "group", v.group);
  test::set_ints_attr(conv, "strides", {2, 2});
  test::set_ints_attr(conv, "pads", {1, 1, 1, 1});
  Graph g = import_onnx_bytes(b.bytes(), ".", "qdq_conv.onnx");
  infer_shapes(g);
  return g;
}

TEST(FuseInt8Conv, QdqConvFusesAndMatchesUnfused) {
  Graph g = qdq_conv({});
  Graph f = g;
  ASSERT_EQ(fuse_int8_conv(f), 1);
  EXPECT_EQ(f.op_histogram(), (std::map<std::string, int>{{"kiln.Int8Conv", 1}}));
  for (uint64_t seed : {53, 54}) {
    const Tensor x = test::random_tensor(DType::kF32, {1, 4, 11, 9}, seed, -5, 5);
    // As fuse_int8_matmul's test: float32 rounding of x̂·ŵ sums against one rounding of the exact sum.
    test::expect_close(CpuExecutor(f).run({{"x", x}}).at("y"), test::to_doubles(CpuExecutor(g).run({{"x", x}}).at("y")),
                       1e-5, 1e-5);
  }
}

TEST(FuseInt8Conv, LeavesOtherConvolutionsAlone) {
  Variant grouped;
  grouped.group = 2;
  Variant along_inputs;
  along_inputs.w_axis = 1;
  Variant asymmetric;
  asymmetric.x_zero = 5;
  for (const auto& [what, v] : std::vector<std::pair<const char*, Variant>>{
           {"group 2", grouped}, {"weight scale along input channels", along_inputs}, {"zero point 5", asymmetric}}) {
    Graph g = qdq_conv(v);
    EXPECT_EQ(fuse_int8_conv(g), 0) << what;
    EXPECT_EQ(g.op_histogram()["Conv"], 1) << what;
  }
}

// Conv + Add + Relu: a FusedConv after the passes; insert_qdq quantizes it, the fusion keeps Z
// and the activation (applied after Z).
TEST(FuseInt8Conv, FusedConvKeepsShortcutAndActivation) {
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {2, 3, 10, 10}).input("s", DType::kF32, {2, 5, 10, 10}).output("y", DType::kF32);
  b.initializer("w", test::random_tensor(DType::kF32, {5, 3, 3, 3}, 60));
  b.initializer("bias", test::random_tensor(DType::kF32, {5}, 61));
  auto& conv = b.node("Conv", {"x", "w", "bias"}, {"c"});
  test::set_ints_attr(conv, "pads", {1, 1, 1, 1});
  b.node("Add", {"c", "s"}, {"a"});
  b.node("Relu", {"a"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "conv_block.onnx");
  run_passes(g);
  ASSERT_EQ(g.op_histogram()["kiln.FusedConv"], 1);
  const TensorMap feeds = {{"x", test::random_tensor(DType::kF32, {2, 3, 10, 10}, 62, -2, 2)},
                           {"s", test::random_tensor(DType::kF32, {2, 5, 10, 10}, 63)}};
  RangeCollector c(find_quant_targets(g).activations);
  c.add_run(g, feeds);
  insert_qdq_int8(g, c.amax(Calibrator::kMinMax, 100));
  Graph f = g;
  ASSERT_EQ(fuse_int8_conv(f), 1);
  EXPECT_EQ(f.op_histogram(), (std::map<std::string, int>{{"kiln.Int8Conv", 1}}));
  for (const Node& n : f.nodes) {
    EXPECT_EQ(n.attrs.get_string("activation"), "relu");
    EXPECT_EQ(n.inputs.size(), 6u);
  }
  test::expect_close(CpuExecutor(f).run(feeds).at("y"), test::to_doubles(CpuExecutor(g).run(feeds).at("y")), 1e-5,
                     1e-5);
}

// segformer_tiny: 30 GEMMs (3 patch embeddings among them: fuse_token_im2col_conv; the picture's
// is a float kiln.PatchEmbedTokens; each block's K and V one: fuse_kv_projection) and the
// classifier convolution int8, no Q/DQ node left.
TEST(FuseInt8Conv, SegformerTinyHasNoQdqLeft) {
  const std::filesystem::path dir = std::filesystem::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  Graph g = import_onnx_file((dir / "model.onnx").string());
  run_passes(g);
  const TensorMap feeds = {{"pixel_values", read_npy((dir / "inputs" / "pixel_values.npy").string())}};
  RangeCollector c(find_quant_targets(g).activations);
  c.add_run(g, feeds);
  insert_qdq_int8(g, c.amax(Calibrator::kMinMax, 100));
  Graph f = g;
  EXPECT_EQ(fuse_int8_matmul(f), 30);
  EXPECT_EQ(fuse_int8_conv(f), 1);
  auto h = f.op_histogram();
  EXPECT_EQ(h["kiln.Int8Conv"], 1);
  EXPECT_EQ(h["Conv"] + h["QuantizeLinear"] + h["DequantizeLinear"], 0);
  const OutputComparison cmp = compare_output(CpuExecutor(f).run(feeds).at("logits"),
                                              CpuExecutor(g).run(feeds).at("logits"), "logits");
  std::printf("[ int8 ] segformer_tiny GEMMs and convs fused vs Q/DQ: rel L2 %.3g, labels %.5f\n", cmp.rel_l2,
              cmp.label_agreement.value_or(-1));
  // A float32 rounding difference can move a later activation across an int8 boundary: one step.
  EXPECT_LT(cmp.rel_l2, 1e-3);
  EXPECT_GE(cmp.label_agreement.value_or(0), 0.999);
}

}  // namespace
}  // namespace kiln::quant
