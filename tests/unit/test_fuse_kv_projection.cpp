// fuse_kv_projection three ways: it fires on SegFormer's efficient attention (built here, masked
// and not, with Q read from the same tokens or others, and on segformer_b0's 8 blocks, fp32 and as
// an fp16 engine converts it), the merged GEMM and packed attention compute what the unfused graph
// does (within the GEMM's sum order), and it leaves alone what differs: another A, an activation
// or residual on one projection, W shapes that differ, a head split or GEMM output read elsewhere, K and V of two
// attentions, one tensor as both K and V, and attentions whose K and V are not seq_first.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <optional>

#include "fusion_test_util.h"
#include "model_pass_run.h"
#include "passes/convert_precision.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_kv_projection";

struct Block {
  int64_t B = 2, N = 12, Nk = 5, H = 2, D = 8;
  int64_t Dv = 8;            // V's head width (W_v [C, H·Dv])
  bool mask = false;         // an additive [1, H, N, Nk] mask on the scores
  bool q_from_a = false;     // Q projects the reduced tokens too (SegFormer's last stage)
  std::string variant;       // the negative cases' names, below
};

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

// SegFormer's efficient self-attention as HF exports it, with K and V from the reduced tokens a:
//   x [B, N, C] ─MatMul+Add─Reshape [B, N, H, D]─T(0,2,1,3)──────────────▶ q ─┐
//   a [B, Nk, C] ─MatMul+Add─Reshape [B, Nk, H, D]─T(0,2,1,3)─T(0,1,3,2)─▶ kt ─MatMul─Div─[Add mask]─Softmax─┐
//   a ─MatMul+Add─Reshape [B, Nk, H, Dv]─T(0,2,1,3)────────────────────────────────────────────── v ─MatMul─▶
//     T(0,2,1,3) ─Reshape [B, N, H·Dv]─▶ y
std::string build(const Block& s) {
  test::ModelBuilder b(17);
  const int64_t C = s.H * s.D, Cv = s.H * s.Dv;
  const std::string& v = s.variant;
  b.input("x", DType::kF32, {s.B, s.N, C});
  b.input("a", DType::kF32, {s.B, s.Nk, C});
  uint64_t seed = 40;
  const auto linear = [&](const std::string& in, const std::string& name, int64_t n) {
    b.initializer(name + "_w", test::random_tensor(DType::kF32, {C, n}, seed++, -0.4, 0.4));
    b.initializer(name + "_b", test::random_tensor(DType::kF32, {n}, seed++, -0.2, 0.2));
    b.node("MatMul", {in, name + "_w"}, {name + "_m"});
    b.node("Add", {name + "_m", name + "_b"}, {name + "_y"});
    return name + "_y";
  };
  const auto heads = [&](const std::string& in, const std::string& name, int64_t rows, int64_t width) {
    b.initializer(name + "_shape", i64({s.B, rows, s.H, width}));
    b.node("Reshape", {in, name + "_shape"}, {name + "_h"});
    test::set_ints_attr(b.node("Transpose", {name + "_h"}, {name + "_t"}), "perm", {0, 2, 1, 3});
    return name + "_t";
  };
  const std::string q = heads(linear(s.q_from_a ? "a" : "x", "q", C), "q", s.q_from_a ? s.Nk : s.N, s.D);
  std::string k = linear("a", "k", C);
  if (v == "k relu") b.node("Relu", {k}, {"k_relu"}), k = "k_relu";
  std::string va = "a";
  if (v == "other a") b.input("a2", DType::kF32, {s.B, s.Nk, C}), va = "a2";
  std::string vy = linear(va, "v", Cv);
  if (v == "v residual") {
    b.input("r", DType::kF32, {s.B, s.Nk, Cv});
    b.node("Add", {vy, "r"}, {"v_res"});
    vy = "v_res";
  }
  const std::string kh = heads(k, "k", s.Nk, s.D);
  test::set_ints_attr(b.node("Transpose", {kh}, {"kt"}), "perm", {0, 1, 3, 2});
  std::string vh = heads(vy, "v", s.Nk, s.Dv);
  if (v == "k is v") {  // K's head split read as V too: after the fold, one value is both inputs
    test::set_ints_attr(b.node("Transpose", {"k_h"}, {"kv_t"}), "perm", {0, 2, 1, 3});
    vh = "kv_t";
  }
  b.node("MatMul", {q, "kt"}, {"s"});
  b.initializer("sqrt_d", Tensor::scalar<float>(std::sqrt(float(s.D))));
  b.node("Div", {"s", "sqrt_d"}, {"sd"});
  std::string scores = "sd";
  if (s.mask) {
    b.input("mask", DType::kF32, {1, s.H, s.q_from_a ? s.Nk : s.N, s.Nk});
    b.node("Add", {"sd", "mask"}, {"sm"});
    scores = "sm";
  }
  test::set_int_attr(b.node("Softmax", {scores}, {"p"}), "axis", -1);
  b.node("MatMul", {"p", vh}, {"o"});
  test::set_ints_attr(b.node("Transpose", {"o"}, {"ot"}), "perm", {0, 2, 1, 3});
  b.initializer("out_shape", i64({s.B, s.q_from_a ? s.Nk : s.N, Cv}));
  b.node("Reshape", {"ot", "out_shape"}, {"y"});
  b.output("y", DType::kF32);
  if (v == "head split read") b.output("v_h", DType::kF32);
  if (v == "gemm read") b.output("k_y", DType::kF32);
  return b.bytes();
}

// Two attentions over a, K of the first and V of the second projected from a (the others from
// b2): each attention's K and V have different A, though one A feeds two of the four GEMMs.
std::string build_two_attentions() {
  test::ModelBuilder b(17);
  const int64_t B = 1, N = 6, H = 2, D = 4, C = H * D;
  b.input("x", DType::kF32, {B, N, C});
  b.input("a", DType::kF32, {B, N, C});
  b.input("a2", DType::kF32, {B, N, C});
  uint64_t seed = 70;
  const auto proj = [&](const std::string& in, const std::string& name, const std::vector<int64_t>& perm) {
    b.initializer(name + "_w", test::random_tensor(DType::kF32, {C, C}, seed++, -0.4, 0.4));
    b.initializer(name + "_b", test::random_tensor(DType::kF32, {C}, seed++, -0.2, 0.2));
    b.node("MatMul", {in, name + "_w"}, {name + "_m"});
    b.node("Add", {name + "_m", name + "_b"}, {name + "_y"});
    b.initializer(name + "_shape", i64({B, N, H, D}));
    b.node("Reshape", {name + "_y", name + "_shape"}, {name + "_h"});
    test::set_ints_attr(b.node("Transpose", {name + "_h"}, {name + "_t"}), "perm", perm);
    return name + "_t";
  };
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i);
    const std::string q = proj("x", "q" + n, {0, 2, 1, 3});
    const std::string kt = proj(i == 0 ? "a" : "a2", "k" + n, {0, 2, 3, 1});
    const std::string v = proj(i == 0 ? "a2" : "a", "v" + n, {0, 2, 1, 3});
    b.node("MatMul", {q, kt}, {"s" + n});
    test::set_int_attr(b.node("Softmax", {"s" + n}, {"p" + n}), "axis", -1);
    b.node("MatMul", {"p" + n, v}, {"o" + n});
    b.output("o" + n, DType::kF32);
  }
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
  std::optional<Node> attention;  // the fused graph's
};

// The pipeline (less fuse_elementwise) with and without the pass on the same random inputs. Each
// GEMM output element is the same dot product, but OpenBLAS picks its kernels by the product's
// width, so the merged one may add the same terms in another order: a few fp32 ulp in K and V
// (the attention itself reads them bit for bit: test_attention_packed_kv), far below what a wrong
// head or column would cost (O(0.1) here).
constexpr double kGemmOrderAtol = 1e-6, kGemmOrderRtol = 1e-5;

Outcome run(const std::string& bytes, std::set<std::string> skip = {}) {
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  skip.insert("fuse_elementwise");
  std::set<std::string> plain_skip = skip;
  plain_skip.insert(kPass);
  run_passes(plain, plain_skip);
  Graph fused = import_onnx_bytes(bytes, ".", "m.onnx");
  Outcome o;
  o.fired = run_passes(fused, skip, /*record_rewrites=*/true).fused.at(kPass);
  o.ops = fused.op_histogram();
  for (const Node& n : fused.nodes)
    if (n.op_type == "Attention") o.attention = n;
  test::expect_same_outputs(plain, fused, test::random_feeds(plain, 60), kGemmOrderAtol, kGemmOrderRtol);
  return o;
}

Outcome run(const Block& s, std::set<std::string> skip = {}) { return run(build(s), std::move(skip)); }

TEST(FuseKvProjection, MergesTheProjectionsAndPacksTheHeads) {
  const Outcome o = run(Block{});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.ops.at("kiln.FusedMatMul"), 2);  // Q's, and K's and V's together
  EXPECT_EQ(o.ops.at("Reshape"), 3);           // Q's and KV's head splits, the output's merge
  ASSERT_TRUE(o.attention);
  EXPECT_EQ(o.attention->attrs.get_int("packed_kv"), 1);
  ASSERT_EQ(o.attention->inputs.size(), 3u);
  EXPECT_TRUE(o.attention->inputs[2].empty());
}

TEST(FuseKvProjection, MaskedLayoutsAndSizes) {
  EXPECT_EQ(run(Block{.mask = true}).fired, 1);
  EXPECT_EQ(run(Block{.q_from_a = true}).fired, 1);  // Q, K and V all from a: K and V merge
  EXPECT_EQ(run(Block{.B = 1, .N = 17, .Nk = 3, .H = 1, .D = 32, .Dv = 32}).fired, 1);  // one head: V unflagged
  EXPECT_EQ(run(Block{.B = 3, .N = 7, .Nk = 9, .H = 5, .D = 20, .Dv = 20, .mask = true}).fired, 1);
}

TEST(FuseKvProjection, LeavesOtherSemanticsAlone) {
  EXPECT_EQ(run(Block{.variant = "other a"}).fired, 0);          // V projects other tokens
  EXPECT_EQ(run(Block{.variant = "k relu"}).fired, 0);           // an activation on K's GEMM
  EXPECT_EQ(run(Block{.variant = "v residual"}).fired, 0);       // a residual on V's
  EXPECT_EQ(run(Block{.Dv = 12}).fired, 0);                      // W_v [C, 24] against W_k [C, 16]
  EXPECT_EQ(run(Block{.variant = "head split read"}).fired, 0);  // V's Reshape has another reader
  EXPECT_EQ(run(Block{.variant = "gemm read"}).fired, 0);        // K's GEMM output has another
  EXPECT_EQ(run(Block{.variant = "k is v"}).fired, 0);           // one projection as K and V
  EXPECT_EQ(run(build_two_attentions()).fired, 0);               // K of one attention, V of another
  // Without the head-split fold the attention reads K and V as [B, H, Nk, D]: no packed form.
  const Outcome unfolded = run(Block{}, {"fold_attention_transposes"});
  EXPECT_EQ(unfolded.fired, 0);
  ASSERT_TRUE(unfolded.attention);
  EXPECT_FALSE(unfolded.attention->attrs.has("packed_kv"));
}

// The graph as an fp16 engine makes it: the pipeline less the after-conversion passes, the
// conversion, then those passes; `fuse` false leaves this pass out.
Graph fp16_graph(const std::string& bytes, bool fuse, int* fired = nullptr) {
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  const auto& late = after_fp16_pass_names();
  std::set<std::string> skip(late.begin(), late.end());
  if (!fuse) skip.insert(kPass);
  PassReport r = run_passes(g, skip);
  if (fired) *fired = r.fused.at(kPass);
  convert_to_fp16(g);
  for (const std::string& pass : late) run_pass(g, pass, r, false);
  return g;
}

// The concatenated W and bias convert to fp16 as K's and V's did, so only the GEMMs' fp32 sums
// may differ (above): where one lands on the other side of an fp16 rounding, K or V moves by an
// fp16 ulp, the output by at most about one of its own (2^-10 relative; |V| < 2 bounds the rest).
TEST(FuseKvProjection, Fp16EngineComputesTheSame) {
  for (const Block& s : {Block{}, Block{.mask = true, .q_from_a = true}}) {
    const std::string bytes = build(s);
    int fired = 0;
    const Graph fused = fp16_graph(bytes, true, &fired), plain = fp16_graph(bytes, false);
    EXPECT_EQ(fired, 1);
    int packed = 0;
    for (const Node& n : fused.nodes)
      if (n.op_type == "Attention") {
        packed += n.attrs.get_int("packed_kv", 0) == 1;
        EXPECT_EQ(fused.value(n.inputs[1]).type.dtype, DType::kF16);
      }
    EXPECT_EQ(packed, 1);
    test::expect_same_outputs(plain, fused, test::random_feeds(plain, 80), 1e-3, 1e-3);
  }
}

// segformer_b0: one merge per block (depths 2, 2, 2, 2; the first stage's one-head V unflagged),
// each dropping one FusedMatMul; the logits keep the unfused graph's and the goldens'
// (model_pass_run.h's bounds).
TEST(FuseKvProjection, FiresOnSegformerB0) {
  const test::ModelPassRun r = test::run_model_passes("segformer_b0", {kPass});
  EXPECT_EQ(r.report.fused.at(kPass), 8);
  EXPECT_EQ(test::count_op(r.fused, "kiln.FusedMatMul"), test::count_op(r.plain, "kiln.FusedMatMul") - 8);
  int packed = 0;
  for (const Node& n : r.fused.nodes) packed += n.op_type == "Attention" && n.attrs.get_int("packed_kv", 0) == 1;
  EXPECT_EQ(packed, 8);
  test::expect_logits_kept(r, true);
}

TEST(FuseKvProjection, FiresOnSegformerB0Fp16) {
  const auto dir = std::filesystem::path(KILN_TEST_DIR) / "models" / "segformer_b0";
  ImportOptions import;
  const TensorMap feeds = test::reference_inputs(dir, &import);
  const auto fp16 = [&](bool fuse, int* fired) {
    Graph g = import_onnx_file((dir / "model.onnx").string(), import);
    const auto& late = after_fp16_pass_names();
    std::set<std::string> skip(late.begin(), late.end());
    if (!fuse) skip.insert(kPass);
    PassReport r = run_passes(g, skip);
    *fired = r.fused.at(kPass);
    convert_to_fp16(g);
    for (const std::string& pass : late) run_pass(g, pass, r, false);
    return g;
  };
  int fired = 0, none = 0;
  const Graph fused = fp16(true, &fired), plain = fp16(false, &none);
  EXPECT_EQ(fired, 8);
  EXPECT_EQ(none, 0);
  EXPECT_EQ(test::count_op(fused, "kiln.FusedMatMul"), test::count_op(plain, "kiln.FusedMatMul") - 8);
  const Tensor got = CpuExecutor(fused).run(feeds).at("logits"), want = CpuExecutor(plain).run(feeds).at("logits");
  // fp16 rounding flips from the GEMMs' sum order (above) ripple through 8 blocks: 2.2e-4 rel L2
  // here, against fp16's 4.9e-4 ulp and the fp16 model tests' 1e-2 from fp32.
  EXPECT_LE(test::compare_to_golden(got, want).rel_l2, 1e-3);
}

}  // namespace
}  // namespace kiln
