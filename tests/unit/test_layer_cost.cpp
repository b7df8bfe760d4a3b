#include <gtest/gtest.h>

#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "runtime/layer_cost.h"

namespace kiln {
namespace {

// One-node graphs with the shapes written out, so every figure below is hand-computed.
struct G {
  Graph g;
  G& v(const std::string& name, DType dt, const Dims& dims) {
    g.values[name] = Value{name, ValueType{dt, shape_of(dims)}, std::nullopt};
    return *this;
  }
  G& c(const std::string& name, const Tensor& t) {
    g.values[name] = Value{name, ValueType{t.dtype(), shape_of(t.dims())}, t};
    return *this;
  }
  Node& node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
    Node n;
    n.name = "n" + std::to_string(g.nodes.size());
    n.op_type = op;
    n.opset = 17;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    g.nodes.push_back(std::move(n));
    return g.nodes.back();
  }
  LayerCost cost() const { return layer_cost(g, g.nodes.back()); }
};

constexpr DType F32 = DType::kF32, F16 = DType::kF16, I64 = DType::kI64;

void expect_cost(const LayerCost& c, double flops, double bytes) {
  EXPECT_DOUBLE_EQ(c.flops, flops);
  EXPECT_DOUBLE_EQ(c.bytes, bytes);
}

TEST(LayerCost, MatMulBroadcastsBatchesAndHandlesVectors) {
  G m;  // [2,1,3,4] x [5,4,6] -> [2,5,3,6]: 180 outputs, K = 4
  m.v("a", F32, {2, 1, 3, 4}).v("b", F32, {5, 4, 6}).v("y", F32, {2, 5, 3, 6});
  m.node("MatMul", {"a", "b"}, {"y"});
  expect_cost(m.cost(), 2.0 * 180 * 4, (24 + 120 + 180) * 4.0);

  G v1;  // [4] x [4,6] -> [6]
  v1.v("a", F32, {4}).v("b", F32, {4, 6}).v("y", F32, {6});
  v1.node("MatMul", {"a", "b"}, {"y"});
  EXPECT_DOUBLE_EQ(v1.cost().flops, 48);
  G v2;  // [3,4] x [4] -> [3]
  v2.v("a", F32, {3, 4}).v("b", F32, {4}).v("y", F32, {3});
  v2.node("MatMul", {"a", "b"}, {"y"});
  EXPECT_DOUBLE_EQ(v2.cost().flops, 24);
}

TEST(LayerCost, FusedAttentionCountsBothProductsAndTheSoftmax) {
  G m;  // B 2·3, Nq 5, Nk 7, d 8, dv 6: 210 scores, each 2·8 + 2·6 + 5 flops; fp16
  m.v("q", F16, {2, 3, 5, 8}).v("k", F16, {2, 3, 7, 8}).v("v", F16, {2, 3, 7, 6}).v("y", F16, {2, 3, 5, 6});
  Node& n = m.node("Attention", {"q", "k", "v"}, {"y"});
  n.domain = "kiln";
  expect_cost(m.cost(), 210.0 * (16 + 12 + 5), (240 + 336 + 252 + 180) * 2.0);
}

TEST(LayerCost, SeqFirstAttentionCountsTheSameWork) {
  G m;  // as above with every tensor [B, S, H, D]: Nk is K's axis 1
  m.v("q", F16, {2, 5, 3, 8}).v("k", F16, {2, 7, 3, 8}).v("v", F16, {2, 7, 3, 6}).v("y", F16, {2, 5, 3, 6});
  Node& n = m.node("Attention", {"q", "k", "v"}, {"y"});
  n.domain = "kiln";
  n.attrs.set("seq_first", std::vector<int64_t>{1, 1, 1, 1});
  expect_cost(m.cost(), 210.0 * (16 + 12 + 5), (240 + 336 + 252 + 180) * 2.0);
}

TEST(LayerCost, PackedKvAttentionCountsTheSameWork) {
  G m;  // B 2, H 3, Nq 5, Nk 7, d = dv 8, K and V packed [2, 7, 6, 8]: 210 scores, each 2·8 + 2·8 + 5 flops
  m.v("q", F16, {2, 5, 3, 8}).v("kv", F16, {2, 7, 6, 8}).v("y", F16, {2, 5, 3, 8});
  Node& n = m.node("Attention", {"q", "kv", ""}, {"y"});
  n.domain = "kiln";
  n.attrs.set("seq_first", std::vector<int64_t>{1, 1, 1, 1});
  n.attrs.set("packed_kv", int64_t(1));
  expect_cost(m.cost(), 210.0 * (16 + 16 + 5), (240 + 336 + 336 + 240) * 2.0);  // Q, K and V, O
}

TEST(LayerCost, MsDeformAttnCountsFourTapsAndAWeightPerPoint) {
  G m;  // B 1, S 20, H 2, D 8, Q 5, L 2, P 3: 60 points, each 4 taps + 1 weight over 8 channels; fp32
  m.v("v", F32, {1, 20, 2, 8}).c("s", Tensor(DType::kI64, {2, 2})).c("i", Tensor(DType::kI64, {2}));
  m.v("l", F32, {1, 5, 2, 2, 3, 2}).v("w", F32, {1, 5, 2, 2, 3}).v("y", F32, {1, 5, 16});
  m.node("MSDeformAttn", {"v", "s", "i", "l", "w"}, {"y"}).domain = "kiln";
  expect_cost(m.cost(), 60.0 * 8 * 10, (320 + 120 + 60 + 80) * 4.0 + (4 + 2) * 8.0);
}

TEST(LayerCost, RowColumnReadCountsBothProducts) {
  G m;  // 2 heads, L 5, H 3, W 4, D 6: each of the 60 outputs sums 3·4 weighted values; fp16
  m.v("c", F16, {2, 5, 3}).v("r", F16, {2, 5, 4}).v("v", F16, {2, 3, 24}).v("y", F16, {2, 5, 6});
  m.node("RowColumnRead", {"c", "r", "v"}, {"y"}).domain = "kiln";
  expect_cost(m.cost(), 2.0 * 60 * 12, (30 + 40 + 144 + 60) * 2.0);
}

TEST(LayerCost, PatchEmbedTokensCountsTheGemmAndBias) {
  G m;  // picture [1, 3, 8, 8] fp32, 3×3 windows → 16 tokens × 4 channels; W [27, 4] fp16
  m.v("x", F32, {1, 3, 8, 8}).v("w", F16, {27, 4}).v("b", F32, {4}).v("y", F32, {1, 16, 4});
  m.node("PatchEmbedTokens", {"x", "w", "b"}, {"y"}).domain = "kiln";
  expect_cost(m.cost(), 2.0 * 64 * 27 + 64, 192 * 4.0 + 108 * 2.0 + 4 * 4.0 + 64 * 4.0);
}

TEST(LayerCost, TokenConvCountsTheGemmAndBias) {
  G m;  // tokens [2, 8·8, 64] fp16, 3×3 stride 2 → 2 × 16 tokens × 128 channels; W [576, 128] fp16
  m.v("x", F16, {2, 64, 64}).v("w", F16, {576, 128}).v("b", F32, {128}).v("y", F32, {2, 16, 128});
  m.node("TokenConv", {"x", "w", "b"}, {"y"}).domain = "kiln";
  expect_cost(m.cost(), 2.0 * 4096 * 576 + 4096, 8192 * 2.0 + 73728 * 2.0 + 128 * 4.0 + 4096 * 4.0);
}

TEST(LayerCost, MixFfnCountsItsFourStages) {
  G m;  // 2 x 3 tokens of 4 channels fp32, Hd 8: LN 5·C, fc1 (2C + 1)·Hd, conv (18 + 2)·Hd, fc2 (2Hd + 2)·C
  m.v("x", F32, {1, 6, 4}).v("s", F16, {4}).v("bn", F16, {4}).v("w1", F16, {4, 8}).v("b1", F16, {8});
  m.v("wd", F16, {8, 1, 3, 3}).v("bd", F16, {8}).v("w2", F16, {8, 4}).v("b2", F32, {4}).v("y", F32, {1, 6, 4});
  Node& n = m.node("MixFFN", {"x", "s", "bn", "w1", "b1", "wd", "bd", "w2", "b2"}, {"y"});
  n.domain = "kiln";
  n.attrs.set("activation", std::string("gelu"));
  expect_cost(m.cost(), 6.0 * (5 * 4 + 9 * 8 + 20 * 8 + 18 * 4),
              (24 + 24) * 4.0 + (4 + 4 + 32 + 8 + 72 + 8 + 32) * 2.0 + 4 * 4.0);
}

TEST(LayerCost, DwConvMatMulCountsTheConvAndTheGemm) {
  G m;  // 6 tokens of Hd 8 fp16 → C 4 fp32: conv (18 + 1 + 1)·Hd, fc2 2·Hd·C, bias and residual 2·C
  m.v("h", F16, {1, 6, 8}).v("wd", F16, {8, 1, 3, 3}).v("bd", F16, {8}).v("w", F16, {8, 4}).v("b", F32, {4});
  m.v("x", F32, {1, 6, 4}).v("y", F32, {1, 6, 4});
  Node& n = m.node("DwConvMatMul", {"h", "wd", "bd", "w", "b", "x"}, {"y"});
  n.domain = "kiln";
  n.attrs.set("activation", std::string("gelu"));
  expect_cost(m.cost(), 6.0 * (20 * 8 + 64 + 8), (48 + 72 + 8 + 32) * 2.0 + (4 + 24 + 24) * 4.0);
}

TEST(LayerCost, AttentionBlockCountsItsFourStages) {
  G m;  // 2 x 5 tokens of C 4 fp32, 3 keys of one head: LN 5·C, Q (2C + 1)·C, attention Nk·(4D + 5), out (2C + 2)·C
  m.v("x", F32, {2, 5, 4}).v("s", F16, {4}).v("bn", F16, {4}).v("wq", F16, {4, 4}).v("bq", F16, {4});
  m.v("kv", F16, {2, 3, 2, 4}).v("wo", F16, {4, 4}).v("bo", F32, {4}).v("y", F32, {2, 5, 4});
  m.node("AttentionBlock", {"x", "s", "bn", "wq", "bq", "kv", "wo", "bo"}, {"y"}).domain = "kiln";
  expect_cost(m.cost(), 10.0 * (5 * 4 + 9 * 4 + 3 * 21 + 10 * 4),
              (40 + 40) * 4.0 + (4 + 4 + 16 + 4 + 48 + 16) * 2.0 + 4 * 4.0);
}

TEST(LayerCost, SequenceReductionCountsItsFourStages) {
  G m;  // 4 x 4 tokens of C 4 fp32 in 2 x 2 patches: LN 5 per token value; per patch row the
        // reduction (2·16 + 1)·C, LN 5·C, K/V (2C + 1)·N2 with N2 8
  m.v("x", F32, {1, 16, 4}).v("s1", F16, {4}).v("b1", F16, {4}).v("w", F16, {16, 4}).v("br", F16, {4});
  m.v("s2", F16, {4}).v("b2", F16, {4}).v("wkv", F16, {4, 8}).v("bkv", F16, {8}).v("kv", F16, {1, 4, 8});
  m.node("SequenceReduction", {"x", "s1", "b1", "w", "br", "s2", "b2", "wkv", "bkv"}, {"kv"}).domain = "kiln";
  expect_cost(m.cost(), 5.0 * 64 + 4.0 * (33 * 4 + 5 * 4 + 9 * 8),
              64 * 4.0 + (4 + 4 + 64 + 4 + 4 + 4 + 32 + 8 + 32) * 2.0);
}

TEST(LayerCost, ResizeSumConvCountsItsConv) {
  G m;  // two fp16 maps of C 64 summed at 4 x 5, then 19 classes with an fp32 bias and output
  m.v("t", F16, {1, 20, 64}).v("x", F16, {1, 64, 2, 3}).v("w", F16, {19, 64, 1, 1}).v("b", F32, {19});
  m.v("y", F32, {1, 19, 4, 5});
  m.node("ResizeSumConv", {"t", "x", "w", "b"}, {"y"}).domain = "kiln";
  expect_cost(m.cost(), 2.0 * 380 * 64 + 380, (1280 + 384 + 1216) * 2.0 + (19 + 380) * 4.0);
}

TEST(LayerCost, ResizeSumConvCountsItsProjection) {
  G m;  // as above, the identity t' computed from 32-channel tokens s: + 2·20·32·64 for s · Wp
  m.v("s", F16, {1, 20, 32}).v("x", F16, {1, 64, 2, 3}).v("w", F16, {19, 64, 1, 1}).v("b", F32, {19});
  m.v("wp", F16, {32, 64}).v("bp", F16, {64}).v("y", F32, {1, 19, 4, 5});
  Node& n = m.node("ResizeSumConv", {"s", "x", "w", "b", "wp", "bp"}, {"y"});
  n.domain = "kiln";
  n.attrs.set("projected_input", int64_t(0));
  expect_cost(m.cost(), 2.0 * 380 * 64 + 380 + 2.0 * 20 * 32 * 64,
              (640 + 384 + 1216 + 2048 + 64) * 2.0 + (19 + 380) * 4.0);
}

TEST(LayerCost, HeadScoresCountsTheProduct) {
  G m;  // B 1, L 5, J 3, N 2, D 4: 30 scores of 4 products each; fp32
  m.v("q", F32, {1, 5, 2, 4}).v("k", F32, {1, 3, 2, 4}).v("y", F32, {1, 2, 5, 3});
  m.node("HeadScores", {"q", "k"}, {"y"}).domain = "kiln";
  expect_cost(m.cost(), 2.0 * 30 * 4, (40 + 24 + 30) * 4.0);
}

TEST(LayerCost, MaskPositionEmbeddingCountsItsOutputs) {
  G m;  // mask [2, 3, 5] bool → [2, 3, 8] float32
  m.v("m", DType::kBool, {2, 3, 5}).v("y", F32, {2, 3, 8});
  m.node("MaskPositionEmbedding", {"m"}, {"y"}).domain = "kiln";
  expect_cost(m.cost(), 48, 30 * 1.0 + 48 * 4.0);
}

TEST(LayerCost, GemmCountsTransposeAndBias) {
  G m;  // A^T: [16,8] -> M=8, K=16; B [16,32]; C [32]; fp16
  m.v("a", F16, {16, 8}).v("b", F16, {16, 32}).c("c", Tensor(F16, {32})).v("y", F16, {8, 32});
  Node& n = m.node("Gemm", {"a", "b", "c"}, {"y"});
  n.attrs.set("transA", int64_t(1));
  expect_cost(m.cost(), 2.0 * 256 * 16 + 256, (128 + 512 + 32 + 256) * 2.0);
  m.g.nodes.back().inputs.resize(2);  // no C
  expect_cost(m.cost(), 2.0 * 256 * 16, (128 + 512 + 256) * 2.0);
}

TEST(LayerCost, ConvCountsGroupsBiasAndAnyRank) {
  G m;  // 2-D, group 2: each of the 800 outputs sums 2 channels x 9 taps = 18 MACs
  m.v("x", F32, {1, 4, 10, 10}).c("w", Tensor(F32, {8, 2, 3, 3})).c("b", Tensor(F32, {8}));
  m.v("y", F32, {1, 8, 10, 10});
  m.node("Conv", {"x", "w", "b"}, {"y"}).attrs.set("group", int64_t(2));
  expect_cost(m.cost(), 800 * 36.0 + 800, (400 + 144 + 8 + 800) * 4.0);

  G d3;  // 3-D: 81 outputs x 2 channels x 8 taps
  d3.v("x", F32, {1, 2, 4, 4, 4}).c("w", Tensor(F32, {3, 2, 2, 2, 2})).v("y", F32, {1, 3, 3, 3, 3});
  d3.node("Conv", {"x", "w"}, {"y"});
  EXPECT_DOUBLE_EQ(d3.cost().flops, 81 * 2.0 * 16);
  G d1;  // 1-D: 40 outputs x 3 channels x 3 taps
  d1.v("x", F32, {1, 3, 10}).c("w", Tensor(F32, {5, 3, 3})).v("y", F32, {1, 5, 8});
  d1.node("Conv", {"x", "w"}, {"y"});
  EXPECT_DOUBLE_EQ(d1.cost().flops, 40 * 2.0 * 9);
}

TEST(LayerCost, ConvTransposeScattersEveryInput) {
  G m;  // 100 inputs, each into M=3 channels x 9 taps; stride 2 gives [1,3,11,11]
  m.v("x", F32, {1, 4, 5, 5}).c("w", Tensor(F32, {4, 3, 3, 3})).c("b", Tensor(F32, {3}));
  m.v("y", F32, {1, 3, 11, 11});
  m.node("ConvTranspose", {"x", "w", "b"}, {"y"});
  expect_cost(m.cost(), 100 * 2.0 * 27 + 363, (100 + 108 + 3 + 363) * 4.0);
}

TEST(LayerCost, EinsumMultipliesEveryLabelExtent) {
  G m;  // attention scores: b=2 h=3 q=5 k=7 d=8, same as a batched MatMul
  m.v("q", F32, {2, 3, 5, 8}).v("k", F32, {2, 3, 7, 8}).v("s", F32, {2, 3, 5, 7});
  m.node("Einsum", {"q", "k"}, {"s"}).attrs.set("equation", std::string("bhqd,bhkd->bhqk"));
  expect_cost(m.cost(), 2.0 * 2 * 3 * 5 * 7 * 8, (240 + 336 + 210) * 4.0);

  G e;  // ellipsis: ...=4, i=2, j=3, k=5
  e.v("a", F32, {4, 2, 3}).v("b", F32, {4, 3, 5}).v("y", F32, {4, 2, 5});
  e.node("Einsum", {"a", "b"}, {"y"}).attrs.set("equation", std::string("...ij,...jk->...ik"));
  EXPECT_DOUBLE_EQ(e.cost().flops, 2.0 * 4 * 2 * 3 * 5);
}

TEST(LayerCost, ElementwiseNormsAndReductions) {
  G add;  // [2,3] + [3]
  add.v("a", F32, {2, 3}).c("b", Tensor(F32, {3})).v("y", F32, {2, 3});
  add.node("Add", {"a", "b"}, {"y"});
  expect_cost(add.cost(), 6, (6 + 3 + 6) * 4.0);

  G relu;
  relu.v("x", F16, {10}).v("y", F16, {10});
  relu.node("Relu", {"x"}, {"y"});
  expect_cost(relu.cost(), 10, 40);

  G sum;  // three inputs: two additions per element
  sum.v("a", F32, {4}).v("b", F32, {4}).v("c", F32, {4}).v("y", F32, {4});
  sum.node("Sum", {"a", "b", "c"}, {"y"});
  expect_cost(sum.cost(), 8, 64);

  G cast;
  cast.v("x", F32, {10}).v("y", F16, {10});
  cast.node("Cast", {"x"}, {"y"});
  expect_cost(cast.cost(), 0, 60);

  G ln;  // [2,5,8] over the last axis, scale and bias [8]
  ln.v("x", F32, {2, 5, 8})
      .c("s", Tensor(F32, {8}))
      .c("b", Tensor(F32, {8}))
      .v("y", F32, {2, 5, 8});
  ln.node("LayerNormalization", {"x", "s", "b"}, {"y"});
  expect_cost(ln.cost(), 5 * 80, (80 + 8 + 8 + 80) * 4.0);

  // kiln.LayerNormPatchRows: the LayerNorm's count; rows written once more, Y only when named.
  G rows;  // X [2, 16, 8] fp32 of a 4x4 picture, patch 2: P [2, 4, 32] fp16
  rows.v("x", F32, {2, 16, 8}).c("s", Tensor(F16, {8})).c("b", Tensor(F16, {8}));
  rows.v("y", F16, {2, 16, 8}).v("p", F16, {2, 4, 32});
  Node& pr = rows.node("LayerNormPatchRows", {"x", "s", "b"}, {"y", "p"});
  pr.domain = "kiln";
  expect_cost(rows.cost(), 5 * 256, 256 * 4 + (8 + 8 + 256 + 256) * 2.0);
  pr.outputs[0] = "";
  expect_cost(rows.cost(), 5 * 256, 256 * 4 + (8 + 8 + 256) * 2.0);

  G sm;
  sm.v("x", F16, {4, 10}).v("y", F16, {4, 10});
  sm.node("Softmax", {"x"}, {"y"});
  expect_cost(sm.cost(), 200, 160);

  G mean;  // [4,6] -> [4,1], axes a constant
  mean.v("x", F32, {4, 6}).c("axes", Tensor::from_vector<int64_t>({1}, {1})).v("y", F32, {4, 1});
  mean.node("ReduceMean", {"x", "axes"}, {"y"});
  expect_cost(mean.cost(), 24, 24 * 4 + 8 + 16);
  mean.g.nodes.back().op_type = "ReduceSumSquare";
  EXPECT_DOUBLE_EQ(mean.cost().flops, 48);
}

TEST(LayerCost, ResizeAndPooling) {
  G r;  // [1,3,8,8] -> [1,3,16,16]: 768 outputs over 2 resized axes
  r.v("x", F32, {1, 3, 8, 8}).c("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
  r.v("y", F32, {1, 3, 16, 16});
  Node& n = r.node("Resize", {"x", "", "scales"}, {"y"});
  n.attrs.set("mode", std::string("linear"));
  expect_cost(r.cost(), 768 * 8.0, (192 + 4 + 768) * 4.0);
  r.g.nodes.back().attrs.set("mode", std::string("cubic"));
  EXPECT_DOUBLE_EQ(r.cost().flops, 768 * 32.0);
  r.g.nodes.back().attrs.set("mode", std::string("nearest"));
  EXPECT_DOUBLE_EQ(r.cost().flops, 0);

  G p;  // 3x3 window over 128 outputs
  p.v("x", F32, {1, 2, 8, 8}).v("y", F32, {1, 2, 8, 8});
  p.node("MaxPool", {"x"}, {"y"}).attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  expect_cost(p.cost(), 128 * 9.0, 256 * 4.0);
  G gp;
  gp.v("x", F32, {1, 2, 8, 8}).v("y", F32, {1, 2, 1, 1});
  gp.node("GlobalAveragePool", {"x"}, {"y"});
  expect_cost(gp.cost(), 128, 130 * 4.0);
}

TEST(LayerCost, DataMovementAndAliases) {
  G t;
  t.v("x", F16, {2, 3, 4}).v("y", F16, {4, 3, 2});
  t.node("Transpose", {"x"}, {"y"});
  expect_cost(t.cost(), 0, 96);

  G r;
  r.v("x", F32, {2, 12}).c("shape", Tensor::from_vector<int64_t>({2}, {4, 6})).v("y", F32, {4, 6});
  r.node("Reshape", {"x", "shape"}, {"y"});
  expect_cost(r.cost(), 0, 0);
  for (const char* op : {"Squeeze", "Unsqueeze", "Flatten", "Identity"}) {
    r.g.nodes.back().op_type = op;
    expect_cost(r.cost(), 0, 0);
  }

  G gather;  // 5 rows of a [100,16] table: reads 80 floats, not 1600
  gather.c("table", Tensor(F32, {100, 16})).v("i", I64, {5}).v("y", F32, {5, 16});
  gather.node("Gather", {"table", "i"}, {"y"});
  expect_cost(gather.cost(), 0, 320 + 40 + 320);

  G slice;  // [10,10] -> [5,10]
  slice.v("x", F32, {10, 10}).v("y", F32, {5, 10});
  for (const char* c : {"st", "en", "ax"}) slice.c(c, Tensor::from_vector<int64_t>({1}, {0}));
  slice.node("Slice", {"x", "st", "en", "ax"}, {"y"});
  expect_cost(slice.cost(), 0, 200 + 24 + 200);

  G shape;
  shape.v("x", F32, {10, 10}).v("y", I64, {2});
  shape.node("Shape", {"x"}, {"y"});
  expect_cost(shape.cost(), 0, 16);
}

TEST(LayerCost, UnknownShapesAreRefusedNamingTheValue) {
  G m;
  m.v("x", F32, {1, 3}).v("y", F32, {1, 3});
  m.g.values["y"].type.shape = Shape{Dim(1), Dim::symbolic("N")};
  m.node("Relu", {"x"}, {"y"});
  try {
    m.cost();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("Relu 'n0'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'y'"), std::string::npos) << e.what();
  }
}

// Through the importer and the passes: the optimized graph carries every shape the cost needs.
TEST(LayerCost, CostsAnImportedGraph) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {-1, 3, 16, 16}).output("y", DType::kF32);
  b.initializer("w", Tensor(DType::kF32, {8, 3, 3, 3}));
  auto& conv = b.node("Conv", {"x", "w"}, {"c"});
  test::set_ints_attr(conv, "pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"y"});
  ImportOptions o;
  o.input_shapes["x"] = {2, 3, 16, 16};
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx", o);
  run_passes(g, {"fuse_conv_epilogue"});  // the Relu stays a node of its own here
  ASSERT_EQ(g.nodes.size(), 2u);
  // Conv: 4096 outputs x 27 MACs; reads 1536 + 216 floats, writes 4096. Relu: 4096 each way.
  expect_cost(layer_cost(g, g.nodes[0]), 4096 * 54.0, (1536 + 216 + 4096) * 4.0);
  expect_cost(layer_cost(g, g.nodes[1]), 4096, 8192 * 4.0);
  expect_cost(graph_cost(g), 4096 * 55.0, (1536 + 216 + 4096 + 8192) * 4.0);
  // With the pass: one FusedConv (zero bias added, Relu fused) reading X, W, B and writing Y once.
  Graph f = import_onnx_bytes(b.bytes(), ".", "m.onnx", o);
  run_passes(f);
  ASSERT_EQ(f.nodes.size(), 1u);
  expect_cost(layer_cost(f, f.nodes[0]), 4096 * 56.0, (1536 + 216 + 8 + 4096) * 4.0);
}

// An explicit Q/DQ MatMul becomes kiln.Int8MatMul: quantizing X (1 per element), the int8
// GEMM and the dequantizing store; bytes read are X, the int8 W and two scales, Y written.
TEST(LayerCost, Int8MatMulCountsQuantizeGemmAndEpilogue) {
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {4, 32}).output("y", DType::kF32);
  b.initializer("sx", Tensor::scalar<float>(0.1f));
  b.initializer("zx", Tensor::scalar<int8_t>(0));
  b.initializer("w", test::random_tensor(DType::kI8, {32, 16}, 1, -100, 100));
  b.initializer("sw", Tensor::scalar<float>(0.01f));
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "sx", "zx"}, {"xd"});
  b.node("DequantizeLinear", {"w", "sw"}, {"wd"});
  b.node("MatMul", {"xd", "wd"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "q.onnx");
  run_passes(g);
  ASSERT_EQ(g.nodes.size(), 1u);
  ASSERT_EQ(g.nodes[0].op_type, "Int8MatMul");
  expect_cost(layer_cost(g, g.nodes[0]), 128 + 2 * 64 * 32.0 + 64, 128 * 4 + 4 + 512 + 4 + 64 * 4.0);
}

TEST(LayerCost, AchievedFractionIsTheRelevantRoofline) {
  const LayerCost c{2e12, 1e9};  // in 10 ms: 2e14 flop/s, 1e11 B/s
  const DevicePeak peak{1e15, 1e12, 4e14};
  EXPECT_NEAR(achieved_fraction(c, 0.01, peak, false), 0.2, 1e-12);
  EXPECT_NEAR(achieved_fraction(c, 0.01, peak, true), 0.5, 1e-12);
  EXPECT_NEAR(achieved_fraction(c, 0.01, DevicePeak{1e15, 1e12}, true), 0.2, 1e-12);
  // Memory-bound: bandwidth is the relevant peak.
  EXPECT_NEAR(achieved_fraction(LayerCost{1e6, 5e9}, 0.01, peak, false), 0.5, 1e-12);
  EXPECT_NEAR(achieved_fraction(c, 0.01, DevicePeak{0, 1e12}, false), 0.1, 1e-12);
  EXPECT_NEAR(achieved_fraction(c, 0, peak, false), 0, 1e-12);
  EXPECT_NEAR(achieved_fraction(LayerCost{}, 0.01, peak, false), 0, 1e-12);
}

}  // namespace
}  // namespace kiln
