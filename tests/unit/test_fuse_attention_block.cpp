// fuse_attention_block: fires on the float16 attention half of a SegFormer block (LayerNorm → query
// projection → attention of one or two heads over packed K and V → output projection + residual),
// behind a LayerNormalization or a LayerNormPatchRows (whose rows stay), with x float32 or float16,
// in either seq_first layout at one head, and on what the pipeline and convert_to_fp16 make of an
// exported block (one head and two); the
// fused graph computes the unfused one's bits (the CPU reference runs the same references); and it
// leaves alone widths and head counts the kernel lacks, two heads not in the tokens' layout
// ([B, H, N, D] is another order of the bytes), a query projection with an activation, a mask, another
// residual or none, intermediates read elsewhere, unpacked K and V, float32 graphs and LayerNorms
// over more than the channels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "fusion_test_util.h"
#include "passes/convert_precision.h"
#include "passes/infer_shapes.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_attention_block";

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

void set_float_attr(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

// The float16 form convert_to_fp16 leaves, written directly as a kiln-domain model:
//   x [B, N, C] ─LN─▶ l ─FusedMatMul(wq, bq)─▶ q ─Reshape [B, 1, N, C]─▶ q4
//     ─Attention(q4, kv [B, Nk, 2, C], "", packed_kv 1, seq_first 0 1 1 0)─▶ o4 ─Reshape [B, N, C]─▶ o
//     ─FusedMatMul(wo, bo, residual x)─▶ y
// with LN a LayerNormalization or a LayerNormPatchRows whose rows are a graph output (the
// sequence reduction's input), and seq_first Q and output as [B, N, 1, C].
struct Block {
  int64_t B = 2, H = 6, W = 8, p = 2, C = 64;  // N = H·W = 48 tokens, Nk = N / p² = 12 keys
  int64_t heads = 1;                             // of C / heads channels
  DType x = DType::kF32;                         // the residual stream's type, which bo and y take
  bool patch_rows = false;                       // the LayerNorm as kiln.LayerNormPatchRows
  bool seq_first = false;                        // Q and the output viewed [B, N, heads, D]
  bool scale = true;                             // the Attention's scale attribute (else 1/sqrt(C))
  DType weights = DType::kF16;                   // kF32: the float32 graph (x too)
  // "q relu", "mask", "other residual", "no residual", "q read", "l read", "unpacked", "ln axis 1"
  std::string variant;
};

std::string build(const Block& e) {
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
  const int64_t B = e.B, N = e.H * e.W, Nk = N / (e.p * e.p), C = e.C, Hd = e.heads, D = C / Hd;
  const DType h = e.weights, xt = h == DType::kF32 ? h : e.x;
  const std::string& v = e.variant;
  b.input("x", xt, {B, N, C});
  b.initializer("s", test::random_tensor(h, {C}, 1, 0.5, 1.5));
  b.initializer("bn", test::random_tensor(h, {C}, 2, -0.2, 0.2));
  b.initializer("wq", test::random_tensor(h, {C, C}, 3, -0.2, 0.2));
  b.initializer("bq", test::random_tensor(h, {C}, 4, -0.1, 0.1));
  b.initializer("wo", test::random_tensor(h, {C, C}, 5, -0.2, 0.2));
  b.initializer("bo", test::random_tensor(xt, {C}, 6, -0.1, 0.1));
  onnx::NodeProto* ln = nullptr;
  if (e.patch_rows) {
    ln = &kiln_op("LayerNormPatchRows", {"x", "s", "bn"}, {"l", "rows"});
    test::set_int_attr(*ln, "height", e.H);
    test::set_int_attr(*ln, "width", e.W);
    test::set_int_attr(*ln, "patch", e.p);
    b.output("rows", h);
  } else {
    ln = &b.node("LayerNormalization", {"x", "s", "bn"}, {"l"});
    test::set_int_attr(*ln, "axis", v == "ln axis 1" ? 1 : -1);  // Scale and B broadcast over the tokens
  }
  set_float_attr(*ln, "epsilon", 1e-6f);
  onnx::NodeProto& q_proj = kiln_op("FusedMatMul", {"l", "wq", "bq"}, {"q"});
  if (v == "q relu") {
    auto* a = q_proj.add_attribute();
    a->set_name("activation");
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s("relu");
  }
  b.initializer("q_shape", i64(e.seq_first ? Dims{B, N, Hd, D} : Dims{B, Hd, N, D}));
  b.node("Reshape", {"q", "q_shape"}, {"q4"});
  std::vector<std::string> attn_in = {"q4", "kv", ""};
  if (v == "unpacked") {
    b.input("k", h, {B, Nk, Hd, D});
    b.input("v", h, {B, Nk, Hd, D});
    attn_in = {"q4", "k", "v"};
  } else {
    b.input("kv", h, {B, Nk, 2 * Hd, D});
  }
  if (v == "mask") {  // added to the scaled scores
    b.initializer("mask", test::random_tensor(h, {1, Hd, N, Nk}, 7, -1.0, 0.0));
    attn_in.push_back("mask");
  }
  onnx::NodeProto& attn = kiln_op("Attention", attn_in, {"o4"});
  test::set_ints_attr(attn, "seq_first", {e.seq_first, 1, 1, e.seq_first});
  if (v != "unpacked") test::set_int_attr(attn, "packed_kv", 1);
  if (e.scale) set_float_attr(attn, "scale", 0.2f);
  b.initializer("o_shape", i64({B, N, C}));
  b.node("Reshape", {"o4", "o_shape"}, {"o"});
  std::vector<std::string> out_in = {"o", "wo", "bo", "x"};
  if (v == "other residual") {
    b.input("r", xt, {B, N, C});
    out_in[3] = "r";
  }
  if (v == "no residual") out_in.pop_back();
  kiln_op("FusedMatMul", out_in, {"y"});
  b.output("y", xt);
  for (const char* read : {"q", "l"})  // a second reader
    if (v == std::string(read) + " read") {
      b.node("Relu", {read}, {std::string(read) + "_relu"});
      b.output(std::string(read) + "_relu", h);
    }
  return b.bytes();
}

// Both graphs on the same random inputs: every output the same bytes.
void expect_same_bits(const Graph& plain, const Graph& fused) { test::expect_same_bits(plain, fused, 30); }

struct Outcome {
  int fired = 0;
  Graph g;  // fused
};

Outcome run(const Block& e) {
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

TEST(FuseAttentionBlock, FusesBothLayerNormsAndKeepsTheBits) {
  for (bool rows : {false, true})
    for (DType x : {DType::kF32, DType::kF16})
      for (bool seq_first : {false, true}) {
        SCOPED_TRACE(std::string(rows ? "LayerNormPatchRows" : "LayerNormalization") + ", x " + dtype_name(x) +
                     (seq_first ? ", seq_first" : ""));
        const Outcome o = run({.x = x, .patch_rows = rows, .seq_first = seq_first});
        EXPECT_EQ(o.fired, 1);
        std::map<std::string, int> want = {{"kiln.AttentionBlock", 1}};
        if (rows) want["kiln.LayerNormPatchRows"] = 1;
        EXPECT_EQ(o.g.op_histogram(), want);
        const Node* n = find_op(o.g, "AttentionBlock");
        ASSERT_NE(n, nullptr);
        EXPECT_EQ(n->inputs, (std::vector<std::string>{"x", "s", "bn", "wq", "bq", "kv", "wo", "bo"}));
        EXPECT_EQ(n->outputs, std::vector<std::string>{"y"});
        EXPECT_EQ(n->attrs.get_float("epsilon"), 1e-6f);
        EXPECT_EQ(n->attrs.get_float("scale"), 0.2f);
        if (rows) {
          EXPECT_EQ(find_op(o.g, "LayerNormPatchRows")->outputs, (std::vector<std::string>{"", "rows"}));
        }
      }
}

TEST(FuseAttentionBlock, ScaleDefaultsToTheAttentions) {
  const Outcome o = run({.scale = false});
  EXPECT_EQ(o.fired, 1);
  const Node* n = find_op(o.g, "AttentionBlock");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->attrs.get_float("scale"), 0.125f);  // 1/sqrt(64)
}

TEST(FuseAttentionBlock, FusesTwoHeadsInTheTokensLayout) {
  for (bool rows : {false, true})
    for (DType x : {DType::kF32, DType::kF16}) {
      SCOPED_TRACE(std::string(rows ? "LayerNormPatchRows" : "LayerNormalization") + ", x " + dtype_name(x));
      const Outcome o = run({.C = 128, .heads = 2, .x = x, .patch_rows = rows, .seq_first = true});
      EXPECT_EQ(o.fired, 1);
      EXPECT_EQ(o.g.op_histogram().count("kiln.Attention"), 0u);
    }
  const Outcome o = run({.C = 128, .heads = 2, .seq_first = true, .scale = false});
  const Node* n = find_op(o.g, "AttentionBlock");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->attrs.get_float("scale"), 0.125f);  // 1/sqrt(64), the head's width
}

TEST(FuseAttentionBlock, LeavesOtherSemanticsAlone) {
  EXPECT_EQ(run({.C = 32}).fired, 0);                           // a width the kernel lacks
  EXPECT_EQ(run({.heads = 2, .seq_first = true}).fired, 0);     // two heads of 32
  EXPECT_EQ(run({.C = 192, .heads = 3, .seq_first = true}).fired, 0);  // three heads of 64
  EXPECT_EQ(run({.C = 128, .heads = 2}).fired, 0);              // [B, H, N, D]: not the tokens' bytes
  EXPECT_EQ(run({.variant = "q relu"}).fired, 0);               // the query projection's activation
  EXPECT_EQ(run({.variant = "mask"}).fired, 0);                 // a mask on the scores
  EXPECT_EQ(run({.variant = "other residual"}).fired, 0);       // the residual is not x
  EXPECT_EQ(run({.variant = "no residual"}).fired, 0);          // nor any
  EXPECT_EQ(run({.variant = "q read"}).fired, 0);               // q read elsewhere
  EXPECT_EQ(run({.variant = "l read"}).fired, 0);               // l read elsewhere
  EXPECT_EQ(run({.patch_rows = true, .variant = "l read"}).fired, 0);  // the patch rows' y likewise
  EXPECT_EQ(run({.variant = "unpacked"}).fired, 0);             // K and V as two inputs
  EXPECT_EQ(run({.variant = "ln axis 1"}).fired, 0);            // LayerNorm over tokens and channels, S [C]
  EXPECT_EQ(run({.weights = DType::kF32}).fired, 0);            // the float32 graph
}

// The same block as HF's SegformerEfficientSelfAttention exports it (heads of 64, sequence
// reduction ratio p), behind a LayerNorm and a residual projection that make x an fp32 stream in fp16 engines:
//   x0 ─LN─▶ x1 ─MatMul+Add─▶ Add(x1) ─▶ x ─LN─▶ h ─MatMul+Add─Reshape [B, N, H, D]─T(0,2,1,3)─▶ q
//   h ─T(0,2,1)─Reshape [B, C, H, W]─Conv(p×p, stride p)─Reshape [B, C, Nk]─T(0,2,1)─LN─▶ a
//   a ─MatMul+Add─Reshape [B, Nk, H, D]─T(0,2,1,3)─T(0,1,3,2)─▶ kt    a ─MatMul+Add─Reshape─T(0,2,1,3)─▶ v
//   Softmax(q·kt / √D)·v ─T(0,2,1,3)─Reshape [B, N, C]─MatMul+Add─Add(x)─▶ y
std::string build_exported(int64_t heads = 1) {
  const Block e;
  const int64_t B = e.B, N = e.H * e.W, Nk = N / (e.p * e.p), C = 64 * heads, D = 64;
  test::ModelBuilder b(17);
  uint64_t seed = 20;
  const auto param = [&](const std::string& name, const Dims& d, double lo, double hi) {
    b.initializer(name, test::random_tensor(DType::kF32, d, seed++, lo, hi));
    return name;
  };
  const auto ln = [&](const std::string& in, const std::string& out) {
    const std::vector<std::string> ins = {in, param(out + "_s", {C}, 0.5, 1.5), param(out + "_b", {C}, -0.2, 0.2)};
    test::set_int_attr(b.node("LayerNormalization", ins, {out}), "axis", -1);
  };
  const auto linear = [&](const std::string& in, const std::string& out) {
    b.node("MatMul", {in, param(out + "_w", {C, C}, -0.2, 0.2)}, {out + "_m"});
    b.node("Add", {out + "_m", param(out + "_bias", {C}, -0.1, 0.1)}, {out});
  };
  const auto reshape = [&](const std::string& in, const std::string& out, const Dims& d) {
    b.initializer(out + "_shape", i64(d));
    b.node("Reshape", {in, out + "_shape"}, {out});
  };
  const auto transpose = [&](const std::string& in, const std::string& out, const std::vector<int64_t>& perm) {
    test::set_ints_attr(b.node("Transpose", {in}, {out}), "perm", perm);
  };
  b.input("x0", DType::kF32, {B, N, C});
  ln("x0", "x1");
  linear("x1", "p");
  b.node("Add", {"p", "x1"}, {"x"});
  ln("x", "h");
  linear("h", "q");
  reshape("q", "q4", {B, N, heads, D});
  transpose("q4", "qt", {0, 2, 1, 3});
  transpose("h", "ht", {0, 2, 1});
  reshape("ht", "img", {B, C, e.H, e.W});
  const std::vector<std::string> sr_in = {"img", param("sr_w", {C, C, e.p, e.p}, -0.1, 0.1),
                                          param("sr_b", {C}, -0.1, 0.1)};
  onnx::NodeProto& sr = b.node("Conv", sr_in, {"sr"});
  test::set_ints_attr(sr, "kernel_shape", {e.p, e.p});
  test::set_ints_attr(sr, "strides", {e.p, e.p});
  reshape("sr", "srf", {B, C, Nk});
  transpose("srf", "srt", {0, 2, 1});
  ln("srt", "a");
  linear("a", "k");
  reshape("k", "k4", {B, Nk, heads, D});
  transpose("k4", "kh", {0, 2, 1, 3});
  transpose("kh", "kt", {0, 1, 3, 2});
  linear("a", "v");
  reshape("v", "v4", {B, Nk, heads, D});
  transpose("v4", "vt", {0, 2, 1, 3});
  b.node("MatMul", {"qt", "kt"}, {"sc"});
  b.initializer("sqrt_c", Tensor::scalar<float>(std::sqrt(float(D))));
  b.node("Div", {"sc", "sqrt_c"}, {"sd"});
  test::set_int_attr(b.node("Softmax", {"sd"}, {"pr"}), "axis", -1);
  b.node("MatMul", {"pr", "vt"}, {"ctx"});
  transpose("ctx", "ct", {0, 2, 1, 3});
  reshape("ct", "cf", {B, N, C});
  linear("cf", "o");
  b.node("Add", {"o", "x"}, {"y"});
  b.output("y", DType::kF32);
  return b.bytes();
}

Graph fp16_graph(const std::string& bytes, bool fuse, int* fired = nullptr) {
  return test::fp16_engine_graph(bytes, kPass, fuse, fired);
}

// The stage-0 form: the LayerNorm made a LayerNormPatchRows for the reduction, whose rows stay
// (for fuse_sequence_reduction, which takes them next at these widths).
TEST(FuseAttentionBlock, FiresOnAnExportedBlockAsFp16EnginesConvertIt) {
  for (int64_t heads : {1, 2}) {
    SCOPED_TRACE(std::to_string(heads) + " heads");
    const std::string bytes = build_exported(heads);
    int fired = 0;
    const Graph fused = fp16_graph(bytes, true, &fired), plain = fp16_graph(bytes, false);
    EXPECT_EQ(fired, 1);
    const auto ops = fused.op_histogram();
    EXPECT_EQ(ops.at("kiln.AttentionBlock"), 1);
    // The LayerNormPatchRows it keeps for its rows then goes, with the reduction and K/V GEMMs,
    // into fuse_sequence_reduction's node (which runs next and fires only once Y is unread).
    EXPECT_EQ(ops.count("kiln.LayerNormPatchRows"), 0u);
    EXPECT_EQ(ops.at("kiln.SequenceReduction"), 1);
    EXPECT_EQ(test::count_op(plain, "kiln.LayerNormPatchRows"), 1);
    EXPECT_EQ(ops.count("kiln.Attention"), 0u);
    // Its two projections, and the reduction and K/V GEMMs of fuse_sequence_reduction.
    EXPECT_EQ(test::count_op(fused, "kiln.FusedMatMul"), test::count_op(plain, "kiln.FusedMatMul") - 4);
    expect_same_bits(plain, fused);
  }
}

TEST(FuseAttentionBlock, FloatGraphsAreLeftToTheUnfusedNodes) {
  Graph g = import_onnx_bytes(build_exported(), ".", "m.onnx");
  EXPECT_EQ(run_passes(g).fused.at(kPass), 0);
  EXPECT_EQ(test::count_op(g, "kiln.Attention"), 1);
}

}  // namespace
}  // namespace kiln
