// convert_to_fp16's float32 islands (precision_islands.h): the residual stream, the conv that
// starts it, and the model output are written in float32 by nodes with fp16 operands — and
// nothing else is, where a writer cannot write float32 without computing in it.
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

struct Block {
  bool depthwise_start = false;  // the stream starts at a depthwise conv (cannot write float32)
  bool relu_residual = false;    // the residual is Relu(stream): not a stream writer
};

//   x ─Conv(bias)─▶ e ─Reshape─▶ ─Transpose─▶ t ─LN─▶ s0 ─┬─LN─▶ h ─MatMul─▶ ─Add(b1)─▶ ─Add─▶ s1
//                                                        └──────────[Relu]──────────────┘
//   s1 ─LN─▶ f ─MatMul─▶ ─Add(b2)─▶ y (graph output)
test::ModelBuilder block_model(const Block& o) {
  const int64_t c = 16;
  test::ModelBuilder b;
  b.input("x", DType::kF32, {1, o.depthwise_start ? c : 3, 8, 8}).output("y", DType::kF32);
  uint64_t seed = 40;
  auto init = [&](const std::string& name, Dims d, double lo = -1, double hi = 1) {
    b.initializer(name, test::random_tensor(DType::kF32, d, seed++, lo, hi));
  };
  if (o.depthwise_start) {
    init("Wp", {c, 1, 3, 3});
    init("bp", {c});
    auto& conv = b.node("Conv", {"x", "Wp", "bp"}, {"e"});
    test::set_int_attr(conv, "group", c);
    test::set_ints_attr(conv, "pads", {1, 1, 1, 1});
  } else {
    init("Wp", {c, 3, 2, 2});
    init("bp", {c});
    auto& conv = b.node("Conv", {"x", "Wp", "bp"}, {"e"});
    test::set_ints_attr(conv, "strides", {2, 2});
  }
  const int64_t tokens = o.depthwise_start ? 64 : 16;
  b.initializer("shape", Tensor::from_vector<int64_t>({3}, {1, c, tokens}));
  b.node("Reshape", {"e", "shape"}, {"r"});
  auto& tr = b.node("Transpose", {"r"}, {"t"});
  test::set_ints_attr(tr, "perm", {0, 2, 1});
  for (const char* ln : {"0", "1", "2"}) {
    init(std::string("g") + ln, {c}, 0.5, 1.5);
    init(std::string("be") + ln, {c});
  }
  b.node("LayerNormalization", {"t", "g0", "be0"}, {"s0"});
  b.node("LayerNormalization", {"s0", "g1", "be1"}, {"h"});
  init("W1", {c, c});
  init("b1", {c});
  b.node("MatMul", {"h", "W1"}, {"m1"});
  b.node("Add", {"m1", "b1"}, {"a1"});
  std::string residual = "s0";
  if (o.relu_residual) {
    b.node("Relu", {"s0"}, {"rs"});
    residual = "rs";
  }
  b.node("Add", {"a1", residual}, {"s1"});
  b.node("LayerNormalization", {"s1", "g2", "be2"}, {"f"});
  init("W2", {c, 5});
  init("b2", {5});
  b.node("MatMul", {"f", "W2"}, {"m2"});
  b.node("Add", {"m2", "b2"}, {"y"});
  return b;
}

// Without fuse_token_im2col_conv unless asked: it would make the conv writing e, whose output
// goes to the token layout, a window gather and a FusedMatMul (and never with
// fuse_patch_embed_tokens, which would merge those two: the last test here takes it).
Graph optimized(const test::ModelBuilder& b, bool im2col = false) {
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  if (im2col) run_passes(g, {"fuse_patch_embed_tokens"});
  else run_passes(g, {"fuse_token_im2col_conv"});
  return g;
}

const Node& only(const Graph& g, const std::string& op) {
  const Node* found = nullptr;
  for (const Node& n : g.nodes)
    if (n.op_type == op) {
      EXPECT_EQ(found, nullptr) << "more than one " << op;
      found = &n;
    }
  if (!found) throw std::runtime_error("no " + op);
  return *found;
}

std::vector<const Node*> all(const Graph& g, const std::string& op) {
  std::vector<const Node*> out;
  for (const Node& n : g.nodes)
    if (n.op_type == op) out.push_back(&n);
  return out;
}

DType dtype(const Graph& g, const std::string& v) { return g.value(v).type.dtype; }

// The residual FusedMatMul and the one writing y.
std::pair<const Node*, const Node*> gemms(const Graph& g) {
  auto fm = all(g, "FusedMatMul");
  EXPECT_EQ(fm.size(), 2u);
  return fm[0]->inputs.size() > 3 ? std::pair{fm[0], fm[1]} : std::pair{fm[1], fm[0]};
}

double rel_l2(const Tensor& got, const Tensor& want) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double d = got.at_double(i) - want.at_double(i);
    num += d * d;
    den += want.at_double(i) * want.at_double(i);
  }
  return std::sqrt(num / den);
}

void expect_close_to_fp32(const Graph& g, const Graph& ref, const Dims& x_dims) {
  TensorMap in{{"x", test::random_tensor(DType::kF32, x_dims, 77)}};
  Tensor got = CpuExecutor(g).run(in).at("y"), want = CpuExecutor(ref).run(in).at("y");
  EXPECT_EQ(got.dtype(), DType::kF32);
  EXPECT_LT(rel_l2(got, want), 3e-3);
}

TEST(PrecisionIslands, StreamItsStartAndTheOutputAreWrittenInFloat32) {
  test::ModelBuilder b = block_model({});
  Graph g = optimized(b), ref = optimized(b);
  ASSERT_EQ(all(g, "FusedMatMul").size(), 2u);  // both linear layers fused; one has the residual
  PrecisionReport r = convert_to_fp16(g);

  const Node& conv = only(g, "Conv");  // mixed: fp16 operands, fp32 bias and output
  EXPECT_EQ(dtype(g, conv.inputs[0]), DType::kF16);
  EXPECT_EQ(dtype(g, conv.inputs[1]), DType::kF16);
  EXPECT_EQ(dtype(g, conv.inputs[2]), DType::kF32);
  EXPECT_EQ(dtype(g, "e"), DType::kF32);
  EXPECT_EQ(dtype(g, "t"), DType::kF32);  // data movement carries float32
  EXPECT_EQ(dtype(g, "s0"), DType::kF32);
  EXPECT_EQ(dtype(g, "h"), DType::kF16);  // a LayerNorm reading the stream hands fp16 on
  auto [res, out] = gemms(g);
  EXPECT_EQ(dtype(g, res->inputs[0]), DType::kF16);
  EXPECT_EQ(dtype(g, res->inputs[1]), DType::kF16);
  EXPECT_EQ(dtype(g, res->inputs[2]), DType::kF32);
  EXPECT_EQ(res->inputs[3], "s0");
  EXPECT_EQ(dtype(g, res->outputs[0]), DType::kF32);
  EXPECT_EQ(dtype(g, "f"), DType::kF16);
  EXPECT_EQ(out->outputs[0], "y");  // the output written in float32 directly: no final Cast
  EXPECT_EQ(dtype(g, out->inputs[2]), DType::kF32);
  EXPECT_EQ(all(g, "Cast").size(), 1u);  // only x's
  EXPECT_EQ(r.kept_fp32.at("residual stream kept float32"), 1);   // s1
  // e, s0 and the data movement between (which the passes may have merged)
  EXPECT_GE(r.kept_fp32.at("start of a residual stream kept float32"), 3);
  expect_close_to_fp32(g, ref, {1, 3, 8, 8});
}

// The conv as fuse_token_im2col_conv leaves it: its GEMM writes the stream's start, t, in float32
// from fp16 operands (the gather moves fp16).
TEST(PrecisionIslands, APatchEmbeddingGemmStartsTheStreamInFloat32) {
  test::ModelBuilder b = block_model({});
  Graph g = optimized(b, true), ref = optimized(b, true);
  ASSERT_EQ(all(g, "FusedMatMul").size(), 3u);
  convert_to_fp16(g);
  const Node& gather = only(g, "Im2ColTokens");
  EXPECT_EQ(dtype(g, gather.outputs[0]), DType::kF16);
  const Node* patch = nullptr;
  for (const Node* n : all(g, "FusedMatMul"))
    if (n->outputs[0] == "t") patch = n;
  ASSERT_NE(patch, nullptr);
  EXPECT_EQ(patch->inputs[0], gather.outputs[0]);
  EXPECT_EQ(dtype(g, patch->inputs[1]), DType::kF16);
  EXPECT_EQ(dtype(g, patch->inputs[2]), DType::kF32);
  EXPECT_EQ(dtype(g, "t"), DType::kF32);
  EXPECT_EQ(dtype(g, "s0"), DType::kF32);
  expect_close_to_fp32(g, ref, {1, 3, 8, 8});
}

// The conv as fuse_patch_embed_tokens leaves it: one node reading x in float32 (no Cast) with fp16
// weights writes the stream's start in float32.
TEST(PrecisionIslands, APatchEmbedTokensStartsTheStreamInFloat32) {
  test::ModelBuilder b = block_model({});
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx"), ref = optimized(b, true);
  run_passes(g, {"fuse_patch_embed_layer_norm"});
  convert_to_fp16(g);
  const Node& embed = only(g, "PatchEmbedTokens");
  EXPECT_EQ(embed.inputs[0], "x");
  EXPECT_EQ(dtype(g, embed.inputs[1]), DType::kF16);
  EXPECT_EQ(dtype(g, embed.inputs[2]), DType::kF32);
  EXPECT_EQ(embed.outputs[0], "t");
  EXPECT_EQ(dtype(g, "t"), DType::kF32);
  EXPECT_EQ(dtype(g, "s0"), DType::kF32);
  EXPECT_TRUE(all(g, "Cast").empty());
  expect_close_to_fp32(g, ref, {1, 3, 8, 8});
}

// With its LayerNorm taken in (fuse_patch_embed_layer_norm in the float32 pipeline, then the
// conversion): the normed embedding is the stream start itself, bias, Scale and LB float32.
TEST(PrecisionIslands, ANormedPatchEmbedTokensStartsTheStreamInFloat32) {
  test::ModelBuilder b = block_model({});
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx"), ref = optimized(b, true);
  ASSERT_EQ(run_passes(g).fused.at("fuse_patch_embed_layer_norm"), 1);
  convert_to_fp16(g);
  const Node& embed = only(g, "PatchEmbedTokens");
  EXPECT_EQ(embed.inputs[0], "x");
  EXPECT_EQ(dtype(g, embed.inputs[1]), DType::kF16);
  for (size_t i = 2; i < embed.inputs.size(); ++i) EXPECT_EQ(dtype(g, embed.inputs[i]), DType::kF32) << i;
  EXPECT_EQ(embed.outputs[0], "s0");
  EXPECT_EQ(dtype(g, "s0"), DType::kF32);
  EXPECT_TRUE(all(g, "Cast").empty());
  expect_close_to_fp32(g, ref, {1, 3, 8, 8});
}

TEST(PrecisionIslands, NoStreamWhereTheResidualIsNotWrittenByAStreamWriter) {
  test::ModelBuilder b = block_model({.relu_residual = true});
  Graph g = optimized(b), ref = optimized(b);
  convert_to_fp16(g);
  EXPECT_EQ(dtype(g, "e"), DType::kF16);
  EXPECT_EQ(dtype(g, "s0"), DType::kF16);
  auto [res, out] = gemms(g);
  EXPECT_EQ(dtype(g, res->inputs[2]), DType::kF16);
  EXPECT_EQ(dtype(g, res->outputs[0]), DType::kF16);
  EXPECT_EQ(dtype(g, out->outputs[0]), DType::kF32);  // the output rule still holds
  expect_close_to_fp32(g, ref, {1, 3, 8, 8});
}

TEST(PrecisionIslands, ADepthwiseConvDoesNotStartTheStreamInFloat32) {
  test::ModelBuilder b = block_model({.depthwise_start = true});
  Graph g = optimized(b), ref = optimized(b);
  convert_to_fp16(g);
  const Node& conv = only(g, "Conv");
  EXPECT_EQ(dtype(g, conv.inputs[2]), DType::kF16);
  EXPECT_EQ(dtype(g, "e"), DType::kF16);
  EXPECT_EQ(dtype(g, "t"), DType::kF16);
  EXPECT_EQ(dtype(g, "s0"), DType::kF32);  // the LayerNorm still starts the stream: f16 in, f32 out
  auto [res, out] = gemms(g);
  EXPECT_EQ(dtype(g, res->outputs[0]), DType::kF32);
  expect_close_to_fp32(g, ref, {1, 16, 8, 8});
}

}  // namespace
}  // namespace kiln
