// fuse_patch_embed_tokens: fires on the picture's patch embedding of the reference SegFormers
// (one of their four gathers: the others read tokens), computes what the gather and GEMM did, and
// leaves alone gathers of more than 4 channels, GEMMs with an activation or a residual, rows read
// elsewhere and non-constant weights. In fp16 engines the fused node reads the float32 picture
// itself: no Cast.
#include <gtest/gtest.h>

#include "model_pass_run.h"
#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/convert_precision.h"
#include "passes/pattern.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_patch_embed_tokens";

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

// x [B, C, H, W] ─Conv─▶ c ─Reshape [B, Co, P]─▶ ─Transpose(0,2,1)─▶ t ─[tail]─▶ y
struct Embed {
  int64_t B = 2, C = 3, H = 17, W = 23, Co = 8, k = 7, s = 4, p = 3;
  bool bias = true, constant_weights = true;
  DType dt = DType::kF32;
  std::string tail;  // "": t is y; "relu": Relu (the GEMM's activation); "residual": Add(t, r);
                     // "sigmoid": Sigmoid (stays outside the GEMM)
};

int64_t out_extent(int64_t in, int64_t k, int64_t s, int64_t p) { return (in + 2 * p - k) / s + 1; }

std::string build(const Embed& e) {
  test::ModelBuilder b(17);
  const int64_t P = out_extent(e.H, e.k, e.s, e.p) * out_extent(e.W, e.k, e.s, e.p);
  b.input("x", e.dt, {e.B, e.C, e.H, e.W});
  const Tensor w = test::random_tensor(e.dt, {e.Co, e.C, e.k, e.k}, 11);
  if (e.constant_weights) b.initializer("w", w);
  else b.input("w", e.dt, w.dims());
  b.initializer("bias", test::random_tensor(e.dt, {e.Co}, 12));
  std::vector<std::string> in = {"x", "w"};
  if (e.bias) in.push_back("bias");
  onnx::NodeProto& conv = b.node("Conv", in, {"c"});
  conv.set_name("patch_embed");
  test::set_ints_attr(conv, "kernel_shape", {e.k, e.k});
  test::set_ints_attr(conv, "strides", {e.s, e.s});
  test::set_ints_attr(conv, "pads", {e.p, e.p, e.p, e.p});
  b.initializer("merge", i64({e.B, e.Co, P}));
  b.node("Reshape", {"c", "merge"}, {"r"});
  test::set_ints_attr(b.node("Transpose", {"r"}, {e.tail.empty() ? "y" : "t"}), "perm", {0, 2, 1});
  if (e.tail == "relu") b.node("Relu", {"t"}, {"y"});
  if (e.tail == "sigmoid") b.node("Sigmoid", {"t"}, {"y"});
  if (e.tail == "residual") {
    b.input("res", e.dt, {e.B, P, e.Co});
    b.node("Add", {"t", "res"}, {"y"});
  }
  b.output("y", e.dt);
  return b.bytes();
}

TensorMap random_feeds(const Graph& g, DType dt) {
  TensorMap feeds;
  uint64_t seed = 3;
  for (const std::string& in : g.inputs)
    feeds[in] = test::random_tensor(dt, shape_dims(*g.value(in).type.shape), seed++);
  return feeds;
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
};

// The pipeline with and without the pass on the same random inputs.
Outcome run_bytes(const std::string& bytes, DType dt) {
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {kPass});
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  PassReport r = run_passes(g);
  const TensorMap feeds = random_feeds(plain, dt);
  TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
  for (const std::string& out : plain.outputs) {
    SCOPED_TRACE(out);
    test::expect_dims(got.at(out), want.at(out).dims());
    // Up to 196 products in another order (double sums against the GEMM's float ones); fp16:
    // one rounding of each.
    if (dt == DType::kF16) test::expect_close(got.at(out), test::to_doubles(want.at(out)), 2e-3, 2e-3);
    else test::expect_close(got.at(out), test::to_doubles(want.at(out)), 1e-5, 1e-6);
  }
  return {r.fused.at(kPass), g.op_histogram()};
}

Outcome run(const Embed& e) { return run_bytes(build(e), e.dt); }

TEST(FusePatchEmbedTokens, MergesTheGatherAndTheGemm) {
  const std::map<std::string, int> fused = {{"kiln.PatchEmbedTokens", 1}};
  Outcome o = run({});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.ops, fused);
}

TEST(FusePatchEmbedTokens, Geometries) {
  for (int64_t c : {1, 3, 4}) EXPECT_EQ(run({.C = c}).fired, 1) << c;
  EXPECT_EQ(run({.B = 1, .C = 3, .H = 9, .W = 13, .Co = 5, .k = 3, .s = 2, .p = 1}).fired, 1);  // 3x3 stride 2
  EXPECT_EQ(run({.bias = false}).fired, 1);  // MatMul without bias
  EXPECT_EQ(run({.dt = DType::kF16}).fired, 1);
  EXPECT_EQ(run({.B = 1, .C = 4, .H = 30, .W = 31, .Co = 24, .dt = DType::kF16}).fired, 1);
  Outcome o = run({.tail = "sigmoid"});  // an elementwise tail stays outside
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.ops.at("kiln.PatchEmbedTokens"), 1);
}

TEST(FusePatchEmbedTokens, RefusesOtherComputations) {
  Outcome wide = run({.C = 5});  // more channels than the fused kernel stages
  EXPECT_EQ(wide.fired, 0);
  EXPECT_EQ(wide.ops.at("kiln.Im2ColTokens"), 1);
  EXPECT_EQ(run({.tail = "relu"}).fired, 0);      // activation epilogue
  EXPECT_EQ(run({.tail = "residual"}).fired, 0);  // residual epilogue
  EXPECT_EQ(run({.constant_weights = false}).fired, 0);
}

// Gathers and GEMMs named by the model itself: rows with a second reader, non-constant weights
// and a token-form gather stay as they are; the plain pair fuses.
std::string kiln_pair(const std::string& variant) {
  test::ModelBuilder b(17);
  auto* kiln_opset = b.proto().add_opset_import();
  kiln_opset->set_domain("kiln");
  kiln_opset->set_version(1);
  const bool tokens = variant == "tokens";
  if (tokens) b.input("x", DType::kF32, {1, 9 * 11, 3});
  else b.input("x", DType::kF32, {1, 3, 9, 11});
  auto& gather = b.node("Im2ColTokens", {"x"}, {"rows"});
  gather.set_domain("kiln");
  test::set_ints_attr(gather, "kernel_shape", {3, 3});
  test::set_ints_attr(gather, "strides", {2, 2});
  test::set_ints_attr(gather, "pads", {1, 1, 1, 1});
  if (tokens) {
    test::set_int_attr(gather, "height", 9);
    test::set_int_attr(gather, "width", 11);
  }
  const Tensor w = test::random_tensor(DType::kF32, {27, 6}, 21);
  if (variant == "input_weight") b.input("w", DType::kF32, {27, 6});
  else b.initializer("w", w);
  b.initializer("bias", test::random_tensor(DType::kF32, {6}, 22));
  b.node("FusedMatMul", {"rows", "w", "bias"}, {"y"}).set_domain("kiln");
  b.output("y", DType::kF32);
  if (variant == "second_reader") {
    b.node("Relu", {"rows"}, {"z"});
    b.output("z", DType::kF32);
  }
  if (variant == "rows_output") b.output("rows", DType::kF32);
  return b.bytes();
}

TEST(FusePatchEmbedTokens, OnlyWhereTheRowsAreTheGemmsAlone) {
  EXPECT_EQ(run_bytes(kiln_pair("plain"), DType::kF32).fired, 1);
  for (const char* v : {"second_reader", "rows_output", "input_weight", "tokens"}) {
    SCOPED_TRACE(v);
    EXPECT_EQ(run_bytes(kiln_pair(v), DType::kF32).fired, 0);
  }
}

// fp16 engines: the node reads float32 x itself (no Cast anywhere before it) with fp16 W; as a
// model output it writes float32 from a float32 bias, feeding an fp16 op it writes fp16. Both
// within fp16 rounding of the unfused conversion.
TEST(FusePatchEmbedTokens, Fp16EnginesReadTheFloat32PictureDirectly) {
  for (const char* tail : {"", "sigmoid"}) {
    SCOPED_TRACE(tail);
    const std::string bytes = build({.tail = tail});
    Graph g = import_onnx_bytes(bytes, ".", "m.onnx"), plain = g;
    ASSERT_EQ(run_passes(g).fused.at(kPass), 1);
    run_passes(plain, {kPass});
    convert_to_fp16(g);
    convert_to_fp16(plain);
    const Node* embed = nullptr;
    int casts = 0;
    for (const Node& n : g.nodes) {
      if (is_kiln_op(&n, "PatchEmbedTokens")) embed = &n;
      if (is_op(&n, "Cast")) ++casts;
    }
    ASSERT_NE(embed, nullptr);
    EXPECT_EQ(embed->inputs[0], "x");
    EXPECT_EQ(g.value(embed->inputs[1]).type.dtype, DType::kF16);
    const bool output = std::string(tail).empty();
    EXPECT_EQ(g.value(embed->inputs[2]).type.dtype, output ? DType::kF32 : DType::kF16);
    EXPECT_EQ(g.value(embed->outputs[0]).type.dtype, output ? DType::kF32 : DType::kF16);
    EXPECT_EQ(casts, output ? 0 : 1);  // the Sigmoid's output back to float32
    const TensorMap feeds = random_feeds(plain, DType::kF32);
    const Tensor got = CpuExecutor(g).run(feeds).at("y"), want = CpuExecutor(plain).run(feeds).at("y");
    test::expect_close(got, test::to_doubles(want), 2e-3, 2e-3);
  }
}

// The reference SegFormers: the picture's embedding fuses, the three on tokens keep their
// gathers; logits as before and, for segformer_tiny, against its goldens.
TEST(FusePatchEmbedTokens, FiresOnExportedSegFormers) {
  for (const char* name : {"segformer_b0", "segformer_tiny"}) {
    SCOPED_TRACE(name);
    const test::ModelPassRun r = test::run_model_passes(name, {kPass});
    EXPECT_EQ(r.report.fused.at(kPass), 1);
    const auto before = r.plain.op_histogram(), after = r.fused.op_histogram();
    EXPECT_EQ(before.at("kiln.Im2ColTokens"), 4);
    EXPECT_EQ(after.at("kiln.Im2ColTokens"), 3);
    EXPECT_EQ(after.at("kiln.PatchEmbedTokens"), 1);
    EXPECT_EQ(before.at("kiln.FusedMatMul") - after.at("kiln.FusedMatMul"), 1);
    for (const Node& n : r.fused.nodes) {
      if (is_kiln_op(&n, "PatchEmbedTokens")) {
        EXPECT_EQ(n.inputs[0], r.fused.inputs[0]);
      }
    }
    test::expect_logits_kept(r, std::string(name) == "segformer_tiny");
  }
}

}  // namespace
}  // namespace kiln
