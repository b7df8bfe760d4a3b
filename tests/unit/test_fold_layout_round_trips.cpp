// fold_layout_round_trips: a Reshape/Transpose chain that puts every element back is skipped by
// its readers even where its intermediates have other readers; chains that move elements stay.
#include <gtest/gtest.h>

#include <functional>

#include "../ops/harness.h"
#include "model_pass_run.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

// x [2, 12, 5] (tokens of a 3×4 picture) ─▶ Reshape [2, 3, 4, 5] ─▶ Transpose(to_nchw) ─▶ m;
// m ─Relu─▶ a (the intermediate's other reader); m ─▶ Reshape back ─▶ Transpose(back) ─Neg─▶ b.
struct Chain {
  std::vector<int64_t> to_nchw = {0, 3, 1, 2};
  std::vector<int64_t> flat = {2, 5, 12};
  std::vector<int64_t> back = {0, 2, 1};
  bool b_is_output_of_transpose = false;  // the chain's end itself a graph output
};

std::string model(const Chain& c) {
  test::ModelBuilder b(18);
  b.input("x", DType::kF32, {2, 12, 5}).output("a", DType::kF32).output("b", DType::kF32);
  b.initializer("grid", i64({2, 3, 4, 5})).initializer("flat", i64(c.flat));
  b.node("Reshape", {"x", "grid"}, {"g"});
  test::set_ints_attr(b.node("Transpose", {"g"}, {"m"}), "perm", c.to_nchw);
  b.node("Relu", {"m"}, {"a"});
  b.node("Reshape", {"m", "flat"}, {"f"});
  test::set_ints_attr(b.node("Transpose", {"f"}, {c.b_is_output_of_transpose ? "b" : "t"}), "perm", c.back);
  if (!c.b_is_output_of_transpose) b.node("Neg", {"t"}, {"b"});
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  int transposes = 0;
};

Outcome run(const std::string& bytes) {
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  PassReport r = run_passes(g);
  const Tensor x = test::random_tensor(DType::kF32, {2, 12, 5}, 11);
  const TensorMap want = CpuExecutor(plain).run({{"x", x}}), got = CpuExecutor(g).run({{"x", x}});
  for (const char* out : {"a", "b"}) EXPECT_TRUE(got.at(out).same_bytes(want.at(out))) << out << " changed";
  const auto h = g.op_histogram();
  return {r.fused.at("fold_layout_round_trips"), h.count("Transpose") ? h.at("Transpose") : 0};
}

TEST(FoldLayoutRoundTrips, ReadersOfARoundTripReadItsStart) {
  const Outcome o = run(model({}));
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.transposes, 1);  // the one into NCHW, which Relu still reads
  // Two views with a shared middle (identity perms, which eliminate_noops removes): x again.
  EXPECT_EQ(run(model({.to_nchw = {0, 1, 2, 3}, .flat = {2, 12, 5}, .back = {0, 1, 2}})).fired, 1);
}

// A way back that swaps H and W, or ends in other dims, moves elements.
TEST(FoldLayoutRoundTrips, LeavesChainsThatMoveElements) {
  EXPECT_EQ(run(model({.to_nchw = {0, 3, 2, 1}})).fired, 0);        // NCWH: W and H swapped
  EXPECT_EQ(run(model({.flat = {2, 60}, .back = {1, 0}})).fired, 0);  // [60, 2], not [2, 12, 5]
}

TEST(FoldLayoutRoundTrips, KeepsAGraphOutputsChain) {
  const Outcome o = run(model({.b_is_output_of_transpose = true}));
  EXPECT_EQ(o.fired, 0);
  EXPECT_EQ(o.transposes, 2);
}

// SegFormer: stages 0–2 hand their tokens to the next patch embedding in NCHW and the decode
// head takes them back (three Transposes gone); stage 3's round trip, whose NCHW form only the
// decode head reads, fuse_data_movement would otherwise fold to a Reshape. Seen with the patch
// embeddings left as NCHW Convs (fuse_token_im2col_conv off), which keep the NCHW tensor
// shared; with them on, the trip has one reader left and later passes would fold it as well.
// The outputs stay as before and match the goldens.
TEST(FoldLayoutRoundTrips, FiresOnExportedSegFormers) {
  for (const char* name : {"segformer_b0", "segformer_tiny"}) {
    SCOPED_TRACE(name);
    const test::ModelPassRun r =
        test::run_model_passes(name, {"fold_layout_round_trips", "fuse_token_im2col_conv"}, {"fuse_token_im2col_conv"});
    EXPECT_EQ(r.report.fused.at("fold_layout_round_trips"), 4);
    EXPECT_EQ(r.plain.op_histogram().at("Transpose") - r.fused.op_histogram().at("Transpose"), 3);
    if (std::string(name) == "segformer_tiny") test::expect_logits_kept(r, true);
  }
}

}  // namespace
}  // namespace kiln
