// passes/fuse_attention three ways: op counts on the exported SegFormers, fused-vs-unfused
// outputs on random inputs (and segformer_tiny against its PyTorch goldens), and the cases whose
// semantics differ, which must stay unfused.
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/fold_constants.h"
#include "passes/fuse_attention.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

// q [2,3,5,8]; Kt = Transpose(x [2,7,3,8], perm 0,2,3,1) = [2,3,8,7] (HF SegFormer's layout);
// v [2,3,7,6]:
//   MatMul(q, Kt) ─▶ s ─Mul(0.35)─▶ sc ─Softmax(-1)─▶ p0 ─Cast(float)─▶ p1 ─Cast(float)─▶ p ─MatMul(·, v)─▶ y
struct Options {
  DType dtype = DType::kF32;
  Dims q{2, 3, 5, 8}, x{2, 7, 3, 8}, v{2, 3, 7, 6};
  std::vector<int64_t> perm{0, 2, 3, 1};
  std::string kt = "transpose";  // "transpose", "constant" (Kt an initializer), "input" (Kt a graph input)
  std::string scale = "mul";     // "mul", "mul_left" (constant first), "div", "none", "input" (scale fed at run time)
  Tensor scale_value = Tensor::scalar<float>(0.35f);
  int64_t axis = -1;
  int casts = 2;
  bool p_on_right = false;       // MatMul(w, P) instead of MatMul(P, v)
  std::string also_output;       // an intermediate that is also a graph output: "s", "sc", "p0", "p"
  std::string second_reader;     // an intermediate that a Relu reads too
};

Dims kt_dims(const Options& o) {
  Dims d(o.perm.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = o.x[size_t(o.perm[i])];
  return d;
}

test::ModelBuilder attention_model(const Options& o) {
  test::ModelBuilder b;
  b.input("q", o.dtype, o.q);
  if (o.kt == "transpose") {
    b.input("x", o.dtype, o.x);
    test::set_ints_attr(b.node("Transpose", {"x"}, {"kt"}), "perm", o.perm);
  } else if (o.kt == "constant") {
    b.initializer("kt", test::random_tensor(o.dtype, kt_dims(o), 77));
  } else {
    b.input("kt", o.dtype, kt_dims(o));
  }
  b.node("MatMul", {"q", "kt"}, {"s"});
  if (o.scale == "input") b.input("c", o.dtype, {});
  else if (o.scale != "none") b.initializer("c", o.scale_value);
  if (o.scale == "mul" || o.scale == "input") b.node("Mul", {"s", "c"}, {"sc"});
  else if (o.scale == "mul_left") b.node("Mul", {"c", "s"}, {"sc"});
  else if (o.scale == "div") b.node("Div", {"s", "c"}, {"sc"});
  test::set_int_attr(b.node("Softmax", {o.scale == "none" ? "s" : "sc"}, {"p0"}), "axis", o.axis);
  std::string p = "p0";
  for (int i = 0; i < o.casts; ++i) {
    std::string next = i + 1 == o.casts ? "p" : "p" + std::to_string(i + 1);
    test::set_int_attr(b.node("Cast", {p}, {next}), "to", dtype_to_onnx(o.dtype));
    p = next;
  }
  if (o.p_on_right) {
    Dims w = o.q;
    w.back() = o.q[o.q.size() - 2];
    b.input("w", o.dtype, w);
    b.node("MatMul", {"w", p}, {"y"});
  } else {
    b.input("v", o.dtype, o.v);
    b.node("MatMul", {p, "v"}, {"y"});
  }
  b.output("y", o.dtype);
  if (!o.also_output.empty()) b.output(o.also_output, o.dtype);
  if (!o.second_reader.empty()) {
    b.node("Relu", {o.second_reader}, {"r"});
    b.output("r", o.dtype);
  }
  return b;
}

TensorMap random_feeds(const Graph& g, uint64_t seed) {
  TensorMap feeds;
  for (const auto& name : g.inputs) {
    const ValueType& t = g.value(name).type;
    feeds[name] = test::random_tensor(t.dtype, shape_dims(*t.shape), seed++, -2, 2);
  }
  return feeds;
}

int fused_count(const Graph& g) {
  auto h = g.op_histogram();
  return h.count("kiln.Attention") ? h.at("kiln.Attention") : 0;
}

// Fuses, checks the op counts, and compares with the graph run unfused.
void expect_fused_and_equal(const Options& o) {
  const std::string bytes = attention_model(o).bytes();
  Graph fused = import_onnx_bytes(bytes, ".", "m.onnx");
  PassReport r = run_passes(fused);
  EXPECT_EQ(r.fused.at("fuse_attention"), 1);
  auto h = fused.op_histogram();
  EXPECT_EQ(h.count("Softmax"), 0u);
  EXPECT_EQ(h.count("MatMul"), 0u);
  EXPECT_EQ(h.count("Cast"), 0u);
  EXPECT_EQ(fused_count(fused), 1);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  TensorMap feeds = random_feeds(plain, 5);
  Tensor want = CpuExecutor(plain).run(feeds).at("y");
  Tensor got = CpuExecutor(fused).run(feeds).at("y");
  ASSERT_EQ(dims_to_string(got.dims()), dims_to_string(want.dims()));
  // Unfused: float32 GEMMs and softmax; fused: double throughout. Only rounding differs.
  test::expect_close(got, test::to_doubles(want), 1e-6, 1e-5);
}

void expect_not_fused(const Options& o) {
  Graph g = import_onnx_bytes(attention_model(o).bytes(), ".", "m.onnx");
  PassReport r = run_passes(g);
  EXPECT_EQ(r.fused.at("fuse_attention"), 0);
  EXPECT_EQ(fused_count(g), 0);
  EXPECT_EQ(g.op_histogram().count("Softmax"), 1u);
}

TEST(FuseAttention, FusesSegFormerLayoutWithIdentityCasts) { expect_fused_and_equal({}); }

TEST(FuseAttention, FusesEveryScaleForm) {
  for (const char* s : {"mul_left", "div", "none"}) {
    SCOPED_TRACE(s);
    Options o;
    o.scale = s;
    expect_fused_and_equal(o);
  }
  Options o;  // a one-element constant of shape [1, 1, 1, 1] scales like a scalar
  o.scale_value = Tensor::from_vector<float>({1, 1, 1, 1}, {0.2f});
  expect_fused_and_equal(o);
}

TEST(FuseAttention, FusesEveryKeyLayout) {
  Options swap;  // Transpose swapping the last two axes: K is its input, no Transpose left
  swap.x = {2, 3, 7, 8};
  swap.perm = {0, 1, 3, 2};
  expect_fused_and_equal(swap);
  Graph g = import_onnx_bytes(attention_model(swap).bytes(), ".", "m.onnx");
  run_passes(g);
  EXPECT_EQ(g.op_histogram().count("Transpose"), 0u);

  Options shuffled;  // any perm: K = Transpose(x, perm with its last two entries swapped)
  shuffled.x = {8, 7, 3, 2};
  shuffled.perm = {3, 2, 0, 1};
  expect_fused_and_equal(shuffled);

  Options constant;  // a constant Kᵀ is transposed at build time
  constant.kt = "constant";
  expect_fused_and_equal(constant);

  Options no_casts;
  no_casts.casts = 0;
  expect_fused_and_equal(no_casts);

  Options rank2;  // no batch dims
  rank2.q = {5, 8};
  rank2.x = {7, 8};
  rank2.perm = {1, 0};
  rank2.v = {7, 6};
  expect_fused_and_equal(rank2);
}

TEST(FuseAttention, FiresOnExportedSegFormers) {
  struct M {
    const char* name;
    int blocks, reductions;  // attention blocks; sequence-reduction and patch-embedding convs made GEMMs
                             // (not the picture's: fuse_patch_embed_tokens makes it one PatchEmbedTokens)
  };
  for (auto [name, blocks, reductions] : {M{"segformer_b0", 8, 6 + 3}, M{"segformer_tiny", 4, 3 + 3}}) {
    SCOPED_TRACE(name);
    fs::path dir = fs::path(KILN_TEST_DIR) / "models" / name;
    ImportOptions import;
    test::reference_inputs(dir, &import);
    Graph g = import_onnx_file((dir / "model.onnx").string(), import);
    const int matmuls = g.op_histogram().at("MatMul");
    PassReport r = run_passes(g);
    EXPECT_EQ(r.fused.at("fuse_attention"), blocks);
    auto h = g.op_histogram();
    EXPECT_EQ(h.count("Softmax"), 0u);
    EXPECT_EQ(fused_count(g), blocks);
    // The other MatMuls are linear layers, fused with their bias by fuse_matmul_epilogue, as are
    // the reductions fuse_token_patch_conv and the patch embeddings fuse_token_im2col_conv turn
    // into GEMMs; each block's K and V projections are one (fuse_kv_projection).
    EXPECT_EQ(int(h.count("MatMul") ? h.at("MatMul") : 0) + h.at("kiln.FusedMatMul"),
              matmuls - 2 * blocks + reductions - blocks);
    EXPECT_EQ(h.count("Cast"), 0u);  // the Casts HF puts after Softmax were identities
  }
}

TEST(FuseAttention, SegFormerTinyMatchesUnfusedAndGoldens) {
  fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph fused = import_onnx_file((dir / "model.onnx").string(), import);
  ASSERT_EQ(run_passes(fused).fused.at("fuse_attention"), 4);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(plain, {"fuse_attention"});
  ASSERT_EQ(plain.op_histogram().at("Softmax"), 4);
  Tensor got = CpuExecutor(fused).run(feeds).at("logits");
  Tensor unfused = CpuExecutor(plain).run(feeds).at("logits");
  Tensor golden = read_npy((dir / "golden" / "logits.npy").string());
  EXPECT_LE(compare_output(got, unfused, "unfused").rel_l2, 1e-6);
  EXPECT_LE(compare_output(got, golden, "golden").rel_l2, 1e-5);
}

TEST(FuseAttention, RefusesSoftmaxOnAnotherAxis) {
  Options o;
  o.axis = 2;
  expect_not_fused(o);
}

TEST(FuseAttention, RefusesOpset11Softmax) {
  // kiln imports opset >= 13 only; a graph carrying an older Softmax (flattening semantics)
  // must still be left alone.
  Graph g = import_onnx_bytes(attention_model({}).bytes(), ".", "m.onnx");
  fold_constants(g);
  for (Node& n : g.nodes)
    if (n.op_type == "Softmax") n.opset = 11;
  EXPECT_EQ(fuse_attention(g), 0);
  EXPECT_EQ(g.op_histogram().count("Softmax"), 1u);
}

TEST(FuseAttention, RefusesScaleThatIsNotAScalarConstant) {
  Options per_key;  // a [7] tensor of scales: one per key
  per_key.scale_value = test::random_tensor(DType::kF32, {7}, 3);
  expect_not_fused(per_key);
  Options runtime;  // a scalar, but fed at run time
  runtime.scale = "input";
  expect_not_fused(runtime);
  Options higher_rank;  // one element, but rank 5 broadcasts the scores up to rank 5
  higher_rank.scale_value = Tensor::from_vector<float>({1, 1, 1, 1, 1}, {0.5f});
  expect_not_fused(higher_rank);
  Options div_zero;  // scale 1/0
  div_zero.scale = "div";
  div_zero.scale_value = Tensor::scalar<float>(0.f);
  expect_not_fused(div_zero);
}

TEST(FuseAttention, RefusesIntermediatesReadElsewhere) {
  for (const char* v : {"s", "sc", "p0", "p1", "p"}) {
    SCOPED_TRACE(v);
    Options out;
    out.also_output = v;
    expect_not_fused(out);
    Options reader;
    reader.second_reader = v;
    expect_not_fused(reader);
  }
}

TEST(FuseAttention, RefusesOtherOperandOrdersAndLayouts) {
  Options right;  // MatMul(w, P): P weighs rows of w, not attention
  right.p_on_right = true;
  expect_not_fused(right);
  Options kt_input;  // Kᵀ from a graph input: neither a Transpose nor a constant
  kt_input.kt = "input";
  expect_not_fused(kt_input);
  Options broadcast;  // Q's batch dims broadcast against K's
  broadcast.q = {1, 3, 5, 8};
  expect_not_fused(broadcast);
}

TEST(FuseAttention, RefusesNonFloat32) {
  Options f64;
  f64.dtype = DType::kF64;
  f64.scale_value = Tensor::scalar<double>(0.35);
  expect_not_fused(f64);
  // int32 scores cast to float: the Cast is not an identity, so no MatMul(Q, Kt) precedes Softmax.
  test::ModelBuilder b;
  b.input("q", DType::kI32, {2, 5, 8}).input("kt", DType::kI32, {2, 8, 7}).input("v", DType::kF32, {2, 7, 6});
  b.node("MatMul", {"q", "kt"}, {"s"});
  test::set_int_attr(b.node("Cast", {"s"}, {"sf"}), "to", dtype_to_onnx(DType::kF32));
  test::set_int_attr(b.node("Softmax", {"sf"}, {"p"}), "axis", -1);
  b.node("MatMul", {"p", "v"}, {"y"});
  b.output("y", DType::kF32);
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  EXPECT_EQ(run_passes(g).fused.at("fuse_attention"), 0);
  EXPECT_EQ(g.op_histogram().count("Softmax"), 1u);
}

}  // namespace
}  // namespace kiln
