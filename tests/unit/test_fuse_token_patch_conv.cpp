// fuse_token_patch_conv: fires on the sequence-reduction round trip (Transpose → Reshape →
// kernel = stride Conv → Reshape → Transpose) and on every reduction of the SegFormer reference
// models, computes what the unfused graph does (a GEMM's order of additions instead of the
// conv's: within float rounding), and leaves alone every conv that is not an exact tiling.
#include <gtest/gtest.h>


#include "model_pass_run.h"
#include "../ops/harness.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "token_conv_chain_model.h"

namespace kiln {
namespace {

// A dense 2x2 stride-2 conv over a 6x8 picture of 6 channels, 10 out: SegFormer's reduction.
test::Chain patch(test::Chain c = {}) {
  c.H = 6, c.W = 8, c.C = 6;
  c.group = 1, c.w_in = 6, c.m = 10, c.k = 2;
  c.strides = {2, 2}, c.pads = {0, 0, 0, 0};
  return c;
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
};

// The pipeline with and without the pass on the same random inputs.
Outcome run(const test::Chain& ch) {
  const std::string bytes = test::build(ch);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_token_patch_conv"});
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  PassReport r = run_passes(g);
  TensorMap feeds;
  uint64_t seed = 3;
  for (const std::string& in : plain.inputs)
    feeds[in] = test::random_tensor(ch.dt, shape_dims(*plain.value(in).type.shape), seed++);
  TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
  for (const std::string& out : plain.outputs) {
    SCOPED_TRACE(out);
    test::expect_dims(got.at(out), want.at(out).dims());
    // 24 products per output in another order: a few float ulps (fp16 storage: half an ulp more).
    if (ch.dt == DType::kF16) test::expect_close(got.at(out), test::to_doubles(want.at(out)), 1e-3, 1e-3);
    else test::expect_close(got.at(out), test::to_doubles(want.at(out)), 1e-6, 1e-6);
  }
  return {r.fused.at("fuse_token_patch_conv"), g.op_histogram()};
}

TEST(FuseTokenPatchConv, RewritesTheRoundTripAsAGatherAndOneGemm) {
  Outcome o = run(patch());
  EXPECT_EQ(o.fired, 1);
  // One row gather, its two Reshapes (aliases), and the GEMM with the bias and the Relu after it
  // (fuse_matmul_epilogue).
  EXPECT_EQ(o.ops, (std::map<std::string, int>{{"Reshape", 2}, {"Transpose", 1}, {"kiln.FusedMatMul", 1}}));
}

TEST(FuseTokenPatchConv, OtherGeometriesAndTypes) {
  EXPECT_EQ(run(patch({.bias = false})).fired, 1);
  EXPECT_EQ(run(patch({.B = 1})).fired, 1);
  EXPECT_EQ(run(patch({.dt = DType::kF16})).fired, 1);
  test::Chain k3 = patch();  // 3x3 windows over 9x6
  k3.H = 9, k3.W = 6, k3.k = 3, k3.strides = {3, 3};
  EXPECT_EQ(run(k3).fired, 1);
  EXPECT_EQ(run(patch({.as_output = "t2"})).fired, 1);
}

TEST(FuseTokenPatchConv, RefusesConvsThatDoNotTileThePicture) {
  test::Chain c = patch();
  c.strides = {1, 1};  // overlapping windows
  EXPECT_EQ(run(c).fired, 0);
  c = patch();
  c.pads = {0, 0, 1, 1};  // padded
  EXPECT_EQ(run(c).fired, 0);
  c = patch();
  c.H = 7;  // the conv drops the last row
  EXPECT_EQ(run(c).fired, 0);
  c = patch();
  c.group = 2, c.w_in = 3;  // grouped
  EXPECT_EQ(run(c).fired, 0);
  c = patch();
  c.k = 1, c.strides = {1, 1};  // pointwise: not a patch embedding
  EXPECT_EQ(run(c).fired, 0);
  EXPECT_EQ(run(patch({.constant_weights = false})).fired, 0);
  EXPECT_EQ(run(patch({.dt = DType::kF64})).fired, 0);
}

TEST(FuseTokenPatchConv, RefusesSharedIntermediates) {
  for (const char* v : {"t1", "r1", "c", "r2"}) {
    SCOPED_TRACE(v);
    EXPECT_EQ(run(patch({.second_use = v})).fired, 0);
    EXPECT_EQ(run(patch({.as_output = v})).fired, 0);
  }
}

// Every sequence reduction of the reference SegFormers (stages with sr_ratio > 1), and
// segformer_tiny's outputs as before and against its goldens.
TEST(FuseTokenPatchConv, FiresOnExportedSegFormers) {
  for (auto [name, reductions] : {std::pair<const char*, int>{"segformer_b0", 6}, {"segformer_tiny", 3}}) {
    SCOPED_TRACE(name);
    // Without fuse_token_im2col_conv on either side: it would take the reductions left to it.
    const test::ModelPassRun r =
        test::run_model_passes(name, {"fuse_token_patch_conv", "fuse_token_im2col_conv"}, {"fuse_token_im2col_conv"});
    EXPECT_EQ(r.report.fused.at("fuse_token_patch_conv"), reductions);
    EXPECT_EQ(r.plain.op_histogram().at("Conv") - r.fused.op_histogram().at("Conv"), reductions);
    if (std::string(name) == "segformer_tiny") test::expect_logits_kept(r, true);
  }
}

}  // namespace
}  // namespace kiln
