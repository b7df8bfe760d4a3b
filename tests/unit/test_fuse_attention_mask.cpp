// passes/fuse_attention on masked attention (attention_mask_forms.h), three ways: op counts and
// the mask kiln.Attention reads, fused-vs-unfused outputs on random inputs (masks with a fully
// masked row: NaN on both sides), and the forms whose semantics differ, which stay unfused.
// Mask2Former's masked cross-attention and DETR's padding masks as exported, on the CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "onnx/importer.h"
#include "ops/op.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

// q [2,3,5,8], Kt = Transpose(x [2,3,7,8]) [2,3,8,7], v [2,3,7,6]; sc = Mul(MatMul(q, Kt), 0.35):
//   add:        Softmax(Add(sc, m))                      m a float input of mask_dims
//   where_add:  Softmax(Add(sc, [Mul(c)] Where(b, fill, 0)))   b a bool input of mask_dims
//   fill:       Softmax(Where(b, fill, sc))
// then MatMul(·, v) → y.
struct Options {
  std::string form = "add";
  Dims q{2, 3, 5, 8}, x{2, 3, 7, 8}, v{2, 3, 7, 6}, mask_dims{2, 1, 5, 7};
  bool mask_first = false;     // Add(m, sc) / Where(b, 0, fill) / Where(b, sc, fill): the other order
  float fill = -INFINITY;
  Dims zero_dims;              // where_add: the 0 operand's dims (a folded ConstantOfShape is full size)
  std::optional<float> c;      // where_add: Mul(Where, c)
  bool not_b = false;          // b = Not(a), a the bool input
  bool mask_before_scale = false;  // Mul(Add(s, m), 0.35): the mask is scaled too
  int64_t axis = -1;
  std::string also_output;     // an intermediate that is also a graph output
  bool full_masked_row = true;  // the bool input masks a whole row (see feeds_for)
  bool where_kept = false;      // a Where stays: it computes an additive mask
};

test::ModelBuilder masked_model(const Options& o) {
  test::ModelBuilder b;
  b.input("q", DType::kF32, o.q).input("x", DType::kF32, o.x).input("v", DType::kF32, o.v);
  test::set_ints_attr(b.node("Transpose", {"x"}, {"kt"}), "perm", {0, 1, 3, 2});
  b.node("MatMul", {"q", "kt"}, {"s"});
  b.initializer("scale", Tensor::scalar<float>(0.35f));
  std::string scores = "s";
  if (!o.mask_before_scale) {
    b.node("Mul", {"s", "scale"}, {"sc"});
    scores = "sc";
  }
  const auto order = [&](const std::string& a, const std::string& m) {
    return o.mask_first ? std::vector<std::string>{m, a} : std::vector<std::string>{a, m};
  };
  if (o.form == "add") {
    b.input("m", DType::kF32, o.mask_dims);
    b.node("Add", order(scores, "m"), {"masked"});
  } else {
    b.input(o.not_b ? "a" : "b", DType::kBool, o.mask_dims);
    if (o.not_b) b.node("Not", {"a"}, {"b"});
    b.initializer("fill", Tensor::scalar<float>(o.fill));
    if (o.form == "fill") {
      std::vector<std::string> in = order("fill", scores);
      b.node("Where", {"b", in[0], in[1]}, {"masked"});
    } else {
      b.initializer("zero", Tensor::from_doubles(DType::kF32, o.zero_dims, std::vector<double>(size_t(numel_of(o.zero_dims)), 0.0)));
      std::vector<std::string> in = order("fill", "zero");
      b.node("Where", {"b", in[0], in[1]}, {"w"});
      std::string m = "w";
      if (o.c) {
        b.initializer("c", Tensor::scalar<float>(*o.c));
        b.node("Mul", {"w", "c"}, {"wc"});
        m = "wc";
      }
      b.node("Add", order(scores, m), {"masked"});
    }
  }
  std::string sm_in = "masked";
  if (o.mask_before_scale) {
    b.node("Mul", {"masked", "scale"}, {"masked_sc"});
    sm_in = "masked_sc";
  }
  test::set_int_attr(b.node("Softmax", {sm_in}, {"p"}), "axis", o.axis);
  b.node("MatMul", {"p", "v"}, {"y"});
  b.output("y", DType::kF32);
  if (!o.also_output.empty()) b.output(o.also_output, DType::kF32);
  return b;
}

// Random inputs; a bool input masks ~30% of the keys (true where `true_masks`, else false) and
// its whole first row when it has a query dim: a fully masked row next to normal ones.
TensorMap feeds_for(const Graph& g, uint64_t seed, bool true_masks, bool full_row = true) {
  TensorMap feeds;
  for (const auto& name : g.inputs) {
    const ValueType& t = g.value(name).type;
    const Dims dims = shape_dims(*t.shape);
    if (t.dtype != DType::kBool) {
      feeds[name] = test::random_tensor(t.dtype, dims, seed++, -2, 2);
      continue;
    }
    Tensor m(DType::kBool, dims);
    std::mt19937_64 rng(seed++);
    for (int64_t i = 0; i < m.numel(); ++i) m.data<bool>()[i] = (rng() % 10 < 3) == true_masks;
    const bool has_rows = full_row && dims.size() >= 2 && dims[dims.size() - 2] > 1;
    for (int64_t j = 0; has_rows && j < dims.back(); ++j) m.data<bool>()[j] = true_masks;
    feeds[name] = m;
  }
  return feeds;
}

int count_op(const Graph& g, const std::string& op) {
  auto h = g.op_histogram();
  return h.count(op) ? h.at(op) : 0;
}

const Node& attention_node(const Graph& g) {
  for (const Node& n : g.nodes)
    if (n.domain == kKilnDomain && n.op_type == "Attention") return n;
  ADD_FAILURE() << "no kiln.Attention";
  return g.nodes.front();
}

// Fuses, checks the op counts, and compares with the graph run unfused; returns the fused graph.
Graph expect_fused_and_equal(const Options& o) {
  const std::string bytes = masked_model(o).bytes();
  Graph fused = import_onnx_bytes(bytes, ".", "m.onnx");
  EXPECT_EQ(run_passes(fused, {"fuse_elementwise"}).fused.at("fuse_attention"), 1);
  EXPECT_EQ(count_op(fused, "kiln.Attention"), 1);
  for (const char* op : {"Softmax", "MatMul", "Add"}) EXPECT_EQ(count_op(fused, op), 0) << op;
  EXPECT_EQ(count_op(fused, "Where"), o.where_kept ? 1 : 0);
  EXPECT_EQ(attention_node(fused).inputs.size(), 4u);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  // Where(b, -inf, ·) masks where b is true; Where(b, ·, -inf), or b = Not(a), where false.
  TensorMap feeds = feeds_for(plain, 11, !o.mask_first && !o.not_b, o.full_masked_row);
  Tensor want = CpuExecutor(plain).run(feeds).at("y");
  Tensor got = CpuExecutor(fused).run(feeds).at("y");
  test::expect_dims(got, want.dims());
  test::expect_close(got, test::to_doubles(want), 1e-6, 1e-5);
  // Where b's fully masked first row puts -inf at every key, the unfused Softmax gives NaN there.
  const bool nan_row = o.form != "add" && o.full_masked_row && std::isinf(o.fill) && o.mask_dims.size() >= 2 &&
                       o.mask_dims[o.mask_dims.size() - 2] > 1;
  EXPECT_EQ(std::isnan(want.at_double(0)), nan_row);
  return fused;
}

void expect_not_fused(const Options& o) {
  Graph g = import_onnx_bytes(masked_model(o).bytes(), ".", "m.onnx");
  EXPECT_EQ(run_passes(g, {"fuse_elementwise"}).fused.at("fuse_attention"), 0);
  EXPECT_EQ(count_op(g, "kiln.Attention"), 0);
  EXPECT_EQ(count_op(g, "MatMul"), 2);
  // fuse_masked_softmax may still take a Where(b, -inf, ·) → Softmax the attention match left.
  EXPECT_EQ(count_op(g, "Softmax") + count_op(g, "kiln.MaskedSoftmax"), 1);
}

// The bool mask kiln.Attention reads: the graph's own bool input, or a Not of it.
void expect_bool_mask(const Graph& g, const std::string& input, bool negated) {
  const std::string& mask = attention_node(g).inputs.at(3);
  EXPECT_EQ(g.value(mask).type.dtype, DType::kBool);
  EXPECT_EQ(count_op(g, "Not"), negated ? 1 : 0);
  if (negated) {
    const Node* n = nullptr;
    for (const Node& x : g.nodes)
      if (!x.outputs.empty() && x.outputs[0] == mask) n = &x;
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->op_type, "Not");
    EXPECT_EQ(n->inputs.at(0), input);
  } else {
    EXPECT_EQ(mask, input);
  }
}

TEST(FuseAttentionMask, FusesAdditiveMasksOfEveryBroadcast) {
  for (Dims m : {Dims{2, 1, 5, 7}, Dims{7}, Dims{1, 1, 1, 7}, Dims{5, 7}, Dims{2, 3, 5, 7}, Dims{3, 5, 1}}) {
    for (bool first : {false, true}) {
      SCOPED_TRACE(dims_to_string(m) + (first ? " mask first" : ""));
      Options o;
      o.mask_dims = m;
      o.mask_first = first;
      Graph g = expect_fused_and_equal(o);
      EXPECT_EQ(attention_node(g).inputs.at(3), "m");
    }
  }
}

TEST(FuseAttentionMask, FusesWhereMinusInfZeroAsTheBoolMask) {
  struct C {
    Dims mask, zero;
    std::optional<float> c;
  };
  // Mask2Former: Where(b, -inf, ConstantOfShape 0) times a constant 1, b [B·H, Nq, Nk]-like.
  for (const C& c : {C{{2, 1, 5, 7}, {}, std::nullopt}, C{{2, 3, 5, 7}, {2, 3, 5, 7}, 1.f}, C{{1, 1, 1, 7}, {1}, 2.5f},
                     C{{5, 7}, {5, 7}, std::nullopt}}) {
    SCOPED_TRACE(dims_to_string(c.mask) + " zero " + dims_to_string(c.zero));
    Options o;
    o.form = "where_add";
    o.mask_dims = c.mask;
    o.zero_dims = c.zero;
    o.c = c.c;
    expect_bool_mask(expect_fused_and_equal(o), "b", true);
  }
  Options keep;  // Where(b, 0, -inf): b is already true where keys take part
  keep.form = "where_add";
  keep.mask_first = true;
  expect_bool_mask(expect_fused_and_equal(keep), "b", false);
  Options not_b;  // Where(Not(a), -inf, 0): a as it is, no second Not
  not_b.form = "where_add";
  not_b.not_b = true;
  expect_bool_mask(expect_fused_and_equal(not_b), "a", false);
}

TEST(FuseAttentionMask, FusesOtherWhereFillsAsAdditive) {
  for (float fill : {-1e9f, -3.f}) {
    SCOPED_TRACE(fill);
    Options o;
    o.form = "where_add";
    o.fill = fill;
    o.where_kept = true;
    // Unfused, float32 s·c − 1e9 rounds every score of a fully masked row to −1e9 (a uniform
    // softmax); fused, the sum is formed in double and keeps them apart. Partial rows agree.
    o.full_masked_row = fill > -10;
    Graph g = expect_fused_and_equal(o);
    EXPECT_EQ(g.value(attention_node(g).inputs.at(3)).type.dtype, DType::kF32);
  }
  Options negative;  // -inf · -1 = +inf: not a bool mask
  negative.form = "where_add";
  negative.c = -1.f;
  Graph g = import_onnx_bytes(masked_model(negative).bytes(), ".", "m.onnx");
  EXPECT_EQ(run_passes(g, {"fuse_elementwise"}).fused.at("fuse_attention"), 1);
  EXPECT_EQ(g.value(attention_node(g).inputs.at(3)).type.dtype, DType::kF32);
  EXPECT_EQ(count_op(g, "Not"), 0);
}

TEST(FuseAttentionMask, FusesMaskedFill) {
  for (Dims m : {Dims{2, 1, 5, 7}, Dims{1, 7}, Dims{2, 3, 5, 7}}) {
    SCOPED_TRACE(dims_to_string(m));
    Options o;
    o.form = "fill";
    o.mask_dims = m;
    expect_bool_mask(expect_fused_and_equal(o), "b", true);
    o.mask_first = true;  // Where(b, scores, -inf)
    expect_bool_mask(expect_fused_and_equal(o), "b", false);
  }
}

// Two attention blocks over the same b share one Not.
TEST(FuseAttentionMask, OneNotPerMask) {
  test::ModelBuilder b;
  b.input("b", DType::kBool, {2, 1, 5, 7}).initializer("fill", Tensor::scalar<float>(-INFINITY));
  for (const char* i : {"1", "2"}) {
    const std::string s(i);
    b.input("q" + s, DType::kF32, {2, 3, 5, 8}).input("k" + s, DType::kF32, {2, 3, 8, 7}).input("v" + s, DType::kF32, {2, 3, 7, 6});
    b.initializer("kc" + s, test::random_tensor(DType::kF32, {2, 3, 8, 7}, 40));
    b.node("MatMul", {"q" + s, "kc" + s}, {"s" + s});
    b.node("Where", {"b", "fill", "s" + s}, {"w" + s});
    test::set_int_attr(b.node("Softmax", {"w" + s}, {"p" + s}), "axis", -1);
    b.node("MatMul", {"p" + s, "v" + s}, {"y" + s});
    b.output("y" + s, DType::kF32);
  }
  const std::string bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  EXPECT_EQ(run_passes(g, {"fuse_elementwise"}).fused.at("fuse_attention"), 2);
  EXPECT_EQ(count_op(g, "Not"), 1);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  TensorMap feeds = feeds_for(plain, 21, true);
  TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
  for (const char* y : {"y1", "y2"}) test::expect_close(got.at(y), test::to_doubles(want.at(y)), 1e-6, 1e-5);
}

TEST(FuseAttentionMask, RefusesMasksThatChangeTheMeaning) {
  Options grows;  // the mask broadcasts the scores [1,3,5,7] up to [2,3,5,7]
  grows.q = {1, 3, 5, 8}, grows.x = {1, 3, 7, 8}, grows.v = {1, 3, 7, 6}, grows.mask_dims = {2, 3, 5, 7};
  expect_not_fused(grows);
  Options fill_grows = grows;
  fill_grows.form = "fill";
  expect_not_fused(fill_grows);
  Options fill_not_inf;  // masked_fill with -1e9: not a -inf mask, and not an addition
  fill_not_inf.form = "fill";
  fill_not_inf.fill = -1e9f;
  expect_not_fused(fill_not_inf);
  Options scaled_mask;  // softmax(c·(S + M)) ≠ softmax(c·S + M)
  scaled_mask.mask_before_scale = true;
  expect_not_fused(scaled_mask);
  for (const char* form : {"add", "where_add", "fill"}) {
    SCOPED_TRACE(form);
    Options axis;
    axis.form = form;
    axis.axis = 2;
    expect_not_fused(axis);
    Options shared;  // the masked scores are read elsewhere too
    shared.form = form;
    shared.also_output = "masked";
    expect_not_fused(shared);
    Options scores_out;  // so are the scores
    scores_out.form = form;
    scores_out.also_output = "sc";
    expect_not_fused(scores_out);
  }
}

// Mask2Former's decoder: each layer's masked cross-attention (Where(b, -inf, 0) · 1 added to the
// scores · 1) becomes kiln.Attention reading Not(b); the Swin backbone's windows (scores +
// relative position bias, a constant) and the decoder's self-attention fuse too. DETR's
// attention adds its padding mask. Fused and unfused agree on the reference inputs.
TEST(FuseAttentionMask, FiresOnExportedMask2FormerAndDetr) {
  struct M {
    const char* name;
    int blocks, softmax_left, nots_added;
  };
  for (auto [name, blocks, softmax_left, nots_added] : {M{"mask2former_tiny", 13, 2, 3}, M{"detr_tiny", 5, 0, 0}}) {
    SCOPED_TRACE(name);
    fs::path dir = fs::path(KILN_TEST_DIR) / "models" / name;
    ImportOptions import;
    TensorMap feeds = test::reference_inputs(dir, &import);
    Graph fused = import_onnx_file((dir / "model.onnx").string(), import);
    // fuse_attention_keep_mask would take the Nots this test counts.
    EXPECT_EQ(run_passes(fused, {"fuse_elementwise", "fuse_attention_keep_mask"}).fused.at("fuse_attention"), blocks);
    EXPECT_EQ(count_op(fused, "kiln.Attention"), blocks);
    EXPECT_EQ(count_op(fused, "Softmax"), softmax_left);
    Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
    run_passes(plain, {"fuse_elementwise", "fuse_attention", "fuse_attention_keep_mask"});
    EXPECT_EQ(count_op(fused, "Not"), count_op(plain, "Not") + nots_added);
    int masked = 0;
    for (const Node& n : fused.nodes) {
      EXPECT_EQ(n.name.find("cross_attn/Softmax"), std::string::npos) << n.name;
      if (n.op_type != "Attention" || n.name.find("cross_attn") == std::string::npos) continue;
      ++masked;
      ASSERT_EQ(n.inputs.size(), 4u) << n.name;
      EXPECT_EQ(fused.value(n.inputs[3]).type.dtype, DType::kBool) << n.name;
    }
    EXPECT_EQ(masked, std::string(name) == "mask2former_tiny" ? 3 : 0);
    TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(fused).run(feeds);
    for (const auto& [out, w] : want) EXPECT_LE(compare_output(got.at(out), w, out).rel_l2, 1e-5) << out;
  }
}

}  // namespace
}  // namespace kiln
