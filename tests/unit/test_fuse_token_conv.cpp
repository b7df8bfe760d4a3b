// fuse_token_conv (fp16 engines, after convert_to_fp16; Hopper only): fires on the Im2ColTokens
// + FusedMatMul (or MatMul, without a bias) that the pipeline and the conversion make of an
// exported conv on tokens (float16 tokens, a float16 or float32 bias) where the CUDA kernel takes
// the widths (C and Co multiples of 64); the fused graph computes the unfused one's bits
// (TokenConv's reference runs the pair's references); and it leaves alone float32 graphs, other
// widths (segformer_tiny's), the NCHW image form, rows read elsewhere or a graph output, GEMMs
// with an activation or a residual, non-constant W and W whose rows are not the window's.
#include <gtest/gtest.h>

#include <algorithm>
#include <variant>

#include "fusion_test_util.h"
#include "model_pass_run.h"
#include "ops/conv/token_conv.h"
#include "passes/fuse_token_conv.h"
#include "passes/pattern.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/specialize.h"

namespace kiln {
namespace {

constexpr const char* kFused = "kiln.TokenConv";

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

int64_t out_extent(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
  return (in + pb + pe - (k - 1) * d - 1) / s + 1;
}

// An exported conv on tokens, as test_fuse_token_im2col_conv builds it:
//   lead "tokens":    x [B, H·W, C] ─Transpose(0,2,1)─▶ ─Reshape [B, C, H, W]─▶ r1
//   lead "stage_end": x [B, H·W, C] ─Reshape [B, H, W, C]─▶ ─Transpose(0,3,1,2)─▶ r1 (HF SegFormer)
//   lead "image":     x [B, C, H, W] is r1
//   r1 ─Conv─▶ ─Reshape [B, Co, P]─▶ ─Transpose(0,2,1)─▶ t2, then by `tail`:
//   "none": t2 is y; "relu": Relu ─▶ y; "residual": Add(t2, s [B, P, Co]) ─▶ y;
//   "layer_norm": LayerNormalization over Co ─▶ y (SegFormer's embedding norm)
struct Embed {
  int64_t B = 2, H = 9, W = 11, C = 64, Co = 128, kh = 3, kw = 3;
  Dims strides = {2, 2}, pads = {1, 1, 1, 1}, dilations = {1, 1};
  std::string lead = "stage_end", tail = "none";
  bool bias = true;
};

std::string build(const Embed& e) {
  test::ModelBuilder b(17);
  const DType f = DType::kF32;
  b.output("y", f);
  const int64_t P = out_extent(e.H, e.kh, e.strides[0], e.dilations[0], e.pads[0], e.pads[2]) *
                    out_extent(e.W, e.kw, e.strides[1], e.dilations[1], e.pads[1], e.pads[3]);
  if (e.lead == "image") {
    b.input("r1", f, {e.B, e.C, e.H, e.W});
  } else if (e.lead == "tokens") {
    b.input("x", f, {e.B, e.H * e.W, e.C});
    test::set_ints_attr(b.node("Transpose", {"x"}, {"t1"}), "perm", {0, 2, 1});
    b.initializer("split", i64({e.B, e.C, e.H, e.W}));
    b.node("Reshape", {"t1", "split"}, {"r1"});
  } else {
    b.input("x", f, {e.B, e.H * e.W, e.C});
    b.initializer("split", i64({e.B, e.H, e.W, e.C}));
    b.node("Reshape", {"x", "split"}, {"t1"});
    test::set_ints_attr(b.node("Transpose", {"t1"}, {"r1"}), "perm", {0, 3, 1, 2});
  }
  b.initializer("w", test::random_tensor(f, {e.Co, e.C, e.kh, e.kw}, 11, -0.5, 0.5));
  b.initializer("bias", test::random_tensor(f, {e.Co}, 12));
  std::vector<std::string> conv_in = {"r1", "w"};
  if (e.bias) conv_in.push_back("bias");
  onnx::NodeProto& conv = b.node("Conv", conv_in, {"c"});
  conv.set_name("patch_embed");
  test::set_ints_attr(conv, "kernel_shape", {e.kh, e.kw});
  test::set_ints_attr(conv, "strides", e.strides);
  test::set_ints_attr(conv, "dilations", e.dilations);
  test::set_ints_attr(conv, "pads", e.pads);
  b.initializer("merge", i64({e.B, e.Co, P}));
  b.node("Reshape", {"c", "merge"}, {"r2"});
  const std::string t2 = e.tail == "none" ? "y" : "t2";
  test::set_ints_attr(b.node("Transpose", {"r2"}, {t2}), "perm", {0, 2, 1});
  if (e.tail == "relu") {
    b.node("Relu", {t2}, {"y"});
  } else if (e.tail == "residual") {
    b.input("s", f, {e.B, P, e.Co});
    b.node("Add", {t2, "s"}, {"y"});
  } else if (e.tail == "layer_norm") {
    b.initializer("ln_scale", test::random_tensor(f, {e.Co}, 13, 0.5, 1.5));
    b.initializer("ln_bias", test::random_tensor(f, {e.Co}, 14));
    test::set_int_attr(b.node("LayerNormalization", {t2, "ln_scale", "ln_bias"}, {"y"}), "axis", -1);
  }
  return b.bytes();
}

// The float32 pipeline's graph.
Graph pipeline_graph(const Embed& e) {
  Graph g = import_onnx_bytes(build(e), ".", "m.onnx");
  run_passes(g);
  return g;
}

// What an fp16 engine makes of it (the pipeline, convert_to_fp16, the late passes but this one).
Graph fp16_graph(const Embed& e) { return test::fp16_engine_graph(build(e), "fuse_token_conv", false); }

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

// The fused node carries the gather's attributes (every one an int or ints), unchanged.
void expect_same_window(const Node& fused, const Node& gather) {
  const auto &got = fused.attrs.all(), &want = gather.attrs.all();
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, value] : want) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(got.count(name));
    if (const auto* v = std::get_if<int64_t>(&value)) EXPECT_EQ(fused.attrs.get_int(name), *v);
    else if (const auto* vs = std::get_if<std::vector<int64_t>>(&value)) EXPECT_EQ(fused.attrs.get_ints(name), *vs);
    else EXPECT_EQ(fused.attrs.get_string(name), std::get<std::string>(value));
  }
}

// The pass on a copy of `plain`: one TokenConv in place of the pair, with the gather's
// attributes, and the same bits on random inputs.
void expect_fused(const Graph& plain, uint64_t seed) {
  ASSERT_EQ(test::count_op(plain, "kiln.Im2ColTokens"), 1);
  const Node* gather = find_op(plain, "Im2ColTokens");
  Graph g = plain;
  EXPECT_EQ(fuse_token_conv(g), 1);
  EXPECT_EQ(test::count_op(g, kFused), 1);
  EXPECT_EQ(test::count_op(g, "kiln.Im2ColTokens"), 0);
  EXPECT_EQ(test::count_op(g, "kiln.FusedMatMul"), 0);
  EXPECT_EQ(test::count_op(g, "MatMul"), 0);
  const Node* n = find_op(g, conv::kTokenConvOp);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->domain, kKilnDomain);
  EXPECT_EQ(n->inputs[0], gather->inputs[0]);
  expect_same_window(*n, *gather);
  test::expect_same_bits(plain, g, seed);
}

std::string describe(const Embed& e) {
  return e.lead + " H " + std::to_string(e.H) + " W " + std::to_string(e.W) + " C " + std::to_string(e.C) + " k " +
         std::to_string(e.kh) + "x" + std::to_string(e.kw) + " s " + std::to_string(e.strides[0]) + " d " +
         std::to_string(e.dilations[0]) + " tail " + e.tail + (e.bias ? "" : " no bias");
}

// Awkward shapes beside SegFormer's 3×3 stride 2 pad 1, in the widths the kernel takes.
const Embed kShapes[] = {
    {},
    {.lead = "tokens"},
    {.B = 1, .H = 8, .W = 8, .C = 128, .Co = 64},
    {.H = 7, .W = 13, .Co = 64, .tail = "layer_norm"},
    {.B = 1, .H = 17, .W = 23, .Co = 64, .kh = 7, .kw = 7, .strides = {4, 4}, .pads = {3, 3, 3, 3}},
    {.H = 10, .W = 9, .pads = {2, 2, 2, 2}, .dilations = {2, 2}},
    {.C = 128, .Co = 192, .bias = false},
    {.H = 9, .W = 12, .Co = 64, .kh = 5, .kw = 3, .strides = {1, 3}, .pads = {0, 2, 3, 1}, .tail = "layer_norm"},
};

TEST(FuseTokenConv, FiresOnTheFp16EnginesGatherAndGemm) {
  for (const char* lead : {"stage_end", "tokens"}) {
    SCOPED_TRACE(lead);
    const Graph plain = fp16_graph({.lead = lead});
    EXPECT_EQ(test::count_op(plain, "kiln.FusedMatMul"), 1);
    EXPECT_EQ(test::count_op(plain, "Conv"), 0);
    const Node* gemm = find_op(plain, "FusedMatMul");
    ASSERT_NE(gemm, nullptr);
    Graph g = plain;
    ASSERT_EQ(fuse_token_conv(g), 1);
    EXPECT_EQ(g.nodes.size(), plain.nodes.size() - 1);
    const Node* n = find_op(g, conv::kTokenConvOp);
    ASSERT_NE(n, nullptr);
    // Named and wired as the GEMM: its W, bias and output; the gather's tokens.
    EXPECT_EQ(n->name, gemm->name);
    EXPECT_EQ(n->outputs, gemm->outputs);
    EXPECT_EQ((std::vector<std::string>{n->inputs[1], n->inputs[2]}),
              (std::vector<std::string>{gemm->inputs[1], gemm->inputs[2]}));
    EXPECT_EQ(static_dims(g, n->inputs[0]), (Dims{2, 9 * 11, 64}));
    EXPECT_EQ(g.value(n->inputs[0]).type.dtype, DType::kF16);
    EXPECT_EQ(n->attrs.get_int("height"), 9);
    EXPECT_EQ(n->attrs.get_int("width"), 11);
    EXPECT_EQ(n->attrs.get_ints("kernel_shape"), (Dims{3, 3}));
    EXPECT_EQ(n->attrs.get_ints("strides"), (Dims{2, 2}));
    EXPECT_EQ(n->attrs.get_ints("pads"), (Dims{1, 1, 1, 1}));
    EXPECT_EQ(fuse_token_conv(g), 0);  // nothing left to fuse
  }
}

// A late pass: fp16 engines run it after the conversion (on Hopper: hopper_only_pass_names);
// the float32 pipeline leaves the pair, and so does the pass on a float32 graph.
TEST(FuseTokenConv, RunsAfterFp16Only) {
  EXPECT_EQ(std::count(rewrite_pass_names().begin(), rewrite_pass_names().end(), "fuse_token_conv"), 1);
  EXPECT_EQ(std::count(after_fp16_pass_names().begin(), after_fp16_pass_names().end(), "fuse_token_conv"), 1);
  EXPECT_EQ(hopper_only_pass_names().count("fuse_token_conv"), 1u);
  Graph f32 = pipeline_graph({});
  EXPECT_EQ(test::count_op(f32, kFused), 0);
  EXPECT_EQ(test::count_op(f32, "kiln.Im2ColTokens"), 1);
  EXPECT_EQ(fuse_token_conv(f32), 0);
  int fired = 0;
  const Graph fp16 = test::fp16_engine_graph(build({}), "fuse_token_conv", true, &fired);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(test::count_op(fp16, kFused), 1);
}

// What an fp16 engine makes of it, then the pass: float16 tokens and W; a float32 bias where the
// conv writes the model output in float32 (tail "none": the mixed FusedMatMul), a float16 one
// before the LayerNorm.
TEST(FuseTokenConv, SameBitsInFp16EngineGraphs) {
  uint64_t seed = 200;
  for (const Embed& e : kShapes) {
    SCOPED_TRACE(describe(e));
    const Graph plain = fp16_graph(e);
    const Node* gather = find_op(plain, "Im2ColTokens");
    ASSERT_NE(gather, nullptr);
    EXPECT_EQ(plain.value(gather->inputs[0]).type.dtype, DType::kF16);
    const GraphIndex idx(plain);
    const Node* gemm = idx.sole_consumer(gather->outputs[0]);
    ASSERT_NE(gemm, nullptr);
    if (e.bias) {
      EXPECT_EQ(plain.value(gemm->inputs[2]).type.dtype, e.tail == "none" ? DType::kF32 : DType::kF16);
    }
    expect_fused(plain, seed += 10);
    if (HasFatalFailure()) return;
  }
}

// segformer_tiny's widths (16, 32, 40, 64: no stage has both C and Co multiples of 64) are not
// the kernel's: its fp16 engine keeps the three gathers of stages 1-3.
TEST(FuseTokenConv, LeavesSegFormerTinysWidths) {
  test::ModelPassRun r = test::run_model_passes("segformer_tiny", {});
  convert_to_fp16(r.fused);
  EXPECT_EQ(test::count_op(r.fused, "kiln.Im2ColTokens"), 3);
  EXPECT_EQ(fuse_token_conv(r.fused), 0);
}

// fuse_patch_embed_layer_norm then takes the LayerNorm after the TokenConv into its epilogue at
// Co 64 and 128 (one kernel block holds a token's channels), with the unfused pair's bits, and
// leaves it at other widths.
TEST(FuseTokenConv, TheEmbeddingNormJoinsAtCo64And128) {
  uint64_t seed = 400;
  for (int64_t co : {128, 64, 192}) {
    SCOPED_TRACE("Co " + std::to_string(co));
    const Embed e{.Co = co, .tail = "layer_norm"};
    const Graph plain = test::fp16_engine_graph(build(e), "fuse_patch_embed_layer_norm", false);
    int fired = -1;
    const Graph g = test::fp16_engine_graph(build(e), "fuse_patch_embed_layer_norm", true, &fired);
    EXPECT_EQ(test::count_op(plain, kFused), 1);
    EXPECT_EQ(test::count_op(g, kFused), 1);
    const bool fits = co != 192;
    EXPECT_EQ(fired, fits ? 1 : 0);
    EXPECT_EQ(test::count_op(g, "LayerNormalization"), fits ? 0 : 1);
    const Node* n = find_op(g, conv::kTokenConvOp);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->inputs.size(), fits ? 5u : 3u);
    test::expect_same_bits(plain, g, seed += 10);
  }
}

// The pipeline's graph with `edit` applied: how many pairs the pass fuses.
template <class Edit> int fired_after(const Embed& e, Edit&& edit) {
  Graph g = fp16_graph(e);
  edit(g);
  return fuse_token_conv(g);
}
int fired(const Embed& e) {
  return fired_after(e, [](Graph&) {});
}

const Node& gather_of(const Graph& g) {
  const Node* n = find_op(g, "Im2ColTokens");
  KILN_ASSERT(n);
  return *n;
}

TEST(FuseTokenConv, LeavesOtherFormsAlone) {
  // Widths the kernel lacks: C or Co not a multiple of 64.
  EXPECT_EQ(fired({.C = 40}), 0);
  EXPECT_EQ(fired({.Co = 24}), 0);
  EXPECT_EQ(fired({.C = 96, .Co = 96}), 0);
  // The NCHW image form (C > 4: fuse_patch_embed_tokens leaves it too).
  EXPECT_EQ(test::count_op(fp16_graph({.lead = "image"}), "kiln.Im2ColTokens"), 1);
  EXPECT_EQ(fired({.lead = "image"}), 0);
  EXPECT_EQ(fired({.tail = "relu"}), 0);      // an activation in the GEMM's epilogue
  EXPECT_EQ(fired({.tail = "residual"}), 0);  // a residual
  // The rows a graph output, or read by another node too.
  EXPECT_EQ(fired_after({}, [](Graph& g) { g.outputs.push_back(gather_of(g).outputs[0]); }), 0);
  EXPECT_EQ(fired_after({}, [](Graph& g) {
              const std::string rows = gather_of(g).outputs[0];
              const std::string z = add_value(g, "z", g.value(rows).type);
              g.nodes.push_back(onnx_node(g, "other_reader", "Relu", {rows}, z));
              g.outputs.push_back(z);
            }),
            0);
  // W a graph input, not a constant.
  EXPECT_EQ(fired_after({}, [](Graph& g) {
              const std::string w = find_op(g, "FusedMatMul")->inputs[1];
              g.value(w).constant.reset();
              g.inputs.push_back(w);
            }),
            0);
  // W's rows not the gather's window times C (a gather claiming a 3×2 window).
  EXPECT_EQ(fired_after({}, [](Graph& g) {
              for (Node& n : g.nodes)
                if (n.op_type == "Im2ColTokens") n.attrs.set("kernel_shape", Dims{3, 2});
            }),
            0);
  EXPECT_EQ(fired({}), 1);  // the same graph unedited
}

}  // namespace
}  // namespace kiln
