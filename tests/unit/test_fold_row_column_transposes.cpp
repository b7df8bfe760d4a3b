// fold_row_column_transposes three ways: it fires on RCDA's value read between the head split
// of V (Transpose(0,3,1,2,4) + Reshape) and the heads' merge (Transpose(0,2,1,3)) — built here,
// and anchor_detr_tiny's four reads — the folded graph computes what the unfolded one does bit
// for bit (CPU reference: the same sums, read and written elsewhere), and it leaves alone what
// computes something else (other perms, a split read elsewhere or a graph output). Also: the
// folded node survives the engine file and an fp16 engine runs it in fp16.
#include <gtest/gtest.h>

#include "../model/model_compare.h"
#include "anchor_detr_tiny_check.h"
#include "fusion_test_util.h"
#include "onnx/importer.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

struct Read {
  int64_t B = 2, N = 3, L = 7, H = 5, W = 6, D = 4;
  DType dt = DType::kF32;
  std::vector<int64_t> v_perm = {0, 3, 1, 2, 4};
  std::vector<int64_t> out_perm = {0, 2, 1, 3};
  std::string also_output;  // an intermediate that is a graph output too
  int64_t v_split = 1;       // v5 holds [.., W·v_split, N, D / v_split]: the same W·D, another split
};

Tensor i64s(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

//   v5 [B, H, W, N, D] ─▶ Transpose(v_perm) ─▶ vt ─▶ Reshape [B, N, H, W·D] ─▶ v2 ─┐
//   softmax(s_col) ─▶ MatMul(·, v2) ─▶ Reshape [B, N, L, W, D] ─┐                   (fuse_row_column_read)
//   softmax(s_row) ─▶ Unsqueeze(-2) ─────────────────────────MatMul ─▶ Squeeze(3) ─▶ o4 [B, N, L, D]
//   o4 ─▶ Transpose(out_perm) ─▶ ot ─▶ Reshape [B, L, N·D] ─▶ out
std::string build(const Read& s) {
  test::ModelBuilder b(17);
  const int64_t B = s.B, N = s.N, L = s.L, H = s.H, W = s.W, D = s.D;
  b.input("s_col", s.dt, {B, N, L, H});
  b.input("s_row", s.dt, {B, N, L, W});
  b.input("v5", s.dt, {B, H, W * s.v_split, N, D / s.v_split});
  b.initializer("v_shape", i64s({B, N, H, W * D}));
  b.initializer("split_shape", i64s({B, N, L, W, D}));
  b.initializer("unsq_axes", i64s({-2}));
  b.initializer("sq_axes", i64s({3}));
  b.initializer("out_shape", i64s({B, L, N * D}));
  test::set_int_attr(b.node("Softmax", {"s_col"}, {"a_col"}), "axis", -1);
  test::set_int_attr(b.node("Softmax", {"s_row"}, {"a_row"}), "axis", -1);
  test::set_ints_attr(b.node("Transpose", {"v5"}, {"vt"}), "perm", s.v_perm);
  b.node("Reshape", {"vt", "v_shape"}, {"v2"});
  b.node("MatMul", {"a_col", "v2"}, {"prod"});
  b.node("Reshape", {"prod", "split_shape"}, {"split"});
  b.node("Unsqueeze", {"a_row", "unsq_axes"}, {"unsq"});
  b.node("MatMul", {"unsq", "split"}, {"m3"});
  b.node("Squeeze", {"m3", "sq_axes"}, {"o4"});
  test::set_ints_attr(b.node("Transpose", {"o4"}, {"ot"}), "perm", s.out_perm);
  b.node("Reshape", {"ot", "out_shape"}, {"out"});
  b.output("out", s.dt);
  if (!s.also_output.empty()) b.output(s.also_output, s.dt);
  return b.bytes();
}

struct Outcome {
  int folded = 0;
  Graph g;
};

// Bit for bit against the pipeline without the pass.
Outcome run(const Read& s) {
  const std::string bytes = build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fold_row_column_transposes"});
  const PassReport r = run_passes(g);
  const TensorMap feeds = test::random_feeds(plain, 21, -2, 2);
  const TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
  for (const auto& [name, t] : want) EXPECT_TRUE(got.at(name).same_bytes(t)) << name;
  EXPECT_EQ(test::count_op(plain, "kiln.RowColumnRead"), 1);
  return {r.fused.at("fold_row_column_transposes"), std::move(g)};
}

const Node* read_node(const Graph& g) {
  for (const Node& n : g.nodes)
    if (n.op_type == "RowColumnRead") return &n;
  return nullptr;
}

TEST(FoldRowColumnTransposes, BothSidesGo) {
  Outcome o = run(Read{});
  EXPECT_EQ(o.folded, 2);
  EXPECT_EQ(test::count_op(o.g, "Transpose"), 0);
  const Node* n = read_node(o.g);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->inputs[2], "v5");
  EXPECT_EQ(n->outputs[0], "ot");
  EXPECT_EQ(n->attrs.get_int("v_tokens"), 1);
  EXPECT_EQ(n->attrs.get_int("out_tokens"), 1);
}

TEST(FoldRowColumnTransposes, ShapesAndHalfPrecision) {
  for (auto [b, n, l, h, w, d] : {std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>{1, 8, 33, 3, 7, 32},
                                  {3, 2, 5, 9, 2, 5}, {2, 4, 2, 2, 3, 2}})
    for (DType dt : {DType::kF32, DType::kF16}) {
      Read s;
      s.B = b, s.N = n, s.L = l, s.H = h, s.W = w, s.D = d, s.dt = dt;
      SCOPED_TRACE(std::string(dtype_name(dt)) + " N " + std::to_string(n) + " D " + std::to_string(d));
      EXPECT_EQ(run(s).folded, 2);
    }
}

// Each side on its own: another perm on one side leaves that side's Transpose, folds the other.
TEST(FoldRowColumnTransposes, OneSideAlone) {
  Read s;
  s.H = s.W = 5;
  s.v_perm = {0, 3, 2, 1, 4};  // x and y swapped: another read (square, so the shapes still fit)
  Outcome o = run(s);
  EXPECT_EQ(o.folded, 1);
  EXPECT_EQ(test::count_op(o.g, "Transpose"), 1);
  EXPECT_EQ(read_node(o.g)->attrs.get_int("v_tokens", 0), 0);
  EXPECT_EQ(read_node(o.g)->attrs.get_int("out_tokens", 0), 1);
  s = Read{};
  s.D = s.L = 4;
  s.out_perm = {0, 2, 3, 1};  // [B, L, D, N]: another merge
  o = run(s);
  EXPECT_EQ(o.folded, 1);
  EXPECT_EQ(read_node(o.g)->attrs.get_int("v_tokens", 0), 1);
  EXPECT_EQ(read_node(o.g)->attrs.get_int("out_tokens", 0), 0);
}

// V's flattened W·D split differently from a_row's W (here [2W, D/2]): its token layout is not
// what the read would assume, so V's side stays; the output's still goes.
TEST(FoldRowColumnTransposes, RefusesVSplitOtherThanTheRowWidth) {
  Read s;
  s.v_split = 2;
  const Outcome o = run(s);
  EXPECT_EQ(o.folded, 1);
  EXPECT_EQ(read_node(o.g)->attrs.get_int("v_tokens", 0), 0);
  EXPECT_EQ(read_node(o.g)->attrs.get_int("out_tokens", 0), 1);
}

TEST(FoldRowColumnTransposes, RefusesSharedIntermediates) {
  for (const char* shared : {"vt", "v2", "o4", "ot"}) {
    Read s;
    s.also_output = shared;
    SCOPED_TRACE(shared);
    Outcome o = run(s);
    const bool v_side = std::string(shared)[0] == 'v';
    // The other side still folds (ot as a graph output is written by the node itself).
    if (std::string(shared) == "ot") {
      EXPECT_EQ(o.folded, 2);
    } else {
      EXPECT_EQ(o.folded, 1);
      EXPECT_EQ(read_node(o.g)->attrs.get_int("v_tokens", 0), v_side ? 0 : 1);
      EXPECT_EQ(read_node(o.g)->attrs.get_int("out_tokens", 0), v_side ? 1 : 0);
    }
  }
}

TEST(FoldRowColumnTransposes, DisablePassKeepsTheTransposes) {
  Graph g = import_onnx_bytes(build(Read{}), ".", "m.onnx");
  EXPECT_EQ(run_passes(g, {"fold_row_column_transposes"}).fused.at("fold_row_column_transposes"), 0);
  EXPECT_EQ(test::count_op(g, "Transpose"), 2);
}

TEST(FoldRowColumnTransposes, SurvivesTheEngineFile) {
  Outcome o = run(Read{});
  Engine e = engine_from_bytes(engine_to_bytes(o.g, {"cpu", ""}), "engine file m.kiln");
  const Node* n = read_node(e.graph);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->attrs.get_int("v_tokens"), 1);
  const TensorMap feeds = test::random_feeds(o.g, 4);
  EXPECT_TRUE(CpuExecutor(e.graph).run(feeds).at("out").same_bytes(CpuExecutor(o.g).run(feeds).at("out")));
}

TEST(FoldRowColumnTransposes, Fp16EngineRunsTheNodeInHalf) {
  Graph g = import_onnx_bytes(build(Read{}), ".", "m.onnx");
  run_passes(g);
  const TensorMap feeds = test::random_feeds(g, 5, -2, 2);
  const Tensor want = CpuExecutor(g).run(feeds).at("out");
  convert_to_fp16(g);
  const Node* n = read_node(g);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(g.value(n->inputs[2]).type.dtype, DType::kF16);
  EXPECT_EQ(g.value(n->outputs[0]).type.dtype, DType::kF16);
  EXPECT_LE(test::compare_to_golden(CpuExecutor(g).run(feeds).at("out"), want).rel_l2, 2e-3);
}

// anchor_detr_tiny: V's split and the output's merge of all four reads (2 encoder, 2 decoder).
TEST(FoldRowColumnTransposes, AnchorDetrTiny) {
  test::expect_pass_keeps_anchor_detr_tiny({"fold_row_column_transposes"}, 0, [](const Graph& plain, const Graph& g, const PassReport& r) {
    EXPECT_EQ(r.fused.at("fold_row_column_transposes"), 8);
    EXPECT_EQ(test::count_op(plain, "Transpose") - test::count_op(g, "Transpose"), 8);
    EXPECT_EQ(test::count_op(plain, "Reshape") - test::count_op(g, "Reshape"), 4);
  });
}

}  // namespace
}  // namespace kiln
