// fuse_resize_sum_conv: fires once on SegFormer-B0's decode head as an fp16 engine builds it
// (kiln.ResizeSum → classifier Conv), computes exactly what the two nodes did (the CPU reference
// runs their references), takes in the identity branch's 64-channel projection (a FusedMatMul)
// where it may, and leaves alone other convolutions, a sum read elsewhere, float32 graphs and
// widths the kernel lacks.
#include <gtest/gtest.h>

#include <filesystem>

#include "fusion_test_util.h"
#include "model_pass_run.h"
#include "passes/convert_precision.h"
#include "passes/pattern.h"
#include "runtime/specialize.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_resize_sum_conv";

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

void set_string_attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

// The decode head's end as exported, fuse_resize_sum's input form:
//   t0 [B, H·W, C] ─T─Reshape─────────────────────▶┐
//   t1 [B, h1·w1, C] ─T─Reshape─▶ Resize ─▶ Add ─▶ [Add ◀─ Resize ◀─ t2 (T, Reshape) or x2 [B, C, h2, w2]] ─▶ Relu ─▶ s
//   s ─▶ Conv(W [K, C, 1, 1], b [K]) ─▶ logits (a graph output: fp32 in fp16 engines)
// With cin > 0, t0 is the identity branch's projection src [B, H·W, cin] · wp [cin, C] + bp [C]
// (a FusedMatMul once the pipeline has run).
struct Head {
  int64_t B = 1, C = 64, H = 9, W = 13, K = 19;
  int64_t h1 = 4, w1 = 5, h2 = 3, w2 = 7;
  bool third = true;  // the third branch: tokens t2, or NCHW x2 for variant "nchw"
  int64_t kernel = 1, stride = 1, group = 1, dilation = 1, pad = 0;
  std::string variant;  // "w input", "no bias", "sum read elsewhere", "sum output", "sigmoid", "nchw", "four" (resized inputs),
                        // with cin: "proj read elsewhere", "proj relu", "proj residual"
  int64_t cin = 0;
};

// t0 = src · wp + bp [→ Relu | + res] [also read by a Sigmoid to a graph output].
void projected_t0(test::ModelBuilder& b, const Head& e) {
  const int64_t n = e.H * e.W;
  b.input("src", DType::kF32, {e.B, n, e.cin});
  b.initializer("wp", test::random_tensor(DType::kF32, {e.cin, e.C}, 5, -0.2, 0.2));
  b.initializer("bp", test::random_tensor(DType::kF32, {e.C}, 6, -0.5, 0.5));
  b.node("MatMul", {"src", "wp"}, {"mm"});
  const bool plain = e.variant != "proj relu" && e.variant != "proj residual";
  b.node("Add", {"mm", "bp"}, {plain ? "t0" : "pre"});
  if (e.variant == "proj relu") b.node("Relu", {"pre"}, {"t0"});
  if (e.variant == "proj residual") {
    b.input("res", DType::kF32, {e.B, n, e.C});
    b.node("Add", {"pre", "res"}, {"t0"});
  }
  if (e.variant == "proj read elsewhere") {
    b.node("Sigmoid", {"t0"}, {"z0"});
    b.output("z0", DType::kF32);
  }
}

std::string build(const Head& e) {
  test::ModelBuilder b(17);
  std::vector<std::string> leaves;
  auto tokens = [&](const std::string& n, int64_t h, int64_t w) {
    if (n == "0" && e.cin > 0) projected_t0(b, e);
    else b.input("t" + n, DType::kF32, {e.B, h * w, e.C});
    test::set_ints_attr(b.node("Transpose", {"t" + n}, {"tt" + n}), "perm", {0, 2, 1});
    b.initializer("shape" + n, i64({e.B, e.C, h, w}));
    b.node("Reshape", {"tt" + n, "shape" + n}, {"img" + n});
    return "img" + n;
  };
  auto resize = [&](const std::string& n, const std::string& img) {
    b.initializer("sizes" + n, i64({e.B, e.C, e.H, e.W}));
    onnx::NodeProto& r = b.node("Resize", {img, "", "", "sizes" + n}, {"r" + n});
    set_string_attr(r, "mode", "linear");
    set_string_attr(r, "coordinate_transformation_mode", "half_pixel");
    return "r" + n;
  };
  b.node("Add", {tokens("0", e.H, e.W), resize("1", tokens("1", e.h1, e.w1))}, {"a1"});
  std::string sum = "a1";
  if (e.third) {
    std::string x2 = "x2";
    if (e.variant == "nchw") b.input(x2, DType::kF32, {e.B, e.C, e.h2, e.w2});
    else x2 = tokens("2", e.h2, e.w2);
    b.node("Add", {sum, resize("2", x2)}, {"a2"});
    sum = "a2";
  }
  if (e.variant == "four") {  // a fourth and fifth resized branch: more than the kernel's three
    for (const char* n : {"3", "4"}) {
      b.node("Add", {sum, resize(n, tokens(n, e.h2, e.w2))}, {std::string("a") + n});
      sum = std::string("a") + n;
    }
  }
  b.node("Relu", {sum}, {"s"});
  const Dims wd = {e.K, e.C / e.group, e.kernel, e.kernel};
  if (e.variant == "w input") b.input("w", DType::kF32, wd);
  else b.initializer("w", test::random_tensor(DType::kF32, wd, 3, -0.2, 0.2));
  b.initializer("bias", test::random_tensor(DType::kF32, {e.K}, 4, -0.5, 0.5));
  std::vector<std::string> in = {"s", "w"};
  if (e.variant != "no bias") in.push_back("bias");
  const bool sigmoid = e.variant == "sigmoid";
  onnx::NodeProto& conv = b.node("Conv", in, {sigmoid ? "c" : "logits"});
  conv.set_name("classifier");
  test::set_ints_attr(conv, "kernel_shape", {e.kernel, e.kernel});
  test::set_ints_attr(conv, "strides", {e.stride, e.stride});
  test::set_ints_attr(conv, "dilations", {e.dilation, e.dilation});
  test::set_ints_attr(conv, "pads", {e.pad, e.pad, e.pad, e.pad});
  test::set_int_attr(conv, "group", e.group);
  if (sigmoid) b.node("Sigmoid", {"c"}, {"logits"});
  b.output("logits", DType::kF32);
  if (e.variant == "sum read elsewhere") {
    b.node("Sigmoid", {"s"}, {"z"});
    b.output("z", DType::kF32);
  }
  if (e.variant == "sum output") b.output("s", DType::kF32);
  return b.bytes();
}

Graph fp16_graph(const std::string& bytes, bool fuse, int* fired = nullptr) {
  return test::fp16_engine_graph(bytes, kPass, fuse, fired);
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

struct Outcome {
  int fired = 0;
  Graph g;
};

// The fused node's projected_input, -1 when absent.
int64_t projected(const Graph& g) {
  const Node* n = find_op(g, "ResizeSumConv");
  return n ? n->attrs.get_int("projected_input", -1) : -1;
}

// The fp16 graph with and without the pass on the same random inputs: the same bits. Each
// fusion replaces two nodes, three with the projection.
Outcome run(const Head& e) {
  const std::string bytes = build(e);
  Outcome o;
  o.g = fp16_graph(bytes, true, &o.fired);
  const Graph plain = fp16_graph(bytes, false);
  EXPECT_EQ(plain.nodes.size(), o.g.nodes.size() + size_t(o.fired) + (projected(o.g) >= 0 ? 1 : 0));
  const TensorMap feeds = test::random_feeds(plain, 21, -2, 2);
  const TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(o.g).run(feeds);
  for (const std::string& out : plain.outputs) {
    SCOPED_TRACE(out);
    EXPECT_TRUE(got.at(out).same_bytes(want.at(out)));
  }
  return o;
}

TEST(FuseResizeSumConv, FusesTheHeadAndKeepsItsBits) {
  const Outcome o = run({});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(test::count_op(o.g, "kiln.ResizeSum") + test::count_op(o.g, "Conv"), 0);
  const Node* n = find_op(o.g, "ResizeSumConv");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->name, "classifier");
  EXPECT_EQ(n->domain, "kiln");
  ASSERT_EQ(n->inputs.size(), 5u);  // t0, t1, t2, W, B
  EXPECT_EQ(n->outputs, (std::vector<std::string>{"logits"}));
  EXPECT_EQ(n->attrs.get_string("activation"), "relu");
  EXPECT_EQ(n->attrs.get_strings("layouts"), (std::vector<std::string>{"tokens", "tokens", "tokens"}));
  EXPECT_EQ(o.g.value(n->inputs[3]).type.dtype, DType::kF16);  // W
  EXPECT_EQ(o.g.value(n->inputs[4]).type.dtype, DType::kF32);  // the mixed Conv's bias
  EXPECT_EQ(o.g.value("logits").type.dtype, DType::kF32);
}

TEST(FuseResizeSumConv, WidthsClassesAndSizes) {
  EXPECT_EQ(run({.B = 2, .C = 128, .H = 7, .W = 11, .K = 150, .h1 = 3, .w1 = 2, .third = false}).fired, 1);
  // (A 1x1 token map would reach ResizeSum as NCHW: the pipeline drops its Transpose.)
  EXPECT_EQ(run({.C = 64, .H = 5, .W = 17, .K = 160, .h1 = 2, .w1 = 3, .h2 = 1, .w2 = 2}).fired, 1);
  EXPECT_EQ(run({.C = 64, .H = 6, .W = 140, .h1 = 3, .w1 = 70, .h2 = 1, .w2 = 18}).fired, 1);  // two x tiles
  EXPECT_EQ(run({.C = 192, .K = 1}).fired, 1);
  // A float16 bias and output: the Conv feeds a Sigmoid, so only the Sigmoid writes float32.
  const Outcome o = run({.variant = "sigmoid"});
  EXPECT_EQ(o.fired, 1);
  const Node* n = find_op(o.g, "ResizeSumConv");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(o.g.value(n->inputs.back()).type.dtype, DType::kF16);
  EXPECT_EQ(o.g.value(n->outputs[0]).type.dtype, DType::kF16);
}

// The ResizeSum and the Conv are both there, unfused.
void expect_refused(const Head& e) {
  const Outcome o = run(e);
  EXPECT_EQ(o.fired, 0);
  EXPECT_EQ(test::count_op(o.g, "kiln.ResizeSum"), 1);
  EXPECT_EQ(test::count_op(o.g, "Conv"), 1);
}

TEST(FuseResizeSumConv, LeavesOtherConvolutionsAlone) {
  expect_refused({.kernel = 3});  // a 3x3 window
  expect_refused({.stride = 2});
  expect_refused({.K = 20, .group = 2});
  expect_refused({.dilation = 2});  // the same numbers for a 1x1 kernel, but not the pattern asked for
  expect_refused({.pad = 1});
  expect_refused({.variant = "w input"});  // W not a constant
  expect_refused({.variant = "no bias"});
  expect_refused({.variant = "sum read elsewhere"});
  expect_refused({.variant = "sum output"});
  expect_refused({.C = 96});  // not whole 64-channel chunks
  expect_refused({.C = 32});
  expect_refused({.K = 161});  // more classes than one tile holds
  // Sums the kernel does not read: an NCHW input, a downsampled one (16 output pixels span more
  // than 16 source columns), four resized inputs.
  expect_refused({.variant = "nchw"});
  expect_refused({.W = 13, .h1 = 4, .w1 = 40});
  expect_refused({.variant = "four"});
}

// The identity branch's FusedMatMul [B, N, 64] · [64, C] + bias goes into the fused node: its
// source tokens in its place, Wp and Bp after W and B.
TEST(FuseResizeSumConv, AbsorbsTheIdentitysProjection) {
  for (const Head& e : {Head{.cin = 64}, Head{.C = 128, .K = 150, .third = false, .cin = 64}}) {
    SCOPED_TRACE(e.C);
    const Outcome o = run(e);
    EXPECT_EQ(o.fired, 1);
    EXPECT_EQ(test::count_op(o.g, "kiln.FusedMatMul"), 0);
    const Node* n = find_op(o.g, "ResizeSumConv");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->attrs.get_int("projected_input", -1), 0);
    const size_t maps = e.third ? 3 : 2;
    ASSERT_EQ(n->inputs.size(), maps + 4);  // maps, W, B, Wp, Bp
    const std::optional<Dims> src = static_dims(o.g, n->inputs[0]);
    EXPECT_EQ(src, (Dims{e.B, e.H * e.W, 64}));
    EXPECT_EQ(o.g.value(n->inputs[0]).type.dtype, DType::kF16);
    const Value &wp = o.g.value(n->inputs[maps + 2]), &bp = o.g.value(n->inputs[maps + 3]);
    ASSERT_TRUE(wp.constant && bp.constant);
    EXPECT_EQ(wp.constant->dims(), (Dims{64, e.C}));
    EXPECT_EQ(bp.constant->dims(), (Dims{e.C}));
    EXPECT_EQ(wp.constant->dtype(), DType::kF16);
    EXPECT_EQ(bp.constant->dtype(), DType::kF16);
  }
}

// Projections the kernel does not take or that must stay: the head fuses without them.
TEST(FuseResizeSumConv, LeavesOtherProjectionsOut) {
  for (const Head& e : {Head{.cin = 32}, Head{.variant = "proj read elsewhere", .cin = 64},
                        Head{.variant = "proj relu", .cin = 64}, Head{.variant = "proj residual", .cin = 64}}) {
    SCOPED_TRACE(e.variant + " cin " + std::to_string(e.cin));
    const Outcome o = run(e);
    EXPECT_EQ(o.fired, 1);
    EXPECT_EQ(projected(o.g), -1);
    const Node* mm = find_op(o.g, "FusedMatMul");
    ASSERT_NE(mm, nullptr);
    const Node* n = find_op(o.g, "ResizeSumConv");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->inputs.size(), 5u);
    EXPECT_EQ(n->inputs[0], mm->outputs[0]);  // the FusedMatMul feeds the identity: refused for the reason asked
    if (e.variant == "proj relu") {
      EXPECT_EQ(mm->attrs.get_string("activation"), "relu");
    }
    if (e.variant == "proj residual") {
      EXPECT_EQ(mm->inputs.size(), 4u);
    }
  }
}

TEST(FuseResizeSumConv, FloatGraphsAreLeftToTheUnfusedNodes) {
  Graph g = import_onnx_bytes(build({}), ".", "m.onnx");
  const PassReport r = run_passes(g);
  EXPECT_EQ(r.fused.at("fuse_resize_sum"), 1);
  EXPECT_EQ(r.fused.at(kPass), 0);
  EXPECT_EQ(test::count_op(g, "kiln.ResizeSum"), 1);
}

// What `kiln build --fp16` runs: the pass after the conversion, recorded for `inspect --fusions`,
// and left out by --disable-pass.
TEST(FuseResizeSumConv, EngineBuildsRunAndRecordIt) {
  for (bool disabled : {false, true}) {
    SCOPED_TRACE(disabled);
    Graph g = import_onnx_bytes(build({}), ".", "m.onnx");
    EngineBuild eb;
    eb.precision = "fp16";
    if (disabled) eb.disabled_passes = {kPass};
    const PassReport r = optimize_for_engine(g, eb);
    EXPECT_EQ(r.fused.at(kPass), disabled ? 0 : 1);
    EXPECT_EQ(test::count_op(g, "kiln.ResizeSumConv"), disabled ? 0 : 1);
    int records = 0;
    for (const FusionRecord& rec : eb.rewrites)
      if (rec.pass == kPass) {
        ++records;
        EXPECT_EQ(rec.added, (std::vector<NodeRef>{{"kiln.ResizeSumConv", "classifier"}}));
        EXPECT_EQ(rec.replaced.size(), 2u);
      }
    EXPECT_EQ(records, disabled ? 0 : 1);
  }
}

// The reference SegFormer-B0 as `kiln build --fp16` makes it: its decode head's ResizeSum and
// classifier become one node writing the float32 logits.
TEST(FuseResizeSumConv, FiresOnSegformerB0Fp16) {
  const auto dir = std::filesystem::path(KILN_TEST_DIR) / "models" / "segformer_b0";
  ImportOptions import;
  test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  const auto& late = after_fp16_pass_names();
  PassReport r = run_passes(g, std::set<std::string>(late.begin(), late.end()));
  EXPECT_EQ(r.fused.at(kPass), 0);  // float32 until converted
  convert_to_fp16(g);
  run_pass(g, "fuse_mix_ffn", r, false);
  const size_t before = g.nodes.size();
  run_pass(g, kPass, r, false);
  EXPECT_EQ(r.fused.at(kPass), 1);
  EXPECT_EQ(g.nodes.size(), before - 1);
  const Node* n = find_op(g, "ResizeSumConv");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->name, "/model/decode_head/classifier/Conv");
  EXPECT_EQ(n->inputs.size(), 6u);
  EXPECT_EQ(n->outputs, (std::vector<std::string>{"logits"}));
  EXPECT_EQ(g.value("logits").type.dtype, DType::kF32);
  EXPECT_EQ(find_op(g, "ResizeSum"), nullptr);
  // B0's identity branch projects 32-channel tokens: the kernel takes 64, so it stays a node.
  EXPECT_FALSE(n->attrs.has("projected_input"));
  bool branch3 = false;
  for (const Node& m : g.nodes) branch3 |= m.name == "/model/decode_head/linear_fuse/Conv/branch3" && m.op_type == "FusedMatMul";
  EXPECT_TRUE(branch3);
}

}  // namespace
}  // namespace kiln
