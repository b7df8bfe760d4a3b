// fuse_resize_sum_conv: a ResizeSum read only by a pointwise Conv writes tokens and the Conv
// becomes a FusedMatMul writing its NCHW output transposed (+ a Reshape). Fires on the decode
// head's sum + classifier (in code and in the SegFormer reference models), keeps the numbers
// (fp32 and fp16 engines), and leaves alone Convs that are not a per-pixel product over the
// sum alone.
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "fusion_test_util.h"
#include "model_pass_run.h"
#include "passes/convert_precision.h"

namespace kiln {
namespace {

struct Head {
  int64_t b = 2, c = 12, h = 6, w = 7, c_out = 5;
  int64_t kernel = 1, stride = 1, group = 1, pad = 0;
  bool conv_bias = true;
  bool weight_input = false;  // W a graph input, not a constant
  bool second_reader = false;  // the sum also read by a Relu → graph output "z2"
  bool sum_output = false;     // the sum is also a graph output
  DType dt = DType::kF32;
};

//   x0 [B, H*W, C] ─▶ T ─▶ Reshape ───────────────────▶ Add ─▶ Relu ─▶ s ─▶ Conv(Wc, bc) ─▶ y
//   x1 [B, h*w, C] ─▶ T ─▶ Reshape ─▶ Resize(sizes) ─▶┘
test::ModelBuilder head_model(const Head& o) {
  test::ModelBuilder b;
  const int64_t h1 = (o.h + 1) / 2, w1 = (o.w + 1) / 2;
  b.input("x0", o.dt, {o.b, o.h * o.w, o.c}).input("x1", o.dt, {o.b, h1 * w1, o.c});
  b.output("y", o.dt);
  const Dims wd = {o.c_out, o.c / o.group, o.kernel, o.kernel};
  if (o.weight_input) b.input("Wc", o.dt, wd);
  else b.initializer("Wc", test::random_tensor(o.dt, wd, 3));
  b.initializer("bc", test::random_tensor(o.dt, {o.c_out}, 4));
  b.initializer("shape0", Tensor::from_vector<int64_t>({4}, {o.b, o.c, o.h, o.w}));
  b.initializer("shape1", Tensor::from_vector<int64_t>({4}, {o.b, o.c, h1, w1}));
  b.initializer("sizes", Tensor::from_vector<int64_t>({4}, {o.b, o.c, o.h, o.w}));
  for (const char* n : {"0", "1"}) {
    test::set_ints_attr(b.node("Transpose", {std::string("x") + n}, {std::string("t") + n}), "perm", {0, 2, 1});
    b.node("Reshape", {std::string("t") + n, std::string("shape") + n}, {std::string("img") + n});
  }
  onnx::NodeProto& r = b.node("Resize", {"img1", "", "", "sizes"}, {"r1"});
  onnx::AttributeProto* a = r.add_attribute();
  a->set_name("mode");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("linear");
  b.node("Add", {"img0", "r1"}, {"sum"});
  b.node("Relu", {"sum"}, {"s"});
  std::vector<std::string> in = {"s", "Wc"};
  if (o.conv_bias) in.push_back("bc");
  onnx::NodeProto& conv = b.node("Conv", in, {"y"});
  conv.set_name("classifier");
  test::set_ints_attr(conv, "kernel_shape", {o.kernel, o.kernel});
  test::set_ints_attr(conv, "strides", {o.stride, o.stride});
  test::set_ints_attr(conv, "pads", {o.pad, o.pad, o.pad, o.pad});
  test::set_int_attr(conv, "group", o.group);
  if (o.second_reader) {
    b.node("Relu", {"s"}, {"z2"});
    b.output("z2", o.dt);
  }
  if (o.sum_output) b.output("s", o.dt);
  return b;
}

struct Outcome {
  int fired = 0;
  Graph g;
};

// The pipeline with and without the pass on the same random inputs: fp32 to 1e-5 (the GEMM's
// sums in another order than the Conv's), fp16 to the unfused graph's own roundings.
Outcome run(const Head& o, uint64_t seed = 11) {
  const test::ModelBuilder m = head_model(o);
  Graph plain = import_onnx_bytes(m.bytes(), ".", "m.onnx");
  Graph g = import_onnx_bytes(m.bytes(), ".", "m.onnx");
  run_passes(plain, {"fuse_elementwise", "fuse_resize_sum_conv"});
  const PassReport r = run_passes(g, {"fuse_elementwise"});
  const bool f16 = o.dt == DType::kF16;
  test::expect_same_outputs(plain, g, test::random_feeds(plain, seed), f16 ? 2e-2 : 1e-5, f16 ? 4e-3 : 1e-5);
  return {r.fused.at("fuse_resize_sum_conv"), std::move(g)};
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

TEST(FuseResizeSumConv, TheClassifierBecomesATransposedGemm) {
  for (bool bias : {true, false}) {
    SCOPED_TRACE(bias);
    Head o;
    o.conv_bias = bias;
    Outcome r = run(o);
    EXPECT_EQ(r.fired, 1);
    EXPECT_EQ(r.g.op_histogram(), (std::map<std::string, int>{{"kiln.ResizeSum", 1}, {"kiln.FusedMatMul", 1}, {"Reshape", 1}}));
    const Node& sum = *find_op(r.g, "ResizeSum");
    EXPECT_EQ(sum.attrs.get_string("output_layout"), "tokens");
    EXPECT_EQ(shape_dims(*r.g.value(sum.outputs[0]).type.shape), (Dims{2, 42, 12}));
    const Node& gemm = *find_op(r.g, "FusedMatMul");
    EXPECT_EQ(gemm.name, "classifier");
    EXPECT_EQ(gemm.attrs.get_int("transpose_output"), 1);
    EXPECT_EQ(gemm.inputs[0], sum.outputs[0]);
    EXPECT_EQ(r.g.value(gemm.inputs[1]).constant->dims(), (Dims{12, 5}));
    EXPECT_EQ(shape_dims(*r.g.value(gemm.outputs[0]).type.shape), (Dims{2, 5, 42}));
    EXPECT_EQ(find_op(r.g, "Reshape")->outputs[0], "y");
  }
  // Odd sizes, one batch item, one output channel.
  Head odd;
  odd.b = 1, odd.c = 3, odd.h = 5, odd.w = 9, odd.c_out = 1;
  EXPECT_EQ(run(odd).fired, 1);
}

TEST(FuseResizeSumConv, HalfPrecisionGraphs) {
  Head o;
  o.dt = DType::kF16;
  EXPECT_EQ(run(o).fired, 1);
}

TEST(FuseResizeSumConv, RefusesConvsThatAreNotAPixelProductOfTheSumAlone) {
  auto refused = [](const char* why, Head o) {
    SCOPED_TRACE(why);
    Outcome r = run(o);
    EXPECT_EQ(r.fired, 0);
    EXPECT_EQ(test::count_op(r.g, "kiln.FusedMatMul"), 0);
    const Node* sum = find_op(r.g, "ResizeSum");
    ASSERT_NE(sum, nullptr);
    EXPECT_EQ(sum->attrs.get_string("output_layout", "nchw"), "nchw");
  };
  Head o;
  o.second_reader = true;
  refused("the sum read elsewhere", o);
  o = Head{};
  o.sum_output = true;
  refused("the sum a graph output", o);
  o = Head{};
  o.kernel = 3, o.pad = 1;
  refused("3x3", o);
  o = Head{};
  o.stride = 2;
  refused("strided", o);
  o = Head{};
  o.group = 2, o.c_out = 6;
  refused("grouped", o);
  o = Head{};
  o.weight_input = true;
  refused("weight not constant", o);
}

// The SegFormer reference models: the decode head's sum and classifier take the new form, and
// the logits stay as they were (1e-6 of the unfused graph's; 1e-5 of the goldens).
void expect_classifier_fused(const std::string& name, bool golden) {
  const test::ModelPassRun r = test::run_model_passes(name, {"fuse_resize_sum_conv"});
  EXPECT_EQ(r.report.fused.at("fuse_resize_sum_conv"), 1);
  const auto before = r.plain.op_histogram(), after = r.fused.op_histogram();
  auto count = [](const std::map<std::string, int>& h, const char* op) { return h.count(op) ? h.at(op) : 0; };
  EXPECT_EQ(count(after, "kiln.ResizeSum"), 1);
  EXPECT_EQ(count(after, "kiln.FusedMatMul") - count(before, "kiln.FusedMatMul"), 1);
  EXPECT_EQ(count(before, "kiln.FusedConv") + count(before, "Conv") - count(after, "kiln.FusedConv") - count(after, "Conv"), 1);
  EXPECT_EQ(count(after, "Reshape") - count(before, "Reshape"), 1);
  EXPECT_EQ(find_op(r.fused, "ResizeSum")->attrs.get_string("output_layout"), "tokens");
  test::expect_logits_kept(r, golden);
}

TEST(FuseResizeSumConv, SegformerTiny) { expect_classifier_fused("segformer_tiny", true); }
TEST(FuseResizeSumConv, SegformerB0) { expect_classifier_fused("segformer_b0", false); }

// An fp16 engine's graph: ResizeSum in fp16, the GEMM with fp16 operands and fp32 bias and
// logits (precision_islands' model-output island), within the fp16 model tests' bound.
TEST(FuseResizeSumConv, SegformerTinyFp16) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  EXPECT_EQ(run_passes(g, {"fuse_elementwise"}).fused.at("fuse_resize_sum_conv"), 1);
  convert_to_fp16(g);
  const Node* gemm = find_op(g, "FusedMatMul");
  for (const Node& n : g.nodes)
    if (n.op_type == "FusedMatMul" && n.attrs.get_int("transpose_output", 0) == 1) gemm = &n;
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(g.value(gemm->inputs[0]).type.dtype, DType::kF16);
  EXPECT_EQ(g.value(gemm->inputs[1]).type.dtype, DType::kF16);
  EXPECT_EQ(g.value(gemm->inputs[2]).type.dtype, DType::kF32);
  EXPECT_EQ(g.value(gemm->outputs[0]).type.dtype, DType::kF32);
  const Tensor want = read_npy((dir / "golden" / "logits.npy").string());
  EXPECT_LE(test::compare_to_golden(CpuExecutor(g).run(feeds).at("logits"), want).rel_l2, 1e-2);
}

}  // namespace
}  // namespace kiln
