// passes/fold_attention_transposes: it fires on the exported SegFormers (every head split and
// merge around attention goes), keeps the numbers (segformer_tiny against the graph without the
// pass and against its goldens; a built model in every flag combination), and leaves alone what
// it must not take: other permutations, Transposes with another reader, seq_first nodes. Masked
// attention folds too, and nn.MultiheadAttention's rank-3 head split (Transpose(1,0,2) of
// [S, N, D]) through a rank-4 view.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

int count(const Graph& g, const std::string& op) {
  auto h = g.op_histogram();
  return h.count(op) ? int(h.at(op)) : 0;
}

const Node* attention_node(const Graph& g) {
  for (const Node& n : g.nodes)
    if (n.op_type == "Attention") return &n;
  return nullptr;
}

// Multi-head attention as PyTorch exports it, heads split from [B, S, H, D] tensors:
//   xq [2,5,3,8] ─T(0,2,1,3)─▶ q ─┐
//   xk [2,7,3,8] ─T(0,2,3,1)─▶ kt ─MatMul─Mul(c)─Softmax─▶ p ─MatMul─▶ o [2,3,5,6] ─T(out_perm)─▶ y
//   xv [2,7,3,6] ─T(0,2,1,3)─▶ v ─────────────────────────────┘
struct Options {
  Dims xq{2, 5, 3, 8};
  std::vector<int64_t> q_perm{0, 2, 1, 3}, v_perm{0, 2, 1, 3}, out_perm{0, 2, 1, 3};
  bool q_read_twice = false;  // a Relu reads q as well
  bool out_also_output = false;
  bool rank3 = false;       // [S, N, D] inputs split by Transpose(1,0,2), as nn.MultiheadAttention
  bool bool_mask = false;   // a Where(mask, -inf, 0) added to the scores (Mask2Former)
};

// The rank-3 form: xq [5,6,8], xk [7,6,8], xv [7,6,6] (S, N = batch·heads, D) → Transpose(1,0,2)
// → attention over [6, S, D] → Transpose(1,0,2) back to [5,6,6]; with bool_mask, a [6,5,7] mask.
test::ModelBuilder model_rank3(const Options& o) {
  test::ModelBuilder b;
  b.input("xq", DType::kF32, {5, 6, 8});
  b.input("xk", DType::kF32, {7, 6, 8});
  b.input("xv", DType::kF32, {7, 6, 6});
  test::set_ints_attr(b.node("Transpose", {"xq"}, {"q"}), "perm", {1, 0, 2});
  test::set_ints_attr(b.node("Transpose", {"xk"}, {"kt"}), "perm", {1, 2, 0});
  test::set_ints_attr(b.node("Transpose", {"xv"}, {"v"}), "perm", {1, 0, 2});
  b.initializer("c", Tensor::scalar<float>(0.35f));
  b.node("MatMul", {"q", "kt"}, {"s"});
  b.node("Mul", {"s", "c"}, {"sc"});
  std::string scores = "sc";
  if (o.bool_mask) {
    b.input("mask", DType::kBool, {6, 5, 7});
    b.initializer("ninf", Tensor::scalar<float>(-INFINITY));
    b.initializer("zero", Tensor::scalar<float>(0.f));
    b.node("Where", {"mask", "ninf", "zero"}, {"bias"});
    b.node("Add", {"sc", "bias"}, {"masked"});
    scores = "masked";
  }
  test::set_int_attr(b.node("Softmax", {scores}, {"p"}), "axis", -1);
  b.node("MatMul", {"p", "v"}, {"o"});
  test::set_ints_attr(b.node("Transpose", {"o"}, {"y"}), "perm", {1, 0, 2});
  b.output("y", DType::kF32);
  return b;
}

test::ModelBuilder model(const Options& o) {
  if (o.rank3) return model_rank3(o);
  test::ModelBuilder b;
  b.input("xq", DType::kF32, o.xq);
  b.input("xk", DType::kF32, {2, 7, 3, 8});
  b.input("xv", DType::kF32, {2, 7, 3, 6});
  test::set_ints_attr(b.node("Transpose", {"xq"}, {"q"}), "perm", o.q_perm);
  test::set_ints_attr(b.node("Transpose", {"xk"}, {"kt"}), "perm", {0, 2, 3, 1});
  test::set_ints_attr(b.node("Transpose", {"xv"}, {"v"}), "perm", o.v_perm);
  b.initializer("c", Tensor::scalar<float>(0.35f));
  b.node("MatMul", {"q", "kt"}, {"s"});
  b.node("Mul", {"s", "c"}, {"sc"});
  test::set_int_attr(b.node("Softmax", {"sc"}, {"p"}), "axis", -1);
  b.node("MatMul", {"p", "v"}, {"o"});
  test::set_ints_attr(b.node("Transpose", {"o"}, {"y"}), "perm", o.out_perm);
  b.output("y", DType::kF32);
  if (o.q_read_twice) {
    b.node("Relu", {"q"}, {"r"});
    b.output("r", DType::kF32);
  }
  if (o.out_also_output) b.output("o", DType::kF32);
  return b;
}

// Runs the pipeline with and without the pass; both must agree bitwise (the same arithmetic,
// read through other strides). Returns the folded graph.
Graph fold_and_compare(const Options& o) {
  const std::string bytes = model(o).bytes();
  Graph folded = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(folded);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fold_attention_transposes"});
  TensorMap feeds;
  uint64_t seed = 90;
  for (const auto& name : plain.inputs) {
    const ValueType& t = plain.value(name).type;
    feeds[name] = test::random_tensor(t.dtype, shape_dims(*t.shape), seed++, -2, 2);
  }
  TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(folded).run(feeds);
  for (const auto& [name, w] : want) {
    SCOPED_TRACE(name);
    test::expect_dims(got.at(name), w.dims());
    test::expect_close(got.at(name), test::to_doubles(w), 0, 0);
  }
  return folded;
}

std::vector<int64_t> flags_of(const Graph& g) {
  const Node* a = attention_node(g);
  return a && a->attrs.has("seq_first") ? a->attrs.get_ints("seq_first") : std::vector<int64_t>{};
}

TEST(FoldAttentionTransposes, FoldsEveryHeadSplitAndMerge) {
  Graph g = fold_and_compare({});
  EXPECT_EQ(count(g, "Transpose"), 0);
  EXPECT_EQ(flags_of(g), (std::vector<int64_t>{1, 1, 1, 1}));
}

TEST(FoldAttentionTransposes, FoldsEachTransposeOnItsOwn) {
  Options q_read_twice;  // q's Transpose stays for the Relu; the rest fold
  q_read_twice.q_read_twice = true;
  Graph g = fold_and_compare(q_read_twice);
  EXPECT_EQ(flags_of(g), (std::vector<int64_t>{0, 1, 1, 1}));
  EXPECT_EQ(count(g, "Transpose"), 1);

  Options out_also_output;  // the plain output is a graph output: the output Transpose stays
  out_also_output.out_also_output = true;
  g = fold_and_compare(out_also_output);
  EXPECT_EQ(flags_of(g), (std::vector<int64_t>{1, 1, 1, 0}));
}

TEST(FoldAttentionTransposes, LeavesOtherPermutations) {
  Options batch_heads;  // the output's Transpose swaps batch and heads: not a head merge
  batch_heads.out_perm = {1, 0, 2, 3};
  Graph g = fold_and_compare(batch_heads);
  EXPECT_EQ(flags_of(g), (std::vector<int64_t>{1, 1, 1, 0}));
  EXPECT_EQ(count(g, "Transpose"), 1);

  Options seq_outer;  // Q from [S, B, H, D] by perm (1, 2, 0, 3): the right shape, another layout
  seq_outer.xq = {5, 2, 3, 8};
  seq_outer.q_perm = {1, 2, 0, 3};
  g = fold_and_compare(seq_outer);
  EXPECT_EQ(flags_of(g), (std::vector<int64_t>{0, 1, 1, 1}));
  EXPECT_EQ(count(g, "Transpose"), 1);
}

TEST(FoldAttentionTransposes, FoldsRank3HeadSplitsThroughARank4View) {
  for (bool masked : {false, true}) {
    SCOPED_TRACE(masked ? "bool mask" : "no mask");
    Options o;
    o.rank3 = true;
    o.bool_mask = masked;
    Graph g = fold_and_compare(o);
    EXPECT_EQ(flags_of(g), (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ(count(g, "Transpose"), 0);
    EXPECT_EQ(g.value(attention_node(g)->inputs[0]).type.shape->size(), 4u);
    EXPECT_EQ(attention_node(g)->inputs.size(), masked ? 4u : 3u);
  }
}

// kiln.Attention named by the model itself: with a mask its transposes fold (the mask's axes
// are the scores' either way); already seq_first, or of rank 5, it is left alone.
TEST(FoldAttentionTransposes, FoldsMaskedAttentionNamedByTheModel) {
  test::ModelBuilder b;
  auto* kiln_opset = b.proto().add_opset_import();
  kiln_opset->set_domain("kiln");
  kiln_opset->set_version(1);
  b.input("xq", DType::kF32, {2, 5, 3, 8});
  b.input("k", DType::kF32, {2, 3, 7, 8});
  b.input("v", DType::kF32, {2, 3, 7, 6});
  b.input("mask", DType::kF32, {3, 5, 7});
  test::set_ints_attr(b.node("Transpose", {"xq"}, {"q"}), "perm", {0, 2, 1, 3});
  b.node("Attention", {"q", "k", "v", "mask"}, {"y"}).set_domain("kiln");
  b.output("y", DType::kF32);
  const std::string bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx"), plain = g;
  PassReport r = run_passes(g);
  run_passes(plain, {"fold_attention_transposes"});
  EXPECT_EQ(r.fused.at("fold_attention_transposes"), 1);
  EXPECT_EQ(count(g, "Transpose"), 0);
  EXPECT_EQ(flags_of(g), (std::vector<int64_t>{1, 0, 0, 0}));
  TensorMap feeds;
  uint64_t seed = 7;
  for (const auto& name : plain.inputs)
    feeds[name] = test::random_tensor(DType::kF32, shape_dims(*plain.value(name).type.shape), seed++, -2, 2);
  test::expect_close(CpuExecutor(g).run(feeds).at("y"), test::to_doubles(CpuExecutor(plain).run(feeds).at("y")), 0, 0);
}

TEST(FoldAttentionTransposes, LeavesSeqFirstAndRank5Attention) {
  for (bool rank5 : {false, true}) {
    SCOPED_TRACE(rank5 ? "rank 5" : "seq_first already");
    test::ModelBuilder b;
    auto* kiln_opset = b.proto().add_opset_import();
    kiln_opset->set_domain("kiln");
    kiln_opset->set_version(1);
    b.input("xq", DType::kF32, rank5 ? Dims{1, 2, 5, 3, 8} : Dims{2, 5, 3, 8});
    b.input("k", DType::kF32, rank5 ? Dims{1, 2, 3, 7, 8} : Dims{2, 3, 7, 8});
    b.input("v", DType::kF32, rank5 ? Dims{1, 2, 3, 7, 6} : Dims{2, 3, 7, 6});
    test::set_ints_attr(b.node("Transpose", {"xq"}, {"q"}), "perm", rank5 ? std::vector<int64_t>{0, 1, 3, 2, 4} : std::vector<int64_t>{0, 2, 1, 3});
    std::vector<std::string> in = {"q", "k", "v"};
    auto& a = b.node("Attention", in, {"y"});
    a.set_domain("kiln");
    if (!rank5) test::set_ints_attr(a, "seq_first", {0, 0, 0, 0});
    b.output("y", DType::kF32);
    Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx");
    PassReport r = run_passes(g);
    EXPECT_EQ(r.fused.at("fold_attention_transposes"), 0);
    EXPECT_EQ(count(g, "Transpose"), 1);
  }
}

TEST(FoldAttentionTransposes, FiresOnExportedSegFormers) {
  // Stage 0 has one head: eliminate_noops already made its Q, V and output Transposes Reshapes,
  // and only K's (made by fuse_attention) is left to fold there.
  for (auto [name, transposes] : {std::pair<const char*, int>{"segformer_b0", 2 * 1 + 6 * 4}, {"segformer_tiny", 2 * 1 + 2 * 4}}) {
    SCOPED_TRACE(name);
    fs::path dir = fs::path(KILN_TEST_DIR) / "models" / name;
    ImportOptions import;
    test::reference_inputs(dir, &import);
    Graph g = import_onnx_file((dir / "model.onnx").string(), import);
    Graph plain = g;
    PassReport r = run_passes(g);
    run_passes(plain, {"fold_attention_transposes"});
    EXPECT_EQ(r.fused.at("fold_attention_transposes"), transposes);
    EXPECT_EQ(count(plain, "Transpose") - count(g, "Transpose"), transposes);
  }
}

TEST(FoldAttentionTransposes, SegFormerTinyMatchesUnfoldedAndGoldens) {
  fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  // fuse_kv_projection left out of both: it merges K's and V's GEMMs only where they are read
  // seq_first (the folded graph), and a wider GEMM may sum in another order (its own tests).
  Graph folded = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(folded, {"fuse_kv_projection"});
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(plain, {"fold_attention_transposes", "fuse_kv_projection"});
  Tensor got = CpuExecutor(folded).run(feeds).at("logits");
  Tensor unfolded = CpuExecutor(plain).run(feeds).at("logits");
  Tensor golden = read_npy((dir / "golden" / "logits.npy").string());
  EXPECT_EQ(compare_output(got, unfolded, "unfolded").max_abs, 0.0);
  EXPECT_LE(compare_output(got, golden, "golden").rel_l2, 1e-5);
}

}  // namespace
}  // namespace kiln
