// fuse_sequence_reduction: fires on the float16 key/value path of SegFormer's efficient attention
// (LayerNormPatchRows' rows → reduction GEMM → LayerNorm → packed K/V GEMM) at both widths the
// kernel takes, and on what an fp16 engine build makes of exported blocks (beside
// fuse_attention_block); the fused graph computes the unfused one's bits (the CPU reference runs
// the same references); and it leaves alone chains whose intermediates are read elsewhere, GEMMs
// with an activation or a residual, LayerNorms over more than the channels or with statistics
// outputs, widths the kernel lacks, a float16 X and float32 graphs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fusion_test_util.h"
#include "ops/norm/sequence_reduction.h"
#include "passes/infer_shapes.h"
#include "runtime/engine/engine_file.h"
#include "runtime/specialize.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_sequence_reduction";
constexpr const char* kFused = "kiln.SequenceReduction";

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

void set_float_attr(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

void set_string_attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

// The float16 chain fuse_attention_block leaves, written directly as a kiln-domain model:
//   x [B, H·W, C] ─LayerNormPatchRows(s1, b1)─▶ "", p ─FusedMatMul(wr, br)─▶ r
//     ─LayerNormalization(s2, b2)─▶ l2 ─FusedMatMul(wkv, bkv)─▶ kv (graph output)
struct Chain {
  int64_t B = 2, H = 8, W = 8, p = 2, C = 64;
  int64_t n2 = 0;                 // Wkv's columns; 0: 2·C
  DType x = DType::kF32;          // X's type
  DType weights = DType::kF16;    // kF32: the float32 graph (x too)
  // "y read", "y output", "y unread" (named, read by nobody), "p read", "r read", "l2 read",
  // "p output", "r output", "l2 output", "reduce relu", "kv relu", "reduce residual",
  // "kv residual", "ln axis 1", "ln mean", "wr input" (W a graph input, not a constant)
  std::string variant;
};

std::string build(const Chain& e) {
  test::ModelBuilder b(17);
  auto* kiln_opset = b.proto().add_opset_import();
  kiln_opset->set_domain("kiln");
  kiln_opset->set_version(1);
  const auto kiln_op = [&](const char* op, const std::vector<std::string>& in,
                           const std::vector<std::string>& out) -> onnx::NodeProto& {
    onnx::NodeProto& n = b.node(op, in, out);
    n.set_domain("kiln");
    return n;
  };
  const std::string& v = e.variant;
  const int64_t B = e.B, N = e.H * e.W, Nk = N / (e.p * e.p), C = e.C, N2 = e.n2 ? e.n2 : 2 * C;
  const DType h = e.weights, xt = h == DType::kF32 ? h : e.x;
  uint64_t seed = 40;
  const auto param = [&](const std::string& name, const Dims& d, double lo, double hi) {
    b.initializer(name, test::random_tensor(h, d, seed++, lo, hi));
  };
  b.input("x", xt, {B, N, C});
  param("s1", {C}, 0.5, 1.5);
  param("b1", {C}, -0.2, 0.2);
  if (v == "wr input") b.input("wr", h, {e.p * e.p * C, C});
  else param("wr", {e.p * e.p * C, C}, -0.1, 0.1);
  param("br", {C}, -0.1, 0.1);
  const Dims ln_param = v == "ln axis 1" ? Dims{Nk, C} : Dims{C};
  param("s2", ln_param, 0.5, 1.5);
  param("b2", ln_param, -0.2, 0.2);
  param("wkv", {C, N2}, -0.2, 0.2);
  param("bkv", {N2}, -0.1, 0.1);

  const bool y_named = v == "y read" || v == "y output" || v == "y unread";
  onnx::NodeProto& rows = kiln_op("LayerNormPatchRows", {"x", "s1", "b1"}, {y_named ? "y" : "", "p"});
  test::set_int_attr(rows, "height", e.H);
  test::set_int_attr(rows, "width", e.W);
  test::set_int_attr(rows, "patch", e.p);
  set_float_attr(rows, "epsilon", 1e-6f);
  std::vector<std::string> reduce_in = {"p", "wr", "br"};
  if (v == "reduce residual") {
    b.input("res_r", h, {B, Nk, C});
    reduce_in.push_back("res_r");
  }
  onnx::NodeProto& reduce = kiln_op("FusedMatMul", reduce_in, {"r"});
  if (v == "reduce relu") set_string_attr(reduce, "activation", "relu");
  onnx::NodeProto& ln =
      b.node("LayerNormalization", {"r", "s2", "b2"}, v == "ln mean" ? std::vector<std::string>{"l2", "mean"}
                                                                      : std::vector<std::string>{"l2"});
  test::set_int_attr(ln, "axis", v == "ln axis 1" ? 1 : -1);
  set_float_attr(ln, "epsilon", 2e-5f);
  std::vector<std::string> kv_in = {"l2", "wkv", "bkv"};
  if (v == "kv residual") {
    b.input("res_kv", h, {B, Nk, N2});
    kv_in.push_back("res_kv");
  }
  onnx::NodeProto& kv = kiln_op("FusedMatMul", kv_in, {"kv"});
  if (v == "kv relu") set_string_attr(kv, "activation", "relu");
  b.output("kv", h);
  for (const char* t : {"y", "p", "r", "l2"}) {
    if (v == std::string(t) + " read") {  // a second reader
      b.node("Relu", {t}, {std::string(t) + "_relu"});
      b.output(std::string(t) + "_relu", h);
    }
    if (v == std::string(t) + " output") b.output(t, h);
  }
  return b.bytes();
}

// Both graphs on the same random inputs: every output the same bytes.
void expect_same_bits(const Graph& plain, const Graph& fused) { test::expect_same_bits(plain, fused, 70); }

struct Outcome {
  int fired = 0;
  Graph g;  // after the pass
};

// The pass alone on the chain; fired or not, the graph computes the same bits.
Outcome run(const Chain& e) {
  Graph plain = import_onnx_bytes(build(e), ".", "m.onnx");
  infer_shapes(plain);
  Outcome o{0, plain};
  PassReport r;
  run_pass(o.g, kPass, r, false);
  o.fired = r.fused.at(kPass);
  expect_same_bits(plain, o.g);
  return o;
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

TEST(FuseSequenceReduction, FusesBothWidthsAndKeepsTheBits) {
  for (const Chain& e : {Chain{.p = 2, .C = 64}, Chain{.p = 4, .C = 128}, Chain{.B = 1, .H = 16, .W = 8, .p = 8}}) {
    SCOPED_TRACE("C " + std::to_string(e.C) + ", p " + std::to_string(e.p));
    const Outcome o = run(e);
    EXPECT_EQ(o.fired, 1);
    EXPECT_EQ(o.g.op_histogram(), (std::map<std::string, int>{{kFused, 1}}));
    const Node* n = find_op(o.g, norm::kSequenceReductionOp);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->inputs, (std::vector<std::string>{"x", "s1", "b1", "wr", "br", "s2", "b2", "wkv", "bkv"}));
    EXPECT_EQ(n->outputs, std::vector<std::string>{"kv"});
    EXPECT_EQ(n->attrs.get_int("height"), e.H);
    EXPECT_EQ(n->attrs.get_int("width"), e.W);
    EXPECT_EQ(n->attrs.get_int("patch"), e.p);
    EXPECT_EQ(n->attrs.get_float("epsilon"), 1e-6f);
    EXPECT_EQ(n->attrs.get_float("epsilon2"), 2e-5f);
    const Dims kv = shape_dims(*o.g.value("kv").type.shape);
    EXPECT_EQ(kv, (Dims{e.B, e.H * e.W / (e.p * e.p), 2 * e.C}));
  }
}

// Y named but read by nobody is as good as "": nothing needs it.
TEST(FuseSequenceReduction, FusesAYNothingReads) { EXPECT_EQ(run({.variant = "y unread"}).fired, 1); }

TEST(FuseSequenceReduction, LeavesOtherSemanticsAlone) {
  for (const char* v : {"y read", "y output", "p read", "r read", "l2 read", "p output", "r output", "l2 output"}) {
    SCOPED_TRACE(v);
    EXPECT_EQ(run({.variant = v}).fired, 0);  // an intermediate someone else needs
  }
  EXPECT_EQ(run({.variant = "reduce relu"}).fired, 0);      // the reduction's activation
  EXPECT_EQ(run({.variant = "kv relu"}).fired, 0);          // the projection's
  EXPECT_EQ(run({.variant = "reduce residual"}).fired, 0);  // a residual on either GEMM
  EXPECT_EQ(run({.variant = "kv residual"}).fired, 0);
  EXPECT_EQ(run({.variant = "ln axis 1"}).fired, 0);        // LayerNorm over tokens and channels
  EXPECT_EQ(run({.variant = "ln mean"}).fired, 0);          // its Mean output
  EXPECT_EQ(run({.variant = "wr input"}).fired, 0);         // weights not constant
  EXPECT_EQ(run({.C = 32}).fired, 0);                       // widths the kernel lacks
  EXPECT_EQ(run({.C = 96}).fired, 0);
  EXPECT_EQ(run({.n2 = 64}).fired, 0);                      // N2 != 2·C
  EXPECT_EQ(run({.n2 = 256}).fired, 0);
  EXPECT_EQ(run({.x = DType::kF16}).fired, 0);              // X float16: the kernel reads float32
  EXPECT_EQ(run({.weights = DType::kF32}).fired, 0);        // the float32 graph
}

// A SegFormer block as exported (HF's SegformerEfficientSelfAttention, heads of 64, sequence
// reduction ratio p), behind a LayerNorm and a residual projection that make x an fp32 stream in
// fp16 engines:
//   x0 ─LN─▶ x1 ─MatMul+Add─▶ Add(x1) ─▶ x ─LN─▶ h ─MatMul+Add─Reshape─T(0,2,1,3)─▶ q
//   h ─T(0,2,1)─Reshape [B, C, H, W]─Conv(p×p, stride p)─Reshape [B, C, Nk]─T(0,2,1)─LN─▶ a
//   a ─MatMul+Add─Reshape─T(0,2,1,3)─T(0,1,3,2)─▶ kt    a ─MatMul+Add─Reshape─T(0,2,1,3)─▶ v
//   Softmax(q·kt / 8)·v ─T(0,2,1,3)─Reshape [B, N, C]─MatMul+Add─Add(x)─▶ y
// The pipeline makes the reduction's LayerNorm a LayerNormPatchRows, K and V one GEMM;
// fuse_attention_block then takes the query path, leaving the rows to this pass.
struct Exported {
  int64_t B = 1, H = 8, W = 8, p = 2, heads = 1;
};

std::string build_exported(const Exported& e) {
  const int64_t B = e.B, N = e.H * e.W, Nk = N / (e.p * e.p), D = 64, C = D * e.heads;
  test::ModelBuilder b(17);
  uint64_t seed = 90;
  const auto weight = [&](const std::string& name, const Dims& d, double lo, double hi) {
    b.initializer(name, test::random_tensor(DType::kF32, d, seed++, lo, hi));
    return name;
  };
  const auto layer_norm = [&](const std::string& in, const std::string& out) {
    onnx::NodeProto& n =
        b.node("LayerNormalization", {in, weight(out + ".g", {C}, 0.5, 1.5), weight(out + ".b", {C}, -0.2, 0.2)}, {out});
    test::set_int_attr(n, "axis", -1);
  };
  const auto dense = [&](const std::string& in, const std::string& out) {
    b.node("MatMul", {in, weight(out + ".w", {C, C}, -0.15, 0.15)}, {out + ".mm"});
    b.node("Add", {out + ".mm", weight(out + ".bias", {C}, -0.1, 0.1)}, {out});
  };
  const auto view = [&](const std::string& in, const std::string& out, const Dims& d) {
    b.initializer(out + ".shape", i64(d));
    b.node("Reshape", {in, out + ".shape"}, {out});
  };
  const auto permute = [&](const std::string& in, const std::string& out, const std::vector<int64_t>& perm) {
    test::set_ints_attr(b.node("Transpose", {in}, {out}), "perm", perm);
  };
  b.input("x0", DType::kF32, {B, N, C});
  layer_norm("x0", "x1");
  dense("x1", "proj");
  b.node("Add", {"proj", "x1"}, {"x"});
  layer_norm("x", "h");
  dense("h", "q");
  view("q", "q.heads", {B, N, e.heads, D});
  permute("q.heads", "q.t", {0, 2, 1, 3});
  permute("h", "h.t", {0, 2, 1});
  view("h.t", "h.image", {B, C, e.H, e.W});
  onnx::NodeProto& conv = b.node(
      "Conv", {"h.image", weight("sr.w", {C, C, e.p, e.p}, -0.08, 0.08), weight("sr.b", {C}, -0.1, 0.1)}, {"sr"});
  test::set_ints_attr(conv, "kernel_shape", {e.p, e.p});
  test::set_ints_attr(conv, "strides", {e.p, e.p});
  view("sr", "sr.flat", {B, C, Nk});
  permute("sr.flat", "sr.tokens", {0, 2, 1});
  layer_norm("sr.tokens", "a");
  dense("a", "k");
  view("k", "k.heads", {B, Nk, e.heads, D});
  permute("k.heads", "k.t", {0, 2, 1, 3});
  permute("k.t", "k.tt", {0, 1, 3, 2});
  dense("a", "v");
  view("v", "v.heads", {B, Nk, e.heads, D});
  permute("v.heads", "v.t", {0, 2, 1, 3});
  b.node("MatMul", {"q.t", "k.tt"}, {"scores"});
  b.initializer("sqrt_d", Tensor::scalar<float>(std::sqrt(float(D))));
  b.node("Div", {"scores", "sqrt_d"}, {"scaled"});
  test::set_int_attr(b.node("Softmax", {"scaled"}, {"probs"}), "axis", -1);
  b.node("MatMul", {"probs", "v.t"}, {"context"});
  permute("context", "context.t", {0, 2, 1, 3});
  view("context.t", "context.tokens", {B, N, C});
  dense("context.tokens", "out");
  b.node("Add", {"out", "x"}, {"y"});
  b.output("y", DType::kF32);
  return b.bytes();
}

// SegFormer-B1…B5's stage 0 (one head of 64, ratio 8) and stage 1 (two heads, ratio 4), smaller
// pictures; and the ratio-2 form at one head.
const std::vector<Exported> kStages = {{.H = 16, .W = 16, .p = 8}, {.H = 8, .W = 8, .p = 4, .heads = 2}, {.B = 2}};

std::string stage_name(const Exported& e) {
  return std::to_string(e.heads) + " heads, ratio " + std::to_string(e.p) + ", batch " + std::to_string(e.B);
}

// What test::fp16_engine_graph makes (the pipeline, convert_to_fp16, then the late passes): both
// fusions fire, and the fused graph computes the plain one's bits.
TEST(FuseSequenceReduction, FiresOnAnExportedBlockAsFp16EnginesConvertIt) {
  for (const Exported& e : kStages) {
    SCOPED_TRACE(stage_name(e));
    const std::string bytes = build_exported(e);
    int fired = 0, blocks = 0;
    const Graph fused = test::fp16_engine_graph(bytes, kPass, true, &fired);
    const Graph plain = test::fp16_engine_graph(bytes, kPass, false);
    test::fp16_engine_graph(bytes, "fuse_attention_block", true, &blocks);
    EXPECT_EQ(fired, 1);
    EXPECT_EQ(blocks, 1);
    const auto ops = fused.op_histogram();
    EXPECT_EQ(ops.at(kFused), 1);
    EXPECT_EQ(ops.at("kiln.AttentionBlock"), 1);
    EXPECT_EQ(ops.count("kiln.LayerNormPatchRows"), 0u);
    EXPECT_EQ(ops.count("LayerNormalization"), 1u);  // x0's, which the stream starts from
    // The reduction and the K/V projection went in; the query and output projections went into
    // the AttentionBlock either way; x1's projection stays.
    EXPECT_EQ(test::count_op(fused, "kiln.FusedMatMul"), test::count_op(plain, "kiln.FusedMatMul") - 2);
    EXPECT_EQ(test::count_op(plain, "kiln.LayerNormPatchRows"), 1);
    const Node* n = find_op(fused, norm::kSequenceReductionOp);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(fused.value(n->inputs[norm::kSrX]).type.dtype, DType::kF32);  // the fp32 stream
    EXPECT_EQ(n->attrs.get_int("patch"), e.p);
    expect_same_bits(plain, fused);
  }
}

// The engine build itself (optimize_for_engine, fp16): the pass fires there, and disabling it
// (kiln build --disable-pass) gives the same outputs on the CPU.
TEST(FuseSequenceReduction, EngineBuildsFuseAndDisablingKeepsTheValues) {
  const std::string bytes = build_exported(kStages[1]);
  Graph fused = import_onnx_bytes(bytes, ".", "m.onnx"), plain = fused;
  EngineBuild on, off;
  on.precision = off.precision = "fp16";
  off.disabled_passes = {kPass};
  EXPECT_EQ(optimize_for_engine(fused, on).fused.at(kPass), 1);
  EXPECT_EQ(optimize_for_engine(plain, off).fused.at(kPass), 0);
  EXPECT_EQ(test::count_op(fused, kFused), 1);
  EXPECT_EQ(test::count_op(plain, kFused), 0);
  expect_same_bits(plain, fused);
}

TEST(FuseSequenceReduction, FloatGraphsAreLeftToTheUnfusedNodes) {
  Graph g = import_onnx_bytes(build_exported({}), ".", "m.onnx");
  EXPECT_EQ(run_passes(g).fused.at(kPass), 0);
  EXPECT_EQ(test::count_op(g, "kiln.LayerNormPatchRows"), 1);
}

// Where it runs: right after fuse_attention_block, in the pipeline and after the fp16
// conversion, and only for Hopper (its kernel's GPU).
TEST(FuseSequenceReduction, RunsAfterFuseAttentionBlockOnHopperOnly) {
  for (const auto* names : {&rewrite_pass_names(), &after_fp16_pass_names()}) {
    const auto at = std::find(names->begin(), names->end(), "fuse_attention_block");
    ASSERT_NE(at, names->end());
    ASSERT_NE(at + 1, names->end());
    EXPECT_EQ(*(at + 1), kPass);
  }
  EXPECT_TRUE(hopper_only_pass_names().count(kPass));
  EngineBuild ampere;
  disable_passes_for_target(ampere, {"cuda", "sm_80"});
  EXPECT_TRUE(ampere.disabled_passes.count(kPass));
}

}  // namespace
}  // namespace kiln
