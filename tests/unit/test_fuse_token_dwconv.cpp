// fuse_token_dwconv: fires on the MixFFN token round trip (Transpose → Reshape → depthwise Conv →
// Reshape → Transpose), computes the same numbers as the unfused graph, fires on every MixFFN
// of the SegFormer reference models, and leaves alone every chain that only looks like one.
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "token_conv_chain_model.h"
#include "passes/eliminate_noops.h"
#include "passes/fold_constants.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

using test::Chain;

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
  Graph g;
};

// Runs the pipeline and checks every output of the optimized graph is bit-identical to the
// imported graph's: the CPU kernel accumulates in Conv's order.
Outcome run(const Chain& ch) {
  const std::string bytes = test::build(ch);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  // fuse_dwconv_activation would take the Relu tail; fuse_token_im2col_conv would make the dense
  // convs this pass refuses GEMMs, another order of additions.
  PassReport r = run_passes(g, {"fuse_dwconv_activation", "fuse_token_im2col_conv"});
  TensorMap feeds;
  uint64_t seed = 3;
  for (const std::string& in : plain.inputs)
    feeds[in] = test::random_tensor(ch.dt, shape_dims(*plain.value(in).type.shape), seed++);
  TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
  for (const std::string& out : plain.outputs) {
    EXPECT_EQ(dims_to_string(got.at(out).dims()), dims_to_string(want.at(out).dims())) << out;
    EXPECT_TRUE(got.at(out).same_bytes(want.at(out))) << "the pass changed " << out;
  }
  return {r.fused.at("fuse_token_dwconv"), g.op_histogram(), std::move(g)};
}

TEST(FuseTokenDwconv, ReplacesTheRoundTripByOneNode) {
  Outcome o = run({});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.ops, (std::map<std::string, int>{{"Relu", 1}, {"kiln.DepthwiseConvNHWC", 1}}));
  const Node& n = o.g.nodes.at(0);
  EXPECT_EQ(n.name, "dwconv");
  EXPECT_EQ(n.domain, "kiln");
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"x", "w", "bias"}));
  EXPECT_EQ(n.outputs, (std::vector<std::string>{"t2"}));
  EXPECT_EQ(n.attrs.get_int("height"), 5);
  EXPECT_EQ(n.attrs.get_int("width"), 7);
  EXPECT_FALSE(n.attrs.has("group"));
}

TEST(FuseTokenDwconv, OtherGeometriesAndTypes) {
  EXPECT_EQ(run({.bias = false}).fired, 1);
  EXPECT_EQ(run({.B = 1, .H = 17, .W = 3, .C = 17, .k = 5, .pads = {2, 0, 1, 2}}).fired, 1);
  EXPECT_EQ(run({.H = 9, .W = 8, .strides = {2, 2}}).fired, 1);  // fewer tokens out than in
  EXPECT_EQ(run({.H = 1, .W = 3, .C = 2}).fired, 1);
  // With one token or one channel the Transposes move only unit axes: eliminate_noops makes them
  // Reshapes first and no transpose is left to fold.
  EXPECT_EQ(run({.H = 1, .W = 1, .C = 1}).fired, 0);
  EXPECT_EQ(run({.dt = DType::kF16}).fired, 1);
  // The last Transpose's output may be a graph output: the fused node writes it under its name.
  EXPECT_EQ(run({.as_output = "t2"}).fired, 1);
}

TEST(FuseTokenDwconv, RefusesConvsThatAreNotDepthwise) {
  EXPECT_EQ(run({.group = 1, .w_in = 6}).fired, 0);  // dense 3x3
  EXPECT_EQ(run({.group = 3, .w_in = 2}).fired, 0);  // grouped, 2 channels per group
  // Channel multiplier 2: 12 outputs from 6 channels.
  EXPECT_EQ(run({.m = 12}).fired, 0);
  EXPECT_EQ(run({.constant_weights = false}).fired, 0);
}

TEST(FuseTokenDwconv, RefusesOtherLayouts) {
  // Transposes that are not (0,2,1): x is [N, C, 1] and the chain goes back to it.
  EXPECT_EQ(run({.B = 1, .perm_in = {2, 1, 0}}).fired, 0);
  EXPECT_EQ(run({.B = 1, .perm_out = {2, 1, 0}}).fired, 0);
  // A Reshape that does not split the tokens into the conv's image: channel pairs become rows,
  // so the conv sees 3 channels of 10 x 7.
  EXPECT_EQ(run({.group = 3, .m = 3, .split = {2, 3, 10, 7}}).fired, 0);
  // The tokens of two images as one batch-1 image of twice the height.
  EXPECT_EQ(run({.B = 2, .split = {1, 6, 10, 7}}).fired, 0);
}

TEST(FuseTokenDwconv, RefusesSharedIntermediates) {
  for (const char* v : {"t1", "r1", "c", "r2"}) {
    SCOPED_TRACE(v);
    Outcome shared = run({.second_use = v});
    EXPECT_EQ(shared.fired, 0);
    EXPECT_EQ(shared.ops.at("Conv"), 1);
    EXPECT_EQ(run({.as_output = v}).fired, 0);
  }
}

TEST(FuseTokenDwconv, RefusesDtypesOtherThanFloatAndHalf) { EXPECT_EQ(run({.dt = DType::kF64}).fired, 0); }

// The SegFormer reference models: one fusion per MixFFN, two Transposes, two Reshapes and the
// Conv gone each time, and the outputs as before.
struct ModelRun {
  int fired = 0;
  std::map<std::string, int> before, after;
  TensorMap unfused, fused;
};

ModelRun run_model(const std::string& name, bool execute) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / name;
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(plain, {"fuse_token_dwconv"});  // the pipeline without this pass
  ModelRun r;
  r.fired = run_passes(g).fused.at("fuse_token_dwconv");
  r.before = plain.op_histogram(), r.after = g.op_histogram();
  if (execute) r.unfused = CpuExecutor(plain).run(feeds), r.fused = CpuExecutor(g).run(feeds);
  return r;
}

// Nodes of `op` (none left is 0: the full pipeline leaves SegFormer without a Transpose).
int count(const std::map<std::string, int>& ops, const char* op) { return ops.count(op) ? ops.at(op) : 0; }

void expect_counts(const ModelRun& r, int blocks) {
  EXPECT_EQ(r.fired, blocks);
  EXPECT_EQ(r.after.at("kiln.DepthwiseConvNHWC"), blocks);
  EXPECT_EQ(count(r.before, "Transpose") - count(r.after, "Transpose"), 2 * blocks);
  EXPECT_EQ(count(r.before, "Reshape") - count(r.after, "Reshape"), 2 * blocks);
  EXPECT_EQ(count(r.before, "Conv") - count(r.after, "Conv"), blocks);
}

TEST(FuseTokenDwconv, SegformerTinyEveryMixFfnSameOutputs) {
  ModelRun r = run_model("segformer_tiny", true);
  expect_counts(r, 4);  // depths 1, 1, 1, 1
  const std::filesystem::path golden = std::filesystem::path(KILN_TEST_DIR) / "models" / "segformer_tiny" / "golden";
  const Tensor want = read_npy((golden / "logits.npy").string());
  EXPECT_TRUE(r.fused.at("logits").same_bytes(r.unfused.at("logits")));
  const test::Agreement a = test::compare_to_golden(r.fused.at("logits"), want);
  EXPECT_LE(a.rel_l2, 1e-5);  // the model tests' bound for fp32 against PyTorch
}

TEST(FuseTokenDwconv, SegformerB0EveryMixFfn) {
  expect_counts(run_model("segformer_b0", false), 8);  // depths 2, 2, 2, 2
}

}  // namespace
}  // namespace kiln
