// merge_linear_pointwise_conv: fires on the decode-head chain (and the SegFormers' four
// branches), keeps the numbers, and leaves chains whose semantics differ alone.
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "fusion_test_util.h"

namespace kiln {
namespace {

struct Chain {
  int64_t k = 8, c = 16, c_out = 12;
  const char* activation = nullptr;  // an op between MatMul+Add and the Transpose ("Relu")
  int64_t kernel = 1, stride = 1, group = 1;
  bool conv_bias = true;
  bool second_reader = false;  // the linear output also goes to a graph output
};

//   x [2, 12, K] ─MatMul(W)─▶ ─Add(b)─▶ [act] ─▶ Transpose ─▶ Reshape [2, C, 3, 4] ─▶ Conv ─▶ y
test::ModelBuilder chain_model(const Chain& o) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {2, 12, o.k}).output("y", DType::kF32);
  b.initializer("W", test::random_tensor(DType::kF32, {o.k, o.c}, 1));
  b.initializer("b", test::random_tensor(DType::kF32, {o.c}, 2));
  b.initializer("Wc", test::random_tensor(DType::kF32, {o.c_out, o.c / o.group, o.kernel, o.kernel}, 3));
  b.initializer("bc", test::random_tensor(DType::kF32, {o.c_out}, 4));
  b.initializer("shape", Tensor::from_vector<int64_t>({4}, {2, o.c, 3, 4}));
  b.node("MatMul", {"x", "W"}, {"m"});
  b.node("Add", {"m", "b"}, {"t"});
  std::string tokens = "t";
  if (o.activation) {
    b.node(o.activation, {"t"}, {"ta"});
    tokens = "ta";
  }
  if (o.second_reader) {
    b.node("Identity", {tokens}, {"tokens_out"});
    b.output("tokens_out", DType::kF32);
  }
  test::set_ints_attr(b.node("Transpose", {tokens}, {"ct"}), "perm", {0, 2, 1});
  b.node("Reshape", {"ct", "shape"}, {"img"});
  std::vector<std::string> in = {"img", "Wc"};
  if (o.conv_bias) in.push_back("bc");
  auto& conv = b.node("Conv", in, {"y"});
  const int64_t pad = o.kernel / 2;
  test::set_ints_attr(conv, "pads", {pad, pad, pad, pad});
  test::set_ints_attr(conv, "strides", {o.stride, o.stride});
  test::set_int_attr(conv, "group", o.group);
  return b;
}

int merged(const test::ModelBuilder& b, Graph* out = nullptr) {
  PassReport r;
  Graph g = test::fused_graph(b, &r);
  if (out) *out = std::move(g);
  return r.fused.at("merge_linear_pointwise_conv");
}

TEST(MergeLinearPointwiseConv, FiresAndKeepsTheNumbers) {
  for (bool bias : {true, false}) {
    SCOPED_TRACE(bias ? "conv bias" : "no conv bias");
    Chain o;
    o.conv_bias = bias;
    test::ModelBuilder b = chain_model(o);
    Graph g;
    ASSERT_EQ(merged(b, &g), 1);
    EXPECT_EQ(test::count_op(g, "Conv"), 0);
    EXPECT_EQ(test::count_op(g, "kiln.FusedMatMul"), 1);
    Graph ref = import_onnx_bytes(b.bytes(), ".", "m.onnx");
    run_passes(ref, {"merge_linear_pointwise_conv"});
    EXPECT_EQ(test::count_op(ref, "Conv"), 1);
    test::expect_same_outputs(ref, g, test::random_feeds(ref, 5), 1e-5, 1e-5);
  }
}

TEST(MergeLinearPointwiseConv, LeavesChainsThatDiffer) {
  auto none = [](Chain o, const char* why) {
    SCOPED_TRACE(why);
    EXPECT_EQ(merged(chain_model(o)), 0);
  };
  Chain relu;
  relu.activation = "Relu";
  none(relu, "an activation between the linear layer and the conv");
  Chain k3;
  k3.kernel = 3;
  none(k3, "a 3x3 conv");
  Chain s2;
  s2.stride = 2;
  none(s2, "a strided conv");
  Chain grouped;
  grouped.group = 4;
  grouped.c_out = 16;
  none(grouped, "a grouped conv");
  Chain shared;
  shared.second_reader = true;
  none(shared, "the tokens read elsewhere too");
  Chain wide;  // K·Cout = 64·64 is not fewer multiply-adds than 64·16 + 16·64
  wide.k = 64;
  wide.c_out = 64;
  none(wide, "no fewer multiply-adds");
}

// The reference SegFormers: each decode-head branch merges; the models still match PyTorch.
TEST(MergeLinearPointwiseConv, FiresOnTheSegFormerModels) {
  for (const char* name : {"segformer_tiny", "segformer_b0"}) {
    SCOPED_TRACE(name);
    const std::filesystem::path dir = std::filesystem::path(KILN_TEST_DIR) / "models" / name;
    ImportOptions o;
    TensorMap feeds = test::reference_inputs(dir, &o);
    Graph g = import_onnx_file((dir / "model.onnx").string(), o);
    PassReport r = run_passes(g);
    EXPECT_EQ(r.fused.at("merge_linear_pointwise_conv"), 4);
    TensorMap got = CpuExecutor(g).run(feeds);
    test::expect_goldens(dir, name, got, {1e-5, 0, "", "", ""});  // the fp32 goldens' bar
  }
}

}  // namespace
}  // namespace kiln
