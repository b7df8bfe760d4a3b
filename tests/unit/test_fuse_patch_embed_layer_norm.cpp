// fuse_patch_embed_layer_norm: fires on a picture's patch embedding followed by a LayerNorm over
// its channels (fp32 engines in the pipeline, fp16 engines after the conversion, where the stream
// start stays float32), computes the bits the two nodes did, and leaves alone LayerNorms over
// other axes, with broadcast or non-constant Scale, with their statistics as outputs, and
// embeddings whose tokens have another reader. The reference SegFormers fuse their stage-0 norm.
#include <gtest/gtest.h>

#include "fusion_test_util.h"
#include "model_pass_run.h"
#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/convert_precision.h"
#include "passes/infer_shapes.h"
#include "passes/pattern.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_patch_embed_layer_norm";

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

// x [B, 3, H, W] ─Conv 7x7/4─▶ Reshape [B, Co, P] ─▶ Transpose(0,2,1) ─▶ t ─LayerNormalization─▶ y
// (stream: ─▶ s ─MatMul─▶ ─Add(b)─▶ ─Add(s)─▶ y)
struct Embed {
  int64_t B = 2, H = 29, W = 35, Co = 16;
  bool conv_bias = true, ln_bias = true;
  int64_t axis = -1;
  std::vector<int64_t> scale_dims;  // {} : [Co]
  bool constant_scale = true, mean_output = false, t_output = false, second_norm = false;
  bool stream = false;  // y = s + Linear(s), s the norm's output: a residual stream starts at s
  float eps = 1e-6f;
};

std::string build(const Embed& e) {
  test::ModelBuilder b(17);
  const int64_t oh = (e.H + 6 - 7) / 4 + 1, ow = (e.W + 6 - 7) / 4 + 1;
  b.input("x", DType::kF32, {e.B, 3, e.H, e.W});
  b.initializer("w", test::random_tensor(DType::kF32, {e.Co, 3, 7, 7}, 11));
  b.initializer("bias", test::random_tensor(DType::kF32, {e.Co}, 12));
  std::vector<std::string> in = {"x", "w"};
  if (e.conv_bias) in.push_back("bias");
  onnx::NodeProto& conv = b.node("Conv", in, {"c"});
  conv.set_name("patch_embed");
  test::set_ints_attr(conv, "kernel_shape", {7, 7});
  test::set_ints_attr(conv, "strides", {4, 4});
  test::set_ints_attr(conv, "pads", {3, 3, 3, 3});
  b.initializer("merge", i64({e.B, e.Co, oh * ow}));
  b.node("Reshape", {"c", "merge"}, {"r"});
  test::set_ints_attr(b.node("Transpose", {"r"}, {"t"}), "perm", {0, 2, 1});
  const Dims sd = e.scale_dims.empty() ? Dims{e.Co} : e.scale_dims;
  Tensor scale = test::random_tensor(DType::kF32, sd, 13);
  for (size_t i = 0; i < size_t(scale.numel()); ++i) scale.data<float>()[i] += 1.0f;  // around 1, as trained
  if (e.constant_scale) b.initializer("scale", scale);
  else b.input("scale", DType::kF32, sd);
  b.initializer("shift", test::random_tensor(DType::kF32, sd, 14));
  std::vector<std::string> ln_in = {"t", "scale"};
  if (e.ln_bias) ln_in.push_back("shift");
  std::vector<std::string> ln_out = {e.second_norm ? "n" : e.stream ? "s" : "y"};
  if (e.mean_output) ln_out.push_back("mean");
  onnx::NodeProto& ln = b.node("LayerNormalization", ln_in, ln_out);
  test::set_int_attr(ln, "axis", e.axis);
  onnx::AttributeProto* eps = ln.add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(e.eps);
  if (e.second_norm) b.node("LayerNormalization", {"n", "scale", "shift"}, {"y"});
  if (e.stream) {
    b.initializer("wl", test::random_tensor(DType::kF32, {e.Co, e.Co}, 15));
    b.initializer("bl", test::random_tensor(DType::kF32, {e.Co}, 16));
    b.node("MatMul", {"s", "wl"}, {"m"});
    b.node("Add", {"m", "bl"}, {"a"});
    b.node("Add", {"a", "s"}, {"y"});
  }
  b.output("y", DType::kF32);
  if (e.mean_output) b.output("mean", DType::kF32);
  if (e.t_output) b.output("t", DType::kF32);
  return b.bytes();
}

// Both nodes' references compute in double and round where the unfused graph stored: the same
// bits, fused or not.
void expect_same_bits(const Graph& got_g, const Graph& want_g) {
  test::expect_same_outputs(want_g, got_g, test::random_feeds(want_g, 3), 0.0, 0.0);
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
};

Outcome run(const Embed& e) {
  const test::WithAndWithout r = test::with_and_without(build(e), kPass);
  expect_same_bits(r.fused, r.plain);
  return {r.report.fused.at(kPass), r.fused.op_histogram()};
}

TEST(FusePatchEmbedLayerNorm, TakesTheNormIntoTheEmbedding) {
  const Outcome o = run({});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.ops, (std::map<std::string, int>{{"kiln.PatchEmbedTokens", 1}}));
  EXPECT_EQ(run({.conv_bias = false}).fired, 1);
  EXPECT_EQ(run({.ln_bias = false}).fired, 1);
  EXPECT_EQ(run({.B = 1, .H = 8, .W = 5, .Co = 5, .axis = 2}).fired, 1);
}

TEST(FusePatchEmbedLayerNorm, KeepsTheEpsilonAndOnlyOneNorm) {
  Graph g = import_onnx_bytes(build({.second_norm = true}), ".", "m.onnx");
  const PassReport r = run_passes(g);
  EXPECT_EQ(r.fused.at(kPass), 1);
  EXPECT_EQ(g.op_histogram().at("LayerNormalization"), 1);  // the second LayerNorm stays
  for (const Node& n : g.nodes)
    if (is_kiln_op(&n, "PatchEmbedTokens")) EXPECT_FLOAT_EQ(n.attrs.get_float("epsilon", 0.f), 1e-6f);
}

TEST(FusePatchEmbedLayerNorm, RefusesOtherNorms) {
  EXPECT_EQ(run({.axis = 1}).fired, 0);                 // normalizes tokens and channels
  EXPECT_EQ(run({.scale_dims = {1}}).fired, 0);         // a broadcast Scale
  EXPECT_EQ(run({.constant_scale = false}).fired, 0);   // Scale from an input
  EXPECT_EQ(run({.mean_output = true}).fired, 0);       // the statistics are read
  const Outcome o = run({.t_output = true});            // the tokens are read too
  EXPECT_EQ(o.fired, 0);
  EXPECT_EQ(o.ops.at("LayerNormalization"), 1);
}

// fp16 engines: after convert_to_fp16 the embedding (fp16 W, float32 bias) writes the stream
// start in float32 and the LayerNorm reads and writes float32; the fused node keeps those types
// and bits. A graph converted after the whole pipeline keeps the same float32 start. Without a
// stream both sides are fp16, and fuse too.
TEST(FusePatchEmbedLayerNorm, Fp16EnginesKeepTheFloat32StreamStart) {
  {
    int fired = 0;
    const std::string plain_bytes = build({});
    const Graph g = test::fp16_engine_graph(plain_bytes, kPass, true, &fired);
    EXPECT_EQ(fired, 1);
    expect_same_bits(g, test::fp16_engine_graph(plain_bytes, kPass, false));
  }
  const std::string bytes = build({.stream = true});
  int fired = 0;
  const Graph g = test::fp16_engine_graph(bytes, kPass, true, &fired);
  const Graph plain = test::fp16_engine_graph(bytes, kPass, false);
  EXPECT_EQ(fired, 1);
  int embeds = 0;
  for (const Node& n : g.nodes) {
    if (!is_kiln_op(&n, "PatchEmbedTokens")) continue;
    ++embeds;
    EXPECT_EQ(n.inputs[0], "x");
    EXPECT_EQ(g.value(n.inputs[1]).type.dtype, DType::kF16);
    for (size_t i : {2, 3, 4}) EXPECT_EQ(g.value(n.inputs[i]).type.dtype, DType::kF32) << i;
    EXPECT_EQ(g.value(n.outputs[0]).type.dtype, DType::kF32);
  }
  EXPECT_EQ(embeds, 1);
  expect_same_bits(g, plain);

  Graph late = import_onnx_bytes(bytes, ".", "m.onnx");
  ASSERT_EQ(run_passes(late).fused.at(kPass), 1);
  convert_to_fp16(late);
  for (const Node& n : late.nodes)
    if (is_kiln_op(&n, "PatchEmbedTokens")) EXPECT_EQ(late.value(n.outputs[0]).type.dtype, DType::kF32);
  expect_same_bits(late, plain);
}

// The op's own checks: Scale and LB of Y's type and [Co], LB only with Scale.
TEST(FusePatchEmbedLayerNorm, TheOpRefusesMismatchedNormInputs) {
  const auto model = [](const Dims& scale, DType scale_type, bool lb_alone) {
    test::ModelBuilder b(17);
    auto* kiln_opset = b.proto().add_opset_import();
    kiln_opset->set_domain("kiln");
    kiln_opset->set_version(1);
    b.input("x", DType::kF32, {1, 3, 9, 11});
    b.initializer("w", test::random_tensor(DType::kF32, {27, 6}, 21));
    b.initializer("bias", test::random_tensor(DType::kF32, {6}, 22));
    b.initializer("scale", test::random_tensor(scale_type, scale, 23));
    std::vector<std::string> in = {"x", "w", "bias", lb_alone ? "" : "scale"};
    if (lb_alone) in.push_back("bias");
    auto& n = b.node("PatchEmbedTokens", in, {"y"});
    n.set_domain("kiln");
    test::set_ints_attr(n, "kernel_shape", {3, 3});
    b.output("y", DType::kF32);
    return b.bytes();
  };
  const auto infer = [](const std::string& bytes) {
    Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
    infer_shapes(g);
  };
  EXPECT_NO_THROW(infer(model({6}, DType::kF32, false)));
  for (const auto& [bytes, what] : {std::pair{model({7}, DType::kF32, false), "[out_channels]"},
                                    std::pair{model({6}, DType::kF16, false), "they must match"},
                                    std::pair{model({6}, DType::kF32, true), "needs Scale"}}) {
    try {
      infer(bytes);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  }
}

// The reference SegFormers: their stage-0 embedding norm fuses (the other stages' embeddings are
// GEMMs), logits as before and, for segformer_tiny, against its goldens.
TEST(FusePatchEmbedLayerNorm, FiresOnExportedSegFormers) {
  for (const char* name : {"segformer_b0", "segformer_tiny"}) {
    SCOPED_TRACE(name);
    const test::ModelPassRun r = test::run_model_passes(name, {kPass});
    EXPECT_EQ(r.report.fused.at(kPass), 1);
    EXPECT_EQ(r.plain.op_histogram().at("LayerNormalization") - r.fused.op_histogram().at("LayerNormalization"), 1);
    test::expect_logits_kept(r, std::string(name) == "segformer_tiny");
  }
}

}  // namespace
}  // namespace kiln
