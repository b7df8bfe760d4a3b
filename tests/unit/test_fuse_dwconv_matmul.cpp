// fuse_dwconv_matmul (fp16 engines, after convert_to_fp16 and fuse_mix_ffn; Hopper only): fires on
// the float16 depthwise conv (+ GELU) and residual fc2 of a MixFFN that fuse_mix_ffn leaves (320
// channels, SegFormer-B2's stage 2); the fused graph computes the unfused one's bits
// (DwConvMatMul's reference runs the pair's references); and it leaves alone float32 graphs,
// other windows, a conv output read elsewhere, fc2 without a residual, widths the kernel lacks
// and grids of fewer than kDwConvMatMulMinTiles tiles.
#include <gtest/gtest.h>

#include <algorithm>

#include "fusion_test_util.h"
#include "mix_ffn_block.h"
#include "onnx/importer.h"
#include "ops/conv/dwconv_matmul.h"
#include "passes/fuse_dwconv_matmul.h"
#include "passes/pipeline.h"
#include "runtime/specialize.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_dwconv_matmul";
constexpr const char* kFused = "kiln.DwConvMatMul";

using test::Block;

// 128 tiles of 8 x 16 tokens: the smallest grid the pass takes, 320 channels.
constexpr Block kStage2 = {.B = 2, .H = 8, .W = 1024, .C = 320, .Hd = 64};

// How often the pass fired; the fused and unfused graphs give the same bits.
int fired(const Block& e) {
  const std::string bytes = test::build_mix_ffn_block(e);
  int n = 0;
  const Graph fused = test::fp16_engine_graph(bytes, kPass, true, &n), plain = test::fp16_engine_graph(bytes, kPass, false);
  test::expect_same_bits(plain, fused, 40);
  return n;
}

TEST(FuseDwConvMatMul, FusesTheConvAndFc2AndKeepsTheirBits) {
  const std::string bytes = test::build_mix_ffn_block(kStage2);
  const Graph plain = test::fp16_engine_graph(bytes, kPass, false);
  ASSERT_EQ(test::count_op(plain, "kiln.DepthwiseConvNHWC"), 1);
  const Node* dw = nullptr;
  for (const Node& n : plain.nodes)
    if (n.op_type == "DepthwiseConvNHWC") dw = &n;
  const Node* fc2 = nullptr;
  for (const Node& n : plain.nodes)
    if (n.op_type == "FusedMatMul" && n.inputs[0] == dw->outputs[0]) fc2 = &n;
  ASSERT_NE(fc2, nullptr);
  ASSERT_EQ(fc2->inputs.size(), 4u);  // bias and the residual
  Graph g = plain;
  ASSERT_EQ(fuse_dwconv_matmul(g), 1);
  EXPECT_EQ(g.nodes.size(), plain.nodes.size() - 1);
  EXPECT_EQ(test::count_op(g, "kiln.DepthwiseConvNHWC"), 0);
  EXPECT_EQ(test::count_op(g, kFused), 1);
  const Node* n = nullptr;
  for (const Node& m : g.nodes)
    if (m.op_type == conv::kDwConvMatMulOp) n = &m;
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->domain, kKilnDomain);
  EXPECT_EQ(n->name, fc2->name);
  EXPECT_EQ(n->outputs, fc2->outputs);
  EXPECT_EQ(n->inputs, (std::vector<std::string>{dw->inputs[0], dw->inputs[1], dw->inputs[2], fc2->inputs[1],
                                                 fc2->inputs[2], fc2->inputs[3]}));
  EXPECT_EQ(n->attrs.get_int("height"), 8);
  EXPECT_EQ(n->attrs.get_int("width"), 1024);
  EXPECT_EQ(n->attrs.get_string("activation"), "gelu");
  EXPECT_EQ(g.value(n->inputs[5]).type.dtype, DType::kF32);  // the residual stream's island
  EXPECT_EQ(fuse_dwconv_matmul(g), 0);                        // nothing left to fuse
  test::expect_same_bits(plain, g, 41);
}

TEST(FuseDwConvMatMul, FormsItTakes) {
  EXPECT_EQ(fired(kStage2), 1);
  EXPECT_EQ(fired({.B = 1, .H = 16, .W = 1010, .C = 320, .Hd = 128, .gelu = false}), 1);  // 2 x 64 tiles, the last 2 wide
  EXPECT_EQ(fired({.B = 2, .H = 8, .W = 1024, .C = 320, .Hd = 64, .variant = "other residual"}), 1);
}

TEST(FuseDwConvMatMul, LeavesOtherSemanticsAndWidthsAlone) {
  EXPECT_EQ(fired({.B = 2, .H = 8, .W = 1024, .C = 320, .Hd = 64, .k = 5, .pad = 2}), 0);             // 5x5 window
  EXPECT_EQ(fired({.B = 2, .H = 8, .W = 1024, .C = 320, .Hd = 64, .pad = 2, .dilation = 2}), 0);    // dilated
  EXPECT_EQ(fired({.B = 2, .H = 8, .W = 1024, .C = 320, .Hd = 64, .variant = "conv output"}), 0);  // D read elsewhere
  EXPECT_EQ(fired({.B = 2, .H = 8, .W = 1024, .C = 256, .Hd = 64}), 0);  // a width the kernel lacks
  EXPECT_EQ(fired({.B = 2, .H = 8, .W = 1024, .C = 320, .Hd = 96}), 0);  // Hd off the 64 chunk
  EXPECT_EQ(fired({.B = 1, .H = 8, .W = 2032, .C = 320, .Hd = 64}), 0);  // 127 tiles: too small a grid
}

// A late pass: fp16 engines run it after the conversion and after fuse_mix_ffn, on Hopper only;
// the float32 pipeline leaves the pair.
TEST(FuseDwConvMatMul, RunsAfterFp16AndMixFfnOnHopperOnly) {
  const auto& late = after_fp16_pass_names();
  EXPECT_EQ(std::count(rewrite_pass_names().begin(), rewrite_pass_names().end(), kPass), 1);
  const auto at = std::find(late.begin(), late.end(), kPass);
  ASSERT_NE(at, late.end());
  EXPECT_LT(std::find(late.begin(), late.end(), "fuse_mix_ffn"), at);
  EXPECT_EQ(hopper_only_pass_names().count(kPass), 1u);
  Graph f32 = import_onnx_bytes(test::build_mix_ffn_block(kStage2), ".", "m.onnx");
  EXPECT_EQ(run_passes(f32).fused.at(kPass), 0);
  EXPECT_EQ(test::count_op(f32, "kiln.DepthwiseConvNHWC"), 1);
}

}  // namespace
}  // namespace kiln
