// fuse_layer_norm_patch_rows: fires on the LayerNorm in front of SegFormer's sequence reduction
// (the row gather fuse_token_patch_conv writes, or the same gather written out by hand), in
// float32 and in fp16 engines, where the fused node reads the fp32 residual stream and writes
// float16 rows; the fused graph computes the unfused one's bits (the CPU reference runs the
// LayerNorm's reference and moves rows); and it leaves alone every chain whose rows differ or
// whose intermediates are read elsewhere, and LayerNorms over more than the channels.
#include <gtest/gtest.h>

#include <cstring>

#include "../ops/harness.h"
#include "model_pass_run.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "ops/norm/layer_norm_patch_rows.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/specialize.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_layer_norm_patch_rows";
constexpr const char* kFused = "kiln.LayerNormPatchRows";

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

// An attention block's front as SegFormer exports it, behind a LayerNorm and a residual
// projection that make x an fp32 stream in fp16 engines (precision_islands.h):
//   x0 ─LN─▶ x1 ─MatMul+Add─▶ Add(x1) ─▶ x ─LN─▶ y ─┬─▶ MatMul(wq) ─▶ q
//                                                    └─▶ reduction ─▶ r
// form "conv": the reduction as exported, Transpose(0,2,1) → Reshape [B, C, H, W] → Conv(p × p,
// stride p) → Reshape → Transpose(0,2,1) (fuse_token_patch_conv makes it the gather); form
// "gather": the gather written out, Reshape(windows) → Transpose(perm) → Reshape(rows) → MatMul.
struct Block {
  int64_t B = 2, H = 6, W = 8, C = 16, p = 2, Co = 24;
  std::string form = "conv";
  Dims windows, perm = {0, 1, 3, 2, 4, 5}, rows;  // the gather form's; empty: SegFormer's
  bool q = true;  // y is also read by the query projection
  // "y output", "windows output", "gathered output", "rows output", "ln axis 1", "ln mean",
  // "no bias", "scale [1, C]"
  std::string variant;
};

std::string build(const Block& e) {
  test::ModelBuilder b(17);
  const int64_t N = e.H * e.W;
  b.input("x0", DType::kF32, {e.B, N, e.C});
  b.initializer("s0", test::random_tensor(DType::kF32, {e.C}, 11, 0.5, 1.5));
  b.initializer("bn0", test::random_tensor(DType::kF32, {e.C}, 12, -0.2, 0.2));
  test::set_int_attr(b.node("LayerNormalization", {"x0", "s0", "bn0"}, {"x1"}), "axis", -1);
  b.initializer("wp", test::random_tensor(DType::kF32, {e.C, e.C}, 13, -0.2, 0.2));
  b.initializer("bp", test::random_tensor(DType::kF32, {e.C}, 14, -0.1, 0.1));
  b.node("MatMul", {"x1", "wp"}, {"p0"});
  b.node("Add", {"p0", "bp"}, {"p1"});
  b.node("Add", {"p1", "x1"}, {"x"});

  const bool axis1 = e.variant == "ln axis 1";
  const Dims param = axis1 ? Dims{N, e.C} : e.variant == "scale [1, C]" ? Dims{1, e.C} : Dims{e.C};
  b.initializer("s", test::random_tensor(DType::kF32, param, 1, 0.5, 1.5));
  b.initializer("bn", test::random_tensor(DType::kF32, param, 2, -0.2, 0.2));
  std::vector<std::string> ln_in = {"x", "s"};
  if (e.variant != "no bias") ln_in.push_back("bn");
  std::vector<std::string> ln_out = {"y"};
  if (e.variant == "ln mean") ln_out.push_back("mean");
  onnx::NodeProto& ln = b.node("LayerNormalization", ln_in, ln_out);
  test::set_int_attr(ln, "axis", axis1 ? 1 : -1);
  auto* eps = ln.add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(1e-6f);
  if (e.variant == "ln mean") b.output("mean", DType::kF32);
  if (e.variant == "y output") b.output("y", DType::kF32);
  if (e.q) {
    b.initializer("wq", test::random_tensor(DType::kF32, {e.C, e.C}, 3, -0.3, 0.3));
    b.node("MatMul", {"y", "wq"}, {"q"});
    b.output("q", DType::kF32);
  }

  if (e.form == "conv") {
    const int64_t oh = e.H / e.p, ow = e.W / e.p;  // the conv drops what the windows do not tile
    b.initializer("w", test::random_tensor(DType::kF32, {e.Co, e.C, e.p, e.p}, 4, -0.3, 0.3));
    b.initializer("bias", test::random_tensor(DType::kF32, {e.Co}, 5, -0.1, 0.1));
    b.initializer("img", i64({e.B, e.C, e.H, e.W}));
    b.initializer("flat", i64({e.B, e.Co, oh * ow}));
    test::set_ints_attr(b.node("Transpose", {"y"}, {"t1"}), "perm", {0, 2, 1});
    b.node("Reshape", {"t1", "img"}, {"r1"});
    onnx::NodeProto& conv = b.node("Conv", {"r1", "w", "bias"}, {"c"});
    test::set_ints_attr(conv, "kernel_shape", {e.p, e.p});
    test::set_ints_attr(conv, "strides", {e.p, e.p});
    b.node("Reshape", {"c", "flat"}, {"r2"});
    test::set_ints_attr(b.node("Transpose", {"r2"}, {"r"}), "perm", {0, 2, 1});
  } else {
    const Dims windows = e.windows.empty() ? Dims{e.B, e.H / e.p, e.p, e.W / e.p, e.p, e.C} : e.windows;
    const Dims rows = e.rows.empty() ? Dims{e.B, (e.H / e.p) * (e.W / e.p), e.p * e.p * e.C} : e.rows;
    b.initializer("windows", i64(windows));
    b.initializer("rows", i64(rows));
    b.initializer("w", test::random_tensor(DType::kF32, {rows.back(), e.Co}, 4, -0.3, 0.3));
    b.node("Reshape", {"y", "windows"}, {"g1"});
    test::set_ints_attr(b.node("Transpose", {"g1"}, {"g2"}), "perm", e.perm);
    b.node("Reshape", {"g2", "rows"}, {"g3"});
    b.node("MatMul", {"g3", "w"}, {"r"});
    if (e.variant == "windows output") b.output("g1", DType::kF32);
    if (e.variant == "gathered output") b.output("g2", DType::kF32);
    if (e.variant == "rows output") b.output("g3", DType::kF32);
  }
  b.output("r", DType::kF32);
  return b.bytes();
}

TensorMap random_feeds(const Graph& g) {
  TensorMap feeds;
  uint64_t seed = 40;
  for (const std::string& in : g.inputs)
    feeds[in] = test::random_tensor(DType::kF32, shape_dims(*g.value(in).type.shape), seed++, -2.0, 3.0);
  return feeds;
}

// The graph as an engine of that precision makes it, with or without the pass.
Graph engine_graph(const std::string& bytes, const std::string& precision, bool fuse, int* fired = nullptr) {
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  EngineBuild build;
  build.precision = precision;
  if (!fuse) build.disabled_passes.insert(kPass);
  const PassReport r = optimize_for_engine(g, build);
  if (fired) *fired = r.fused.count(kPass) ? r.fused.at(kPass) : 0;
  return g;
}

// Every output of the two graphs on the same inputs, bit for bit.
void expect_same_bits(const Graph& want_g, const Graph& got_g) {
  const TensorMap feeds = random_feeds(want_g);
  const TensorMap want = CpuExecutor(want_g).run(feeds), got = CpuExecutor(got_g).run(feeds);
  ASSERT_EQ(want.size(), got.size());
  for (const auto& [name, w] : want) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(got.count(name));
    const Tensor& t = got.at(name);
    ASSERT_EQ(t.dtype(), w.dtype());
    test::expect_dims(t, w.dims());
    EXPECT_EQ(std::memcmp(t.raw(), w.raw(), w.nbytes()), 0);
  }
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
  const Node* fused = nullptr;  // the first LayerNormPatchRows, in `graph`
  Graph graph;
};

Outcome run(const Block& e, const std::string& precision = "fp32") {
  SCOPED_TRACE(precision);
  const std::string bytes = build(e);
  Outcome o;
  o.graph = engine_graph(bytes, precision, true, &o.fired);
  o.ops = o.graph.op_histogram();
  expect_same_bits(engine_graph(bytes, precision, false), o.graph);
  for (const Node& n : o.graph.nodes)
    if (n.op_type == norm::kLayerNormPatchRowsOp && !o.fused) o.fused = &n;
  return o;
}

int count(const Outcome& o, const std::string& op) { return o.ops.count(op) ? o.ops.at(op) : 0; }

TEST(FuseLayerNormPatchRows, TakesTheSequenceReductionsGather) {
  const Outcome o = run({});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(count(o, kFused), 1);
  EXPECT_EQ(count(o, "LayerNormalization"), 1);  // x1's
  EXPECT_EQ(count(o, "Transpose"), 0);
  EXPECT_EQ(count(o, "Reshape"), 0);
  ASSERT_NE(o.fused, nullptr);
  EXPECT_EQ(o.fused->outputs.at(0), "y");  // the query projection still reads Y
  EXPECT_EQ(o.fused->attrs.get_int("height"), 6);
  EXPECT_EQ(o.fused->attrs.get_int("width"), 8);
  EXPECT_EQ(o.fused->attrs.get_int("patch"), 2);
  EXPECT_FLOAT_EQ(o.fused->attrs.get_float("epsilon"), 1e-6f);
}

TEST(FuseLayerNormPatchRows, YUnreadElsewhereIsNotWritten) {
  const Outcome o = run({.q = false});
  EXPECT_EQ(o.fired, 1);
  ASSERT_NE(o.fused, nullptr);
  EXPECT_EQ(o.fused->outputs.at(0), "");
  EXPECT_FALSE(o.graph.values.count("y"));
}

TEST(FuseLayerNormPatchRows, GeometriesAndForms) {
  EXPECT_EQ(run({.B = 1, .H = 9, .W = 6, .C = 12, .p = 3}).fired, 1);
  EXPECT_EQ(run({.B = 1, .H = 16, .W = 8, .C = 8, .p = 8, .Co = 5}).fired, 1);  // a column of two windows
  EXPECT_EQ(run({.form = "gather"}).fired, 1);
  EXPECT_EQ(run({.variant = "no bias"}).fired, 1);
  EXPECT_EQ(run({.variant = "y output"}).fired, 1);
  EXPECT_EQ(run({.form = "gather", .variant = "rows output"}).fired, 1);
}

// fp16 engines: the LayerNorm reads the fp32 stream x and writes float16 Y and rows (the mixed
// form), and the fused graph keeps the unfused one's bits.
TEST(FuseLayerNormPatchRows, Fp16EnginesReadTheFloat32Stream) {
  for (bool q : {true, false}) {
    SCOPED_TRACE(q ? "y read by q" : "y unread");
    const Outcome o = run({.q = q}, "fp16");
    EXPECT_EQ(o.fired, 1);
    ASSERT_NE(o.fused, nullptr);
    EXPECT_EQ(o.graph.value(o.fused->inputs[0]).type.dtype, DType::kF32);
    EXPECT_EQ(o.graph.value(o.fused->inputs[1]).type.dtype, DType::kF16);
    EXPECT_EQ(o.graph.value(o.fused->outputs[1]).type.dtype, DType::kF16);
    if (q) {
      EXPECT_EQ(o.graph.value(o.fused->outputs[0]).type.dtype, DType::kF16);
    }
    EXPECT_EQ(count(o, "Transpose"), 0);
  }
}

TEST(FuseLayerNormPatchRows, LeavesOtherRowsAlone) {
  EXPECT_EQ(run({.form = "gather", .perm = {0, 3, 1, 2, 4, 5}}).fired, 0);  // windows column-major
  EXPECT_EQ(run({.form = "gather", .perm = {0, 1, 3, 4, 2, 5}}).fired, 0);  // rows inside a window transposed
  // Non-square windows: 2 x 4.
  EXPECT_EQ(run({.form = "gather", .windows = {2, 3, 2, 2, 4, 16}, .rows = {2, 6, 128}}).fired, 0);
  EXPECT_EQ(run({.form = "gather", .rows = {24, 64}}).fired, 0);  // the rows flattened over the batch
  EXPECT_EQ(run({.H = 7}).fired, 0);  // the conv drops a row: no gather to take
  EXPECT_EQ(run({.p = 3}).fired, 0);  // 3 divides H = 6, not W = 8
}

TEST(FuseLayerNormPatchRows, LeavesSharedIntermediatesAlone) {
  EXPECT_EQ(run({.form = "gather", .variant = "windows output"}).fired, 0);
  EXPECT_EQ(run({.form = "gather", .variant = "gathered output"}).fired, 0);
}

TEST(FuseLayerNormPatchRows, LeavesOtherLayerNormsAlone) {
  EXPECT_EQ(run({.variant = "ln axis 1"}).fired, 0);     // over tokens and channels
  EXPECT_EQ(run({.variant = "ln mean"}).fired, 0);       // its Mean is read
  EXPECT_EQ(run({.variant = "scale [1, C]"}).fired, 0);  // parameters not exactly [C]
}

// The exported SegFormers: every sequence reduction's LayerNorm (B0: stages 1–3, two blocks
// each; tiny: 3), with the logits as before.
TEST(FuseLayerNormPatchRows, FiresOnExportedSegFormers) {
  for (auto [name, reductions] : {std::pair<const char*, int>{"segformer_b0", 6}, {"segformer_tiny", 3}}) {
    SCOPED_TRACE(name);
    const test::ModelPassRun r = test::run_model_passes(name, {kPass});
    EXPECT_EQ(r.report.fused.at(kPass), reductions);
    const auto plain = r.plain.op_histogram(), fused = r.fused.op_histogram();
    EXPECT_EQ(fused.at(kFused), reductions);
    EXPECT_EQ(plain.at("Transpose") - (fused.count("Transpose") ? fused.at("Transpose") : 0), reductions);
    EXPECT_EQ(plain.at("LayerNormalization") - fused.at("LayerNormalization"), reductions);
    if (std::string(name) == "segformer_tiny") test::expect_logits_kept(r, true);
  }
}

// SegFormer-B0 as `kiln build --fp16` makes it: all six fused, each reading the fp32 residual
// stream and writing float16 rows for the reduction's GEMM.
TEST(FuseLayerNormPatchRows, FiresOnSegformerB0Fp16) {
  const auto dir = std::filesystem::path(KILN_TEST_DIR) / "models" / "segformer_b0";
  ImportOptions import;
  test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  EngineBuild build;
  build.precision = "fp16";
  EXPECT_EQ(optimize_for_engine(g, build).fused.at(kPass), 6);
  int fused = 0;
  for (const Node& n : g.nodes) {
    if (n.op_type != norm::kLayerNormPatchRowsOp) continue;
    ++fused;
    SCOPED_TRACE(n.name);
    EXPECT_EQ(g.value(n.inputs[0]).type.dtype, DType::kF32);
    EXPECT_EQ(g.value(n.outputs[1]).type.dtype, DType::kF16);
  }
  EXPECT_EQ(fused, 6);
  const Dims gather = {0, 1, 3, 2, 4, 5};
  for (const Node& n : g.nodes)
    EXPECT_FALSE(n.op_type == "Transpose" && n.attrs.get_ints("perm", {}) == gather) << n.name;
}

}  // namespace
}  // namespace kiln
