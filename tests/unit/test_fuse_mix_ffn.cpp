// fuse_mix_ffn: fires on the float16 form of SegFormer's MixFFN (LayerNorm → fc1 → 3×3 depthwise
// conv + GELU → fc2 + residual) that the pipeline and convert_to_fp16 leave, computes exactly what
// the four nodes did (the CPU reference runs their references), and leaves alone float32 graphs,
// other windows, a residual that is not the LayerNorm's input, an fc1 with an activation, a hidden
// value read elsewhere, LayerNorms over more than the last axis, and widths the kernel lacks.
// fuse_mix_ffn_norm, after it: the stage-end LayerNorm taken into the MixFFN, the same bits, and
// not where the sum is read elsewhere, the LayerNorm spans more axes or writes its statistics,
// or the width is one its kernel lacks.
#include <gtest/gtest.h>

#include "../ops/harness.h"
#include "mix_ffn_block.h"
#include "model_pass_run.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_mix_ffn";

using test::Block;

constexpr const char* kNormPass = "fuse_mix_ffn_norm";

// The graph as an fp16 engine makes it: the pipeline less the after-conversion passes, the
// conversion, then those passes (fuse_mix_ffn where `fuse`, fuse_mix_ffn_norm where `norm`);
// `fired` counts `counted`'s nodes.
Graph fp16_graph(const std::string& bytes, bool fuse, bool norm = false, int* fired = nullptr,
                 const char* counted = kPass) {
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  const auto& late = after_fp16_pass_names();
  PassReport r = run_passes(g, std::set<std::string>(late.begin(), late.end()));
  convert_to_fp16(g);
  if (fuse) run_pass(g, kPass, r, false);
  if (norm) run_pass(g, kNormPass, r, false);
  run_pass(g, "fuse_elementwise", r, false);
  if (fired) *fired = r.fused[counted];
  return g;
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
};

// The fp16 graph with and without the pass (fuse_mix_ffn_norm after fuse_mix_ffn, against
// fuse_mix_ffn alone, where `norm`) on the same random inputs: the same bits.
Outcome run(const Block& e, bool norm = false) {
  const std::string bytes = test::build_mix_ffn_block(e);
  Outcome o;
  Graph fused = fp16_graph(bytes, true, norm, &o.fired, norm ? kNormPass : kPass), plain = fp16_graph(bytes, norm);
  o.ops = fused.op_histogram();
  const TensorMap feeds = test::random_feeds(plain);
  const TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(fused).run(feeds);
  for (const std::string& out : plain.outputs) {
    SCOPED_TRACE(out);
    test::expect_dims(got.at(out), want.at(out).dims());
    test::expect_close(got.at(out), test::to_doubles(want.at(out)), 0.0, 0.0);
  }
  return o;
}

TEST(FuseMixFfn, FusesTheBlockAndKeepsItsBits) {
  const Outcome o = run({});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.ops.at("kiln.MixFFN"), 1);
  EXPECT_EQ(o.ops.at("LayerNormalization"), 1);  // x1's
  EXPECT_EQ(o.ops.at("kiln.FusedMatMul"), 1);    // the projection
  EXPECT_EQ(o.ops.count("kiln.DepthwiseConvNHWC"), 0u);
}

TEST(FuseMixFfn, WidthsAndActivations) {
  EXPECT_EQ(run({.B = 1, .H = 9, .W = 17, .C = 64, .Hd = 256}).fired, 1);
  EXPECT_EQ(run({.B = 1, .H = 3, .W = 4, .C = 128, .Hd = 64}).fired, 1);
  EXPECT_EQ(run({.H = 1, .W = 9}).fired, 1);  // one row: the conv reads zeros above and below
  EXPECT_EQ(run({.gelu = false}).fired, 1);   // no activation between the conv and fc2
}

TEST(FuseMixFfn, LeavesOtherSemanticsAlone) {
  EXPECT_EQ(run({.k = 5, .pad = 2}).fired, 0);                // a 5x5 window
  EXPECT_EQ(run({.pad = 2, .dilation = 2}).fired, 0);         // a dilated one
  EXPECT_EQ(run({.variant = "other residual"}).fired, 0);     // the residual is not x
  EXPECT_EQ(run({.variant = "fc1 relu"}).fired, 0);           // fc1 with an activation
  EXPECT_EQ(run({.variant = "hidden output"}).fired, 0);      // h is read elsewhere
  EXPECT_EQ(run({.variant = "ln axis 1"}).fired, 0);          // LayerNorm over tokens and channels
  EXPECT_EQ(run({.variant = "graph input"}).fired, 0);        // the LayerNorm reads x rounded to fp16
  EXPECT_EQ(run({.C = 40, .Hd = 128}).fired, 0);              // a width the kernel lacks
  EXPECT_EQ(run({.C = 32, .Hd = 96}).fired, 0);               // a hidden width off the 64 chunk
}

TEST(FuseMixFfnNorm, TakesTheStageEndLayerNormAndKeepsItsBits) {
  const Outcome o = run({.C = 64, .Hd = 128, .end = "end"}, true);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.ops.at("kiln.MixFFN"), 1);
  EXPECT_EQ(o.ops.at("LayerNormalization"), 1);  // x1's only
  EXPECT_EQ(run({.B = 1, .H = 3, .W = 4, .C = 128, .Hd = 64, .end = "end"}, true).fired, 1);
}

TEST(FuseMixFfnNorm, LeavesOtherSemanticsAlone) {
  EXPECT_EQ(run({.C = 64, .end = "y output"}, true).fired, 0);  // the sum is a graph output too
  EXPECT_EQ(run({.C = 64, .end = "end axis 1"}, true).fired, 0);  // over tokens and channels
  EXPECT_EQ(run({.C = 64, .end = "end mean"}, true).fired, 0);    // its Mean is read
  EXPECT_EQ(run({.C = 32, .end = "end"}, true).fired, 0);         // a width its kernel lacks
}

TEST(FuseMixFfn, FloatGraphsAreLeftToTheUnfusedNodes) {
  Graph g = import_onnx_bytes(test::build_mix_ffn_block({.end = "end"}), ".", "m.onnx");
  const PassReport r = run_passes(g);
  EXPECT_EQ(r.fused.at(kPass), 0);
  EXPECT_EQ(r.fused.at(kNormPass), 0);
}

// The reference SegFormer-B0 as `kiln build --fp16` makes it: the first two stages' blocks (32 and
// 64 channels) fuse, the wider ones do not; the 64-channel stage's LayerNorm joins its last block.
TEST(FuseMixFfn, FiresOnSegformerB0Fp16) {
  const auto dir = std::filesystem::path(KILN_TEST_DIR) / "models" / "segformer_b0";
  ImportOptions import;
  test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  const auto& late = after_fp16_pass_names();
  PassReport r = run_passes(g, std::set<std::string>(late.begin(), late.end()));
  convert_to_fp16(g);
  run_pass(g, kPass, r, false);
  EXPECT_EQ(r.fused.at(kPass), 4);
  for (const Node& n : g.nodes)
    if (n.op_type == "MixFFN") {
      EXPECT_TRUE(n.name.find("stages.0/") != std::string::npos || n.name.find("stages.1/") != std::string::npos)
          << n.name;
    }
  // fuse_mix_ffn_norm: stage 1's last block (64 channels) takes the stage's LayerNorm; stage 0's
  // (32) keeps it.
  run_pass(g, kNormPass, r, false);
  EXPECT_EQ(r.fused.at(kNormPass), 1);
  for (const Node& n : g.nodes) {
    if (n.op_type == "MixFFN" && n.inputs.size() == 11) {
      EXPECT_NE(n.name.find("stages.1/blocks.1/"), std::string::npos) << n.name;
    }
  }
}

}  // namespace
}  // namespace kiln
