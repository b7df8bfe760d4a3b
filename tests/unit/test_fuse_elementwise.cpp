// fuse_elementwise three ways: it fires on connected elementwise chains (broadcast inputs,
// bool logic, several outputs, the test models), the fused graph computes what the unfused one
// does (CPU reference, random inputs; fp16 within the roundings the fused node skips), and it
// leaves alone what would change meaning: an intermediate read outside or a graph output in the
// middle, a broadcast that grows the shape inside the chain, float64 and integer chains, a
// group an outside path leaves and re-enters, single nodes. Also: fp16 engines fuse after the
// conversion (its Casts inside), and the node survives the engine file.
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "fusion_test_util.h"
#include "onnx/importer.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"
#include "runtime/specialize.h"

namespace kiln {
namespace {

using test::count_op;

struct Fused {
  Graph plain, g;
  int fired = 0;
};

Fused run(const test::ModelBuilder& b, double tol = 1e-6) {
  Fused f;
  f.plain = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  f.g = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  run_passes(f.plain, {"fuse_elementwise"});
  f.fired = run_passes(f.g).fused.at("fuse_elementwise");
  test::expect_same_outputs(f.plain, f.g, test::random_feeds(f.plain, 11), tol, tol);
  return f;
}

Tensor f32_const(Dims d, uint64_t seed) { return test::random_tensor(DType::kF32, std::move(d), seed, -2, 2); }

// sigmoid((x - y) * z), masked by Where(Not(m), ·, x): five nodes, inputs broadcast.
test::ModelBuilder chain(DType dt = DType::kF32) {
  test::ModelBuilder b(17);
  b.input("x", dt, {2, 3, 5});
  b.input("y", dt, {5});
  b.input("m", DType::kBool, {2, 3, 5});
  b.initializer("z", dt == DType::kF32 ? f32_const({2, 1, 1}, 1) : Tensor::from_doubles(dt, {2, 1, 1}, {0.5, -1.5}));
  b.node("Sub", {"x", "y"}, {"d"});
  b.node("Mul", {"d", "z"}, {"p"});
  b.node("Sigmoid", {"p"}, {"s"});
  b.node("Not", {"m"}, {"nm"});
  b.node("Where", {"nm", "s", "x"}, {"out"});
  b.output("out", dt);
  return b;
}

TEST(FuseElementwise, FusesAChainWithBroadcastInputsAndBoolLogic) {
  Fused f = run(chain());
  EXPECT_EQ(f.fired, 1);
  ASSERT_EQ(f.g.nodes.size(), 1u);
  const Node& n = f.g.nodes[0];
  EXPECT_EQ(n.op_type, "Pointwise");
  EXPECT_EQ(n.domain, "kiln");
  EXPECT_EQ(n.name, f.plain.nodes.back().name);
  EXPECT_EQ(n.attrs.get_strings("ops"), (std::vector<std::string>{"Sub", "Mul", "Sigmoid", "Not", "Where"}));
  EXPECT_EQ(n.outputs, std::vector<std::string>{"out"});
  EXPECT_EQ(n.inputs.size(), 4u);  // x, y, z, m
}

TEST(FuseElementwise, Float16ChainWithinTheSkippedRoundings) {
  // Four float16 roundings skipped: a few float16 ulps at most.
  Fused f = run(chain(DType::kF16), 4e-3);
  EXPECT_EQ(f.fired, 1);
  EXPECT_EQ(f.g.value("out").type.dtype, DType::kF16);
}

TEST(FuseElementwise, SeveralSinksBecomeSeveralOutputs) {
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {4, 6});
  b.input("y", DType::kF32, {4, 6});
  b.node("Add", {"x", "y"}, {"a"});
  b.node("Exp", {"a"}, {"e"});
  b.node("Less", {"a", "y"}, {"l"});
  b.output("e", DType::kF32);
  b.output("l", DType::kBool);
  Fused f = run(b);
  EXPECT_EQ(f.fired, 1);
  ASSERT_EQ(f.g.nodes.size(), 1u);
  EXPECT_EQ(f.g.nodes[0].outputs, (std::vector<std::string>{"e", "l"}));
}

TEST(FuseElementwise, IntermediateReadOutsideStaysAnOutputOfItsOwn) {
  // a = x + y feeds Softmax too: a is not an intermediate, so Add stays; Mul → Exp still fuse.
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {3, 8});
  b.input("y", DType::kF32, {3, 8});
  b.node("Add", {"x", "y"}, {"a"});
  b.node("Softmax", {"a"}, {"sm"});
  b.node("Mul", {"a", "a"}, {"m"});
  b.node("Exp", {"m"}, {"e"});
  b.node("Add", {"e", "sm"}, {"out"});
  b.output("out", DType::kF32);
  Fused f = run(b);
  EXPECT_EQ(f.fired, 1);
  EXPECT_EQ(count_op(f.g, "Add"), 1);  // x + y, whose result Softmax reads
  EXPECT_EQ(count_op(f.g, "Softmax"), 1);
  EXPECT_EQ(count_op(f.g, "kiln.Pointwise"), 1);
  for (const Node& n : f.g.nodes)
    if (n.op_type == "Pointwise")
      EXPECT_EQ(n.attrs.get_strings("ops"), (std::vector<std::string>{"Mul", "Exp", "Add"}));
}

TEST(FuseElementwise, RefusesWhatWouldChangeMeaning) {
  {  // a graph output in the middle of the chain
    test::ModelBuilder b(17);
    b.input("x", DType::kF32, {3, 5});
    b.node("Relu", {"x"}, {"r"});
    b.node("Exp", {"r"}, {"e"});
    b.output("r", DType::kF32);
    b.output("e", DType::kF32);
    EXPECT_EQ(run(b).fired, 0);
  }
  {  // a broadcast that grows the chain's shape: [1, 5] → [4, 5] inside it
    test::ModelBuilder b(17);
    b.input("x", DType::kF32, {1, 5});
    b.input("y", DType::kF32, {4, 5});
    b.node("Exp", {"x"}, {"e"});
    b.node("Mul", {"e", "y"}, {"m"});
    b.output("m", DType::kF32);
    EXPECT_EQ(run(b).fired, 0);
  }
  for (DType dt : {DType::kF64, DType::kI64, DType::kI32}) {  // types the program does not hold
    SCOPED_TRACE(dtype_name(dt));
    test::ModelBuilder b(17);
    b.input("x", dt, {3, 5});
    b.input("y", dt, {3, 5});
    b.node("Add", {"x", "y"}, {"a"});
    b.node("Mul", {"a", "y"}, {"m"});
    b.output("m", dt);
    EXPECT_EQ(run(b).fired, 0);
  }
  {  // a float64 Cast in the middle splits the chain into two single nodes
    test::ModelBuilder b(17);
    b.input("x", DType::kF32, {3, 5});
    b.node("Exp", {"x"}, {"e"});
    test::set_int_attr(b.node("Cast", {"e"}, {"c"}), "to", 11);
    b.node("Neg", {"c"}, {"n"});
    b.output("n", DType::kF64);
    EXPECT_EQ(run(b).fired, 0);
  }
  {  // one node alone
    test::ModelBuilder b(17);
    b.input("x", DType::kF32, {3, 5});
    b.node("Relu", {"x"}, {"r"});
    b.output("r", DType::kF32);
    EXPECT_EQ(run(b).fired, 0);
  }
}

TEST(FuseElementwise, SplitsAGroupThatAnOutsidePathReenters) {
  // p = -x feeds Exp and Mul; Exp's result goes through Softmax into the Mul: {Neg, Exp, Mul}
  // as one node would read its own output. {Neg, Exp} fuse; the Mul is left alone.
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {2, 7});
  b.node("Neg", {"x"}, {"p"});
  b.node("Exp", {"p"}, {"e"});
  b.node("Softmax", {"e"}, {"s"});
  b.node("Mul", {"p", "s"}, {"out"});
  b.output("out", DType::kF32);
  Fused f = run(b);
  EXPECT_EQ(f.fired, 1);
  EXPECT_EQ(count_op(f.g, "Mul"), 1);
  for (const Node& n : f.g.nodes)
    if (n.op_type == "Pointwise") EXPECT_EQ(n.attrs.get_strings("ops"), (std::vector<std::string>{"Neg", "Exp"}));
}

TEST(FuseElementwise, PartsThatWouldReadEachOther) {
  // One connected group, left through two Softmaxes and re-entered: {Neg, Exp} and
  // {Abs, Sigmoid} come first, each later node is reached from outside; whatever is taken, the
  // fused graph stays acyclic and computes the same.
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {2, 7});
  b.input("y", DType::kF32, {2, 7});
  b.node("Neg", {"x"}, {"p"});
  b.node("Exp", {"p"}, {"e"});
  b.node("Softmax", {"e"}, {"se"});
  b.node("Abs", {"y"}, {"q"});
  b.node("Mul", {"q", "se"}, {"bm"});
  b.node("Sigmoid", {"q"}, {"bs"});
  b.node("Softmax", {"bs"}, {"sb"});
  b.node("Add", {"p", "sb"}, {"ao"});
  b.node("Add", {"ao", "bm"}, {"out"});
  b.output("out", DType::kF32);
  Fused f = run(b);
  EXPECT_GE(f.fired, 1);
  EXPECT_NO_THROW(f.g.sort_topologically());
}

TEST(FuseElementwise, Fp16EngineFusesTheConversionsCasts) {
  Graph g = import_onnx_bytes(chain().bytes(), ".", "m.onnx");
  EngineBuild eb;
  eb.precision = "fp16";
  const PassReport r = optimize_for_engine(g, eb);
  EXPECT_EQ(r.fused.at("fuse_elementwise"), 1);
  // The Casts of x and of the output went into the node; y's [5] is not the chain's shape.
  ASSERT_EQ(count_op(g, "Cast"), 1);
  for (const Node& n : g.nodes)
    if (n.op_type == "Cast") EXPECT_EQ(n.inputs[0], "y");
  ASSERT_EQ(count_op(g, "kiln.Pointwise"), 1);
  EXPECT_EQ(g.value("out").type.dtype, DType::kF32);
  bool recorded = false;
  for (const auto& rec : eb.rewrites) recorded |= rec.pass == "fuse_elementwise";
  EXPECT_TRUE(recorded);
  Graph plain = import_onnx_bytes(chain().bytes(), ".", "m.onnx");
  EngineBuild pb;
  pb.precision = "fp16";
  pb.disabled_passes = {"fuse_elementwise"};
  optimize_for_engine(plain, pb);
  EXPECT_EQ(count_op(plain, "kiln.Pointwise"), 0);
  test::expect_same_outputs(plain, g, test::random_feeds(plain, 5), 4e-3, 4e-3);
}

// A graph converted after the whole pipeline (not what engines do) keeps its Pointwise nodes in
// float32 behind Casts: their comparisons' operands must not round to float16.
TEST(FuseElementwise, ConvertingAFusedGraphKeepsPointwiseFloat32) {
  Fused f = run(chain());
  convert_to_fp16(f.g);
  ASSERT_EQ(count_op(f.g, "kiln.Pointwise"), 1);
  for (const Node& n : f.g.nodes)
    if (n.op_type == "Pointwise")
      for (const auto& v : n.inputs)
        if (v != "m") EXPECT_EQ(f.g.value(v).type.dtype, DType::kF32) << v;
  test::expect_same_outputs(f.plain, f.g, test::random_feeds(f.plain, 8), 1e-6, 1e-6);
}

// Symbolic dims: the same symbol is the same extent, so a chain over [batch, 5] fuses before
// the shapes are known, and the engine's graph specializes and runs for a concrete batch.
TEST(FuseElementwise, SymbolicDimsNamedAlike) {
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {-1, 5});
  b.input("y", DType::kF32, {5});
  b.node("Mul", {"x", "y"}, {"m"});
  b.node("Tanh", {"m"}, {"t"});
  b.node("Sub", {"t", "x"}, {"out"});
  b.output("out", DType::kF32);
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  EngineBuild eb;
  EXPECT_EQ(optimize_for_engine(g, eb).fused.at("fuse_elementwise"), 1);
  Graph s = specialize(g, {{"x", {3, 5}}}, eb, "m.kiln");
  ASSERT_EQ(count_op(s, "kiln.Pointwise"), 1);
  Graph plain = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  EngineBuild pb;
  pb.disabled_passes = {"fuse_elementwise"};
  optimize_for_engine(plain, pb);
  Graph ps = specialize(plain, {{"x", {3, 5}}}, pb, "m.kiln");
  test::expect_same_outputs(ps, s, test::random_feeds(ps, 4), 1e-6, 1e-6);
}

TEST(FuseElementwise, SurvivesTheEngineFile) {
  Fused f = run(chain());
  Engine e = engine_from_bytes(engine_to_bytes(f.g, {"cpu", ""}), "m.kiln");
  ASSERT_EQ(e.graph.nodes.size(), 1u);
  EXPECT_EQ(e.graph.nodes[0].attrs.get_strings("ops"), f.g.nodes[0].attrs.get_strings("ops"));
  EXPECT_EQ(e.graph.nodes[0].attrs.get_ints("args"), f.g.nodes[0].attrs.get_ints("args"));
  const TensorMap feeds = test::random_feeds(f.g, 3);
  EXPECT_TRUE(CpuExecutor(e.graph).run(feeds).at("out").same_bytes(CpuExecutor(f.g).run(feeds).at("out")));
}

// The test models: how many chains become Pointwise nodes and the outputs stay as they were
// (the fused float32 results are the unfused ones but for transcendental functions' last bit).
// `skip`: passes left out of every graph here, so that chains they would take stay elementwise.
void expect_model(const std::string& name, int fused, const std::set<std::string>& skip = {}) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / name;
  ImportOptions import;
  const TensorMap feeds = test::reference_inputs(dir, &import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  std::set<std::string> plain_skip = skip;
  plain_skip.insert("fuse_elementwise");
  run_passes(plain, plain_skip);
  const int fired = run_passes(g, skip).fused.at("fuse_elementwise");
  std::printf("%s: %d Pointwise nodes; nodes %zu -> %zu\n", name.c_str(), fired, plain.nodes.size(), g.nodes.size());
  for (const auto& [op, n] : plain.op_histogram())
    if (g.op_histogram()[op] != n) std::printf("  %-22s %3d -> %3d\n", op.c_str(), n, g.op_histogram()[op]);
  EXPECT_EQ(fired, fused);
  EXPECT_EQ(count_op(g, "kiln.Pointwise"), fired);
  const TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
  for (const auto& [out, t] : want) {
    SCOPED_TRACE(out);
    EXPECT_LE(test::compare_to_golden(got.at(out), t).rel_l2, 1e-6);
  }
  // As an fp16 engine: fused after the conversion, against the unfused fp16 graph and the fp32
  // outputs (the fp16 model tests' bound).
  Graph h = import_onnx_file((dir / "model.onnx").string(), import);
  Graph h_plain = import_onnx_file((dir / "model.onnx").string(), import);
  EngineBuild eb, eb_plain;
  eb.precision = eb_plain.precision = "fp16";
  eb.disabled_passes = skip;
  eb_plain.disabled_passes = plain_skip;
  const int fired16 = optimize_for_engine(h, eb).fused.at("fuse_elementwise");
  optimize_for_engine(h_plain, eb_plain);
  std::printf("%s fp16: %d Pointwise nodes; nodes %zu -> %zu\n", name.c_str(), fired16, h_plain.nodes.size(),
              h.nodes.size());
  for (const auto& [op, n] : h_plain.op_histogram())
    if (h.op_histogram()[op] != n) std::printf("  %-22s %3d -> %3d\n", op.c_str(), n, h.op_histogram()[op]);
  const TensorMap got16 = CpuExecutor(h).run(feeds), want16 = CpuExecutor(h_plain).run(feeds);
  for (const auto& [out, t] : want) {
    SCOPED_TRACE(out);
    const double fused_err = test::compare_to_golden(got16.at(out), t).rel_l2;
    const double unfused_err = test::compare_to_golden(want16.at(out), t).rel_l2;
    std::printf("  %s: fp16 rel L2 to fp32 %.3g fused, %.3g unfused\n", out.c_str(), fused_err, unfused_err);
    EXPECT_LE(fused_err, 1e-2);
  }
}

// fuse_group_norm takes the GroupNorms' Mul/Add/Relu first (mask2former_tiny: 5 of its 10 chains
// then, anchor_detr_tiny: its input projection's), and fuse_attention_keep_mask the masked
// attention's three mask chains: left out here, they stay for this pass.
TEST(FuseElementwise, Mask2FormerTiny) { expect_model("mask2former_tiny", 5, {"fuse_attention_keep_mask"}); }
// fuse_mask_position_embedding takes anchor_detr_tiny's chains (the mask → sine embedding's
// Not/Cast, Sub/Div/Mul, Div/Sin/Cos): none are left; without it, they are 5 Pointwise nodes.
TEST(FuseElementwise, AnchorDetrTiny) { expect_model("anchor_detr_tiny", 0); }
TEST(FuseElementwise, AnchorDetrTinyMaskChains) { expect_model("anchor_detr_tiny", 5, {"fuse_mask_position_embedding"}); }
// The other passes leave SegFormer no elementwise chain: LayerNorm, GELU, the epilogues take all.
TEST(FuseElementwise, SegformerTiny) { expect_model("segformer_tiny", 0); }

}  // namespace
}  // namespace kiln
