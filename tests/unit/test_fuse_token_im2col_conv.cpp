// fuse_token_im2col_conv: fires on convs whose output goes to the token layout, reading tokens
// through either round trip into the image (or the image itself), on every patch embedding of
// the reference SegFormers; computes what the unfused graph does (a GEMM's order of additions
// instead of the conv's: within float rounding); leaves alone grouped, non-constant, non-2-D and
// pointwise convs, other permutations and reshapes after the Conv, and shared conv outputs.
#include <gtest/gtest.h>


#include "model_pass_run.h"
#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pattern.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_token_im2col_conv";

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

// lead ─▶ r1 [B, C, H, W] ─Conv─▶ c ─Reshape(merge)─▶ r2 ─Transpose(perm_out)─▶ t2 ─Relu─▶ y, with lead
//   "tokens":   x [B, H*W, C] ─Transpose(perm_in)─▶ t1 ─Reshape─▶ r1
//   "stage_end": x [B, H*W, C] ─Reshape [B, H, W, C]─▶ t1 ─Transpose(0,3,1,2)─▶ r1   (HF SegFormer's)
//   "image":    x [B, C, H, W] is r1
// spatial 1 or 3: the image is [B, C, W] or [B, C, D, H, W] (D = H), lead "image" only.
struct Embed {
  int64_t B = 2, H = 9, W = 11, C = 5, Co = 7, kh = 3, kw = 3;
  Dims strides = {2, 2}, pads = {1, 1, 1, 1}, dilations = {1, 1};
  int64_t group = 1;
  std::string lead = "tokens";
  Dims perm_in = {0, 2, 1}, perm_out = {0, 2, 1};
  Dims merge;  // empty: [B, Co, OH*OW]
  int spatial = 2;
  bool bias = true, constant_weights = true;
  DType dt = DType::kF32;
  std::string second_use;  // t1, r1, c or r2 also read by a Relu → graph output "z"
  std::string as_output;   // an intermediate that is also a graph output
};

int64_t out_extent(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
  return (in + pb + pe - (k - 1) * d - 1) / s + 1;
}

std::string build(const Embed& e) {
  test::ModelBuilder b(17);
  b.output("y", e.dt);
  Dims image, kernel, strides = e.strides, dilations = e.dilations, pads = e.pads;
  if (e.spatial == 1) image = {e.B, e.C, e.W}, kernel = {e.kw}, strides = {e.strides[1]}, dilations = {e.dilations[1]},
                      pads = {e.pads[1], e.pads[3]};
  else if (e.spatial == 3) image = {e.B, e.C, e.H, e.H, e.W}, kernel = {e.kh, e.kh, e.kw},
                           strides = {e.strides[0], e.strides[0], e.strides[1]},
                           dilations = {e.dilations[0], e.dilations[0], e.dilations[1]},
                           pads = {e.pads[0], e.pads[0], e.pads[1], e.pads[2], e.pads[2], e.pads[3]};
  else image = {e.B, e.C, e.H, e.W}, kernel = {e.kh, e.kw};
  int64_t P = 1;
  const size_t n = kernel.size();
  for (size_t a = 0; a < n; ++a) P *= out_extent(image[2 + a], kernel[a], strides[a], dilations[a], pads[a], pads[a + n]);

  if (e.lead == "image") {
    b.input("r1", e.dt, image);
  } else if (e.lead == "tokens") {
    const Dims channels = {e.B, e.C, e.H * e.W};  // what Transpose(perm_in) must make
    Dims x(3);
    for (size_t i = 0; i < 3; ++i) x[size_t(e.perm_in[i])] = channels[i];
    b.input("x", e.dt, x);
    test::set_ints_attr(b.node("Transpose", {"x"}, {"t1"}), "perm", e.perm_in);
    b.initializer("split", i64(image));
    b.node("Reshape", {"t1", "split"}, {"r1"});
  } else {
    b.input("x", e.dt, {e.B, e.H * e.W, e.C});
    b.initializer("split", i64({e.B, e.H, e.W, e.C}));
    b.node("Reshape", {"x", "split"}, {"t1"});
    test::set_ints_attr(b.node("Transpose", {"t1"}, {"r1"}), "perm", {0, 3, 1, 2});
  }
  Dims wdims = {e.Co, e.C / e.group};
  wdims.insert(wdims.end(), kernel.begin(), kernel.end());
  const Tensor w = test::random_tensor(e.dt, wdims, 11);
  if (e.constant_weights) b.initializer("w", w);
  else b.input("w", e.dt, w.dims());
  b.initializer("bias", test::random_tensor(e.dt, {e.Co}, 12));
  std::vector<std::string> conv_in = {"r1", "w"};
  if (e.bias) conv_in.push_back("bias");
  onnx::NodeProto& conv = b.node("Conv", conv_in, {"c"});
  conv.set_name("patch_embed");
  test::set_int_attr(conv, "group", e.group);
  test::set_ints_attr(conv, "kernel_shape", kernel);
  test::set_ints_attr(conv, "strides", strides);
  test::set_ints_attr(conv, "dilations", dilations);
  test::set_ints_attr(conv, "pads", pads);
  b.initializer("merge", i64(e.merge.empty() ? Dims{e.B, e.Co, P} : e.merge));
  b.node("Reshape", {"c", "merge"}, {"r2"});
  test::set_ints_attr(b.node("Transpose", {"r2"}, {"t2"}), "perm", e.perm_out);
  b.node("Relu", {"t2"}, {"y"});
  if (!e.second_use.empty()) {
    b.node("Relu", {e.second_use}, {"z"});
    b.output("z", e.dt);
  }
  if (!e.as_output.empty()) b.output(e.as_output, e.dt);
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
};

// The pipeline with and without the pass on the same random inputs.
Outcome run(const Embed& e) {
  const std::string bytes = build(e);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {kPass});
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  PassReport r = run_passes(g);
  TensorMap feeds;
  uint64_t seed = 3;
  for (const std::string& in : plain.inputs)
    feeds[in] = test::random_tensor(e.dt, shape_dims(*plain.value(in).type.shape), seed++);
  TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
  for (const std::string& out : plain.outputs) {
    SCOPED_TRACE(out);
    test::expect_dims(got.at(out), want.at(out).dims());
    // Up to 147 products of numbers in [-1, 1] per output in another order: a few float ulps of
    // the partial sums (fp16 storage: half an fp16 ulp more).
    if (e.dt == DType::kF16) test::expect_close(got.at(out), test::to_doubles(want.at(out)), 2e-3, 2e-3);
    else test::expect_close(got.at(out), test::to_doubles(want.at(out)), 1e-5, 1e-6);
  }
  return {r.fused.at(kPass), g.op_histogram()};
}

TEST(FuseTokenIm2ColConv, RewritesTheRoundTripAsAGatherAndOneGemm) {
  // The gather reads the tokens, the GEMM takes the bias and the Relu (fuse_matmul_epilogue).
  const std::map<std::string, int> fused = {{"kiln.Im2ColTokens", 1}, {"kiln.FusedMatMul", 1}};
  for (const char* lead : {"tokens", "stage_end", "image"}) {
    SCOPED_TRACE(lead);
    Outcome o = run({.lead = lead});
    EXPECT_EQ(o.fired, 1);
    EXPECT_EQ(o.ops, fused);
  }
}

TEST(FuseTokenIm2ColConv, PatchEmbeddingGeometries) {
  // SegFormer's first embedding: 7x7 stride 4 pads 3 on a 3-channel picture.
  EXPECT_EQ(run({.H = 17, .W = 23, .C = 3, .Co = 8, .kh = 7, .kw = 7, .strides = {4, 4}, .pads = {3, 3, 3, 3},
                 .lead = "image"})
                .fired,
            1);
  EXPECT_EQ(run({.C = 16, .lead = "stage_end"}).fired, 1);                          // 3x3 stride 2 on tokens, C 16
  EXPECT_EQ(run({.dilations = {2, 2}, .lead = "stage_end"}).fired, 1);                // dilation 2
  EXPECT_EQ(run({.kh = 5, .kw = 3, .strides = {1, 3}, .pads = {0, 2, 3, 1}}).fired, 1);  // asymmetric
  EXPECT_EQ(run({.B = 1, .bias = false}).fired, 1);
  EXPECT_EQ(run({.dt = DType::kF16}).fired, 1);
  EXPECT_EQ(run({.lead = "image", .dt = DType::kF16}).fired, 1);
  // kernel = stride, unpadded, on a picture that does not tile: not fuse_token_patch_conv's.
  EXPECT_EQ(run({.H = 9, .W = 10, .kh = 2, .kw = 2, .pads = {0, 0, 0, 0}}).fired, 1);
  EXPECT_EQ(run({.as_output = "t2"}).fired, 1);
}

TEST(FuseTokenIm2ColConv, LeavesExactTilingsToFuseTokenPatchConv) {
  const std::string bytes = build({.H = 8, .W = 10, .kh = 2, .kw = 2, .pads = {0, 0, 0, 0}});
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  PassReport r = run_passes(g);
  EXPECT_EQ(r.fused.at("fuse_token_patch_conv"), 1);
  EXPECT_EQ(r.fused.at(kPass), 0);
  Graph h = import_onnx_bytes(bytes, ".", "m.onnx");
  EXPECT_EQ(run_passes(h, {"fuse_token_patch_conv"}).fused.at(kPass), 1);  // --disable-pass hands it over
}

// The round trip into the image read elsewhere too: the gather still reads the tokens, and the
// round trip stays for its other reader.
TEST(FuseTokenIm2ColConv, ReadsTheTokensWhenTheImageIsShared) {
  for (const char* lead : {"tokens", "stage_end"})
    for (const char* v : {"t1", "r1"}) {
      SCOPED_TRACE(std::string(lead) + " " + v);
      Outcome o = run({.lead = lead, .second_use = v});
      EXPECT_EQ(o.fired, 1);
      EXPECT_EQ(o.ops.at("kiln.Im2ColTokens"), 1);
      // The Transpose stays unless only the stage end's Reshape is read elsewhere.
      EXPECT_EQ(o.ops.count("Transpose"), std::string(lead) == "tokens" || std::string(v) == "r1" ? 1u : 0u);
      EXPECT_EQ(run({.lead = lead, .as_output = v}).fired, 1);
    }
}

TEST(FuseTokenIm2ColConv, ReadsTheImageBehindAnotherPermutation) {
  Outcome o = run({.perm_in = {1, 0, 2}});  // x [C, B, N]: not tokens; the image is what the gather reads
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.ops.at("Transpose"), 1);
}

TEST(FuseTokenIm2ColConv, RefusesWhatIsNotADenseConvToTokens) {
  EXPECT_EQ(run({.C = 6, .Co = 8, .group = 2}).fired, 0);                       // grouped
  EXPECT_EQ(run({.C = 7, .Co = 7, .group = 7}).fired, 0);              // depthwise (fuse_token_dwconv's)
  EXPECT_EQ(run({.lead = "image", .constant_weights = false}).fired, 0);
  EXPECT_EQ(run({.perm_out = {1, 0, 2}}).fired, 0);                    // another permutation after
  EXPECT_EQ(run({.merge = {2, 7 * 5, 6}}).fired, 0);                   // [B, Co*OH, OW], not [B, Co, P]
  EXPECT_EQ(run({.lead = "image", .spatial = 1}).fired, 0);            // 1-D
  EXPECT_EQ(run({.H = 5, .W = 6, .lead = "image", .spatial = 3}).fired, 0);  // 3-D
  EXPECT_EQ(run({.kh = 1, .kw = 1, .strides = {1, 1}, .pads = {0, 0, 0, 0}}).fired, 0);  // pointwise
  EXPECT_EQ(run({.dt = DType::kF64}).fired, 0);
  for (const char* v : {"c", "r2"}) {  // the conv's output or its flatten read elsewhere
    SCOPED_TRACE(v);
    EXPECT_EQ(run({.second_use = v}).fired, 0);
    EXPECT_EQ(run({.as_output = v}).fired, 0);
  }
}

// Every patch embedding of the reference SegFormers (4 each): no Conv left in the encoder, no
// Transpose next to the gathers or after the GEMMs (each stage-end round trip goes too:
// fuse_data_movement folds the decode head's read of it back to the tokens), the outputs as
// before and, for segformer_tiny, against its goldens.
TEST(FuseTokenIm2ColConv, FiresOnExportedSegFormers) {
  for (const char* name : {"segformer_b0", "segformer_tiny"}) {
    SCOPED_TRACE(name);
    // fuse_patch_embed_tokens would merge the picture's gather into its GEMM.
    const test::ModelPassRun r = test::run_model_passes(name, {kPass}, {"fuse_patch_embed_tokens"});
    const Graph& g = r.fused;
    EXPECT_EQ(r.report.fused.at(kPass), 4);
    const auto before = r.plain.op_histogram(), after = g.op_histogram();
    EXPECT_EQ(before.at("Conv") - (after.count("Conv") ? after.at("Conv") : 0), 4);
    EXPECT_EQ(after.at("kiln.Im2ColTokens"), 4);
    // 4 after the embeddings, 3 at the stage ends (the last was already folded away), 3 in the
    // decode head reading those.
    EXPECT_EQ(before.at("Transpose") - (after.count("Transpose") ? after.at("Transpose") : 0), 4 + 3 + 3);
    const GraphIndex idx(g);
    for (const Node& n : g.nodes) {
      if (!is_kiln_op(&n, "Im2ColTokens")) continue;
      SCOPED_TRACE(n.name);
      EXPECT_FALSE(is_op(idx.producer(n.inputs[0]), "Transpose"));
      const Node* gemm = idx.sole_consumer(n.outputs[0]);
      ASSERT_TRUE(is_kiln_op(gemm, "FusedMatMul"));
      for (const Node* reader : idx.consumers(gemm->outputs[0])) EXPECT_NE(reader->op_type, "Transpose");
    }
    test::expect_logits_kept(r, std::string(name) == "segformer_tiny");
  }
}

}  // namespace
}  // namespace kiln
