// fuse_mix_ffn: fires on the float16 form of SegFormer's MixFFN (LayerNorm → fc1 → 3×3 depthwise
// conv + GELU → fc2 + residual) that the pipeline and convert_to_fp16 leave, computes exactly what
// the four nodes did (the CPU reference runs their references), and leaves alone float32 graphs,
// other windows, a residual that is not the LayerNorm's input, an fc1 with an activation, a hidden
// value read elsewhere, LayerNorms over more than the last axis, and widths the kernel lacks.
// fuse_mix_ffn_norm, after it: the stage-end LayerNorm taken into the MixFFN, the same bits, and
// not where the sum is read elsewhere, the LayerNorm spans more axes or writes its statistics,
// or the width is one its kernel lacks.
#include <gtest/gtest.h>

#include "../ops/harness.h"
#include "model_pass_run.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_mix_ffn";

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }
Tensor f32(float v) { return Tensor::from_vector<float>({}, {v}); }

// The block as PyTorch exports it (HF SegformerMixFFN with its LayerNorm and residual), behind
// a LayerNorm and a projection with its residual, which make x an fp32 stream in fp16 engines
// (precision_islands.h), as SegFormer's patch embedding and attention do:
//   x0 ─LN─▶ x1 ─MatMul+Add─▶ Add(x1) ─▶ x ─LN─▶ MatMul+Add ─Transpose─Reshape─▶ Conv(group Hd) ─Reshape─Transpose─▶ GELU (Erf form)
//     ─▶ MatMul+Add ─▶ Add(x) ─▶ y
struct Block {
  int64_t B = 2, H = 5, W = 7, C = 32, Hd = 128;
  int64_t k = 3, pad = 1, dilation = 1;
  float eps = 1e-6f;
  bool gelu = true;
  std::string variant;  // "other residual", "fc1 relu", "hidden output", "ln axis 1", "graph input"
  // The stage-end LayerNorm on y (output z): "" none, "end", or "end" with "y output" (y read
  // too), "end axis 1" (over tokens and channels), "end mean" (its Mean output read).
  std::string end;
};

std::string build(const Block& e) {
  test::ModelBuilder b(17);
  const int64_t N = e.H * e.W;
  if (e.variant == "graph input") {  // the LayerNorm reads a float16 copy of x, the residual x itself
    b.input("x", DType::kF32, {e.B, N, e.C});
  } else {
    b.input("x0", DType::kF32, {e.B, N, e.C});
    b.initializer("s0", test::random_tensor(DType::kF32, {e.C}, 11, 0.5, 1.5));
    b.initializer("bn0", test::random_tensor(DType::kF32, {e.C}, 12, -0.2, 0.2));
    test::set_int_attr(b.node("LayerNormalization", {"x0", "s0", "bn0"}, {"x1"}), "axis", -1);
    b.initializer("wp", test::random_tensor(DType::kF32, {e.C, e.C}, 9, -0.2, 0.2));
    b.initializer("bp", test::random_tensor(DType::kF32, {e.C}, 10, -0.1, 0.1));
    b.node("MatMul", {"x1", "wp"}, {"p0"});
    b.node("Add", {"p0", "bp"}, {"p1"});
    b.node("Add", {"p1", "x1"}, {"x"});
  }
  const bool ln_axis1 = e.variant == "ln axis 1";
  const Dims ln_dims = ln_axis1 ? Dims{N, e.C} : Dims{e.C};
  b.initializer("s", test::random_tensor(DType::kF32, ln_dims, 1, 0.5, 1.5));
  b.initializer("bn", test::random_tensor(DType::kF32, ln_dims, 2, -0.2, 0.2));
  b.initializer("w1", test::random_tensor(DType::kF32, {e.C, e.Hd}, 3, -0.3, 0.3));
  b.initializer("b1", test::random_tensor(DType::kF32, {e.Hd}, 4, -0.1, 0.1));
  b.initializer("wd", test::random_tensor(DType::kF32, {e.Hd, 1, e.k, e.k}, 5, -0.4, 0.4));
  b.initializer("bd", test::random_tensor(DType::kF32, {e.Hd}, 6, -0.1, 0.1));
  b.initializer("w2", test::random_tensor(DType::kF32, {e.Hd, e.C}, 7, -0.2, 0.2));
  b.initializer("b2", test::random_tensor(DType::kF32, {e.C}, 8, -0.1, 0.1));
  onnx::NodeProto& ln = b.node("LayerNormalization", {"x", "s", "bn"}, {"l"});
  test::set_int_attr(ln, "axis", ln_axis1 ? 1 : -1);
  auto* eps = ln.add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(e.eps);
  b.node("MatMul", {"l", "w1"}, {"m1"});
  b.node("Add", {"m1", "b1"}, {e.variant == "fc1 relu" ? "a1" : "h"});
  if (e.variant == "fc1 relu") b.node("Relu", {"a1"}, {"h"});
  test::set_ints_attr(b.node("Transpose", {"h"}, {"ht"}), "perm", {0, 2, 1});
  b.initializer("img", i64({e.B, e.Hd, e.H, e.W}));
  b.node("Reshape", {"ht", "img"}, {"hi"});
  onnx::NodeProto& conv = b.node("Conv", {"hi", "wd", "bd"}, {"ci"});
  test::set_int_attr(conv, "group", e.Hd);
  test::set_ints_attr(conv, "kernel_shape", {e.k, e.k});
  test::set_ints_attr(conv, "pads", {e.pad, e.pad, e.pad, e.pad});
  test::set_ints_attr(conv, "dilations", {e.dilation, e.dilation});
  b.initializer("flat", i64({e.B, e.Hd, N}));
  b.node("Reshape", {"ci", "flat"}, {"cf"});
  test::set_ints_attr(b.node("Transpose", {"cf"}, {"d"}), "perm", {0, 2, 1});
  std::string act = "d";
  if (e.gelu) {  // d · 0.5 · (1 + erf(d / √2))
    b.initializer("sqrt2", f32(1.4142135f));
    b.initializer("one", f32(1.f));
    b.initializer("half", f32(0.5f));
    b.node("Div", {"d", "sqrt2"}, {"g0"});
    b.node("Erf", {"g0"}, {"g1"});
    b.node("Add", {"g1", "one"}, {"g2"});
    b.node("Mul", {"d", "g2"}, {"g3"});
    b.node("Mul", {"g3", "half"}, {"g"});
    act = "g";
  }
  b.node("MatMul", {act, "w2"}, {"m2"});
  b.node("Add", {"m2", "b2"}, {"f"});
  std::string residual = "x";
  if (e.variant == "other residual") {
    b.input("r", DType::kF32, {e.B, N, e.C});
    residual = "r";
  }
  b.node("Add", {"f", residual}, {"y"});
  if (e.end.empty() || e.end == "y output") b.output("y", DType::kF32);
  if (!e.end.empty()) {
    const bool axis1 = e.end == "end axis 1";
    const Dims dims = axis1 ? Dims{N, e.C} : Dims{e.C};
    b.initializer("s2", test::random_tensor(DType::kF32, dims, 13, 0.5, 1.5));
    b.initializer("bn2", test::random_tensor(DType::kF32, dims, 14, -0.2, 0.2));
    std::vector<std::string> outs = {"z"};
    if (e.end == "end mean") outs.push_back("mean");
    onnx::NodeProto& end = b.node("LayerNormalization", {"y", "s2", "bn2"}, outs);
    test::set_int_attr(end, "axis", axis1 ? 1 : -1);
    b.output("z", DType::kF32);
    if (e.end == "end mean") b.output("mean", DType::kF32);
  }
  if (e.variant == "hidden output") b.output("h", DType::kF32);
  return b.bytes();
}

TensorMap random_feeds(const Graph& g) {
  TensorMap feeds;
  uint64_t seed = 30;
  for (const std::string& in : g.inputs)
    feeds[in] = test::random_tensor(DType::kF32, shape_dims(*g.value(in).type.shape), seed++, -2.0, 2.0);
  return feeds;
}

constexpr const char* kNormPass = "fuse_mix_ffn_norm";

// The graph as an fp16 engine makes it: the pipeline less the after-conversion passes, the
// conversion, then those passes (fuse_mix_ffn where `fuse`, fuse_mix_ffn_norm where `norm`);
// `fired` counts `counted`'s nodes.
Graph fp16_graph(const std::string& bytes, bool fuse, bool norm = false, int* fired = nullptr,
                 const char* counted = kPass) {
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  const auto& late = after_fp16_pass_names();
  PassReport r = run_passes(g, std::set<std::string>(late.begin(), late.end()));
  convert_to_fp16(g);
  if (fuse) run_pass(g, kPass, r, false);
  if (norm) run_pass(g, kNormPass, r, false);
  run_pass(g, "fuse_elementwise", r, false);
  if (fired) *fired = r.fused[counted];
  return g;
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
};

// The fp16 graph with and without the pass (fuse_mix_ffn_norm after fuse_mix_ffn, against
// fuse_mix_ffn alone, where `norm`) on the same random inputs: the same bits.
Outcome run(const Block& e, bool norm = false) {
  const std::string bytes = build(e);
  Outcome o;
  Graph fused = fp16_graph(bytes, true, norm, &o.fired, norm ? kNormPass : kPass), plain = fp16_graph(bytes, norm);
  o.ops = fused.op_histogram();
  const TensorMap feeds = random_feeds(plain);
  const TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(fused).run(feeds);
  for (const std::string& out : plain.outputs) {
    SCOPED_TRACE(out);
    test::expect_dims(got.at(out), want.at(out).dims());
    test::expect_close(got.at(out), test::to_doubles(want.at(out)), 0.0, 0.0);
  }
  return o;
}

TEST(FuseMixFfn, FusesTheBlockAndKeepsItsBits) {
  const Outcome o = run({});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.ops.at("kiln.MixFFN"), 1);
  EXPECT_EQ(o.ops.at("LayerNormalization"), 1);  // x1's
  EXPECT_EQ(o.ops.at("kiln.FusedMatMul"), 1);    // the projection
  EXPECT_EQ(o.ops.count("kiln.DepthwiseConvNHWC"), 0u);
}

TEST(FuseMixFfn, WidthsAndActivations) {
  EXPECT_EQ(run({.B = 1, .H = 9, .W = 17, .C = 64, .Hd = 256}).fired, 1);
  EXPECT_EQ(run({.B = 1, .H = 3, .W = 4, .C = 128, .Hd = 64}).fired, 1);
  EXPECT_EQ(run({.H = 1, .W = 9}).fired, 1);  // one row: the conv reads zeros above and below
  EXPECT_EQ(run({.gelu = false}).fired, 1);   // no activation between the conv and fc2
}

TEST(FuseMixFfn, LeavesOtherSemanticsAlone) {
  EXPECT_EQ(run({.k = 5, .pad = 2}).fired, 0);                // a 5x5 window
  EXPECT_EQ(run({.pad = 2, .dilation = 2}).fired, 0);         // a dilated one
  EXPECT_EQ(run({.variant = "other residual"}).fired, 0);     // the residual is not x
  EXPECT_EQ(run({.variant = "fc1 relu"}).fired, 0);           // fc1 with an activation
  EXPECT_EQ(run({.variant = "hidden output"}).fired, 0);      // h is read elsewhere
  EXPECT_EQ(run({.variant = "ln axis 1"}).fired, 0);          // LayerNorm over tokens and channels
  EXPECT_EQ(run({.variant = "graph input"}).fired, 0);        // the LayerNorm reads x rounded to fp16
  EXPECT_EQ(run({.C = 40, .Hd = 128}).fired, 0);              // a width the kernel lacks
  EXPECT_EQ(run({.C = 32, .Hd = 96}).fired, 0);               // a hidden width off the 64 chunk
}

TEST(FuseMixFfnNorm, TakesTheStageEndLayerNormAndKeepsItsBits) {
  const Outcome o = run({.C = 64, .Hd = 128, .end = "end"}, true);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.ops.at("kiln.MixFFN"), 1);
  EXPECT_EQ(o.ops.at("LayerNormalization"), 1);  // x1's only
  EXPECT_EQ(run({.B = 1, .H = 3, .W = 4, .C = 128, .Hd = 64, .end = "end"}, true).fired, 1);
}

TEST(FuseMixFfnNorm, LeavesOtherSemanticsAlone) {
  EXPECT_EQ(run({.C = 64, .end = "y output"}, true).fired, 0);  // the sum is a graph output too
  EXPECT_EQ(run({.C = 64, .end = "end axis 1"}, true).fired, 0);  // over tokens and channels
  EXPECT_EQ(run({.C = 64, .end = "end mean"}, true).fired, 0);    // its Mean is read
  EXPECT_EQ(run({.C = 32, .end = "end"}, true).fired, 0);         // a width its kernel lacks
}

TEST(FuseMixFfn, FloatGraphsAreLeftToTheUnfusedNodes) {
  Graph g = import_onnx_bytes(build({.end = "end"}), ".", "m.onnx");
  const PassReport r = run_passes(g);
  EXPECT_EQ(r.fused.at(kPass), 0);
  EXPECT_EQ(r.fused.at(kNormPass), 0);
}

// The reference SegFormer-B0 as `kiln build --fp16` makes it: the first two stages' blocks (32 and
// 64 channels) fuse, the wider ones do not; the 64-channel stage's LayerNorm joins its last block.
TEST(FuseMixFfn, FiresOnSegformerB0Fp16) {
  const auto dir = std::filesystem::path(KILN_TEST_DIR) / "models" / "segformer_b0";
  ImportOptions import;
  test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  const auto& late = after_fp16_pass_names();
  PassReport r = run_passes(g, std::set<std::string>(late.begin(), late.end()));
  convert_to_fp16(g);
  run_pass(g, kPass, r, false);
  EXPECT_EQ(r.fused.at(kPass), 4);
  for (const Node& n : g.nodes)
    if (n.op_type == "MixFFN") {
      EXPECT_TRUE(n.name.find("stages.0/") != std::string::npos || n.name.find("stages.1/") != std::string::npos)
          << n.name;
    }
  // fuse_mix_ffn_norm: stage 1's last block (64 channels) takes the stage's LayerNorm; stage 0's
  // (32) keeps it.
  run_pass(g, kNormPass, r, false);
  EXPECT_EQ(r.fused.at(kNormPass), 1);
  for (const Node& n : g.nodes) {
    if (n.op_type == "MixFFN" && n.inputs.size() == 11) {
      EXPECT_NE(n.name.find("stages.1/blocks.1/"), std::string::npos) << n.name;
    }
  }
}

}  // namespace
}  // namespace kiln
