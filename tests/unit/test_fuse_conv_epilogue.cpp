// fuse_conv_epilogue: BatchNormalization folded into the Conv before it, and the shortcut Add and
// activation after it written by a FusedConv; fires on ResNet-style blocks and on AnchorDETR's
// backbone, keeps the numbers, and leaves alone what it cannot take (broadcast adds, shared
// intermediates, 3-D convs, float64).
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

// x [2, C, 6, 7] ─Conv a (3x3)─▶ [BN a] ─▶ Relu ─▶ h ─Conv b (3x3)─▶ [BN b] ─▶ s ─Add(shortcut)─▶ ─Relu─▶ y
// shortcut: x itself, or Conv c (1x1) of x ("projected").
struct Block {
  int64_t C = 4;
  bool bn = true, projected = false, b_bias = true;
  DType dt = DType::kF32;
  std::string shortcut_dims;  // "channel": a [1, C, 1, 1] constant instead (a broadcast, not a shortcut)
  std::string extra_reader;   // a value inside also read by a Sigmoid → graph output "z"
  std::string tail = "Relu";
  int spatial = 2;            // 3: a 3-D conv block
};

void set_float_attr(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

std::string build(const Block& k) {
  test::ModelBuilder b(15);
  Dims x = {2, k.C, 6, 7};
  if (k.spatial == 3) x.push_back(3);
  const int64_t kk = 3;
  Dims w3 = {k.C, k.C, kk, kk}, w1 = {k.C, k.C, 1, 1};
  std::vector<int64_t> pads = {1, 1, 1, 1}, ks = {kk, kk};
  if (k.spatial == 3) w3.push_back(kk), w1.push_back(1), pads = {1, 1, 1, 1, 1, 1}, ks.push_back(kk);
  b.input("x", k.dt, x).output("y", k.dt);
  uint64_t seed = 20;
  auto conv = [&](const std::string& name, const std::string& in, const std::string& out, const Dims& w, bool bias,
                  bool same) {
    b.initializer(name + "_W", test::random_tensor(k.dt, w, seed++, -0.5, 0.5));
    std::vector<std::string> ins = {in, name + "_W"};
    if (bias) {
      b.initializer(name + "_B", test::random_tensor(k.dt, {k.C}, seed++));
      ins.push_back(name + "_B");
    }
    onnx::NodeProto& n = b.node("Conv", ins, {out});
    n.set_name(name);
    if (same) test::set_ints_attr(n, "pads", pads), test::set_ints_attr(n, "kernel_shape", ks);
  };
  auto bn = [&](const std::string& name, const std::string& in, const std::string& out) {
    b.initializer(name + "_s", test::random_tensor(k.dt, {k.C}, seed, 0.5, 1.5));
    b.initializer(name + "_b", test::random_tensor(k.dt, {k.C}, seed + 1));
    b.initializer(name + "_m", test::random_tensor(k.dt, {k.C}, seed + 2));
    b.initializer(name + "_v", test::random_tensor(k.dt, {k.C}, seed + 3, 0.2, 2.0));
    seed += 4;
    onnx::NodeProto& n = b.node("BatchNormalization", {in, name + "_s", name + "_b", name + "_m", name + "_v"}, {out});
    set_float_attr(n, "epsilon", 1e-3f);
  };
  conv("a", "x", k.bn ? "ca" : "ba", w3, true, true);
  if (k.bn) bn("bna", "ca", "ba");
  b.node("Relu", {"ba"}, {"h"});
  conv("b", "h", k.bn ? "cb" : "s", w3, k.b_bias, true);
  if (k.bn) bn("bnb", "cb", "s");
  std::string shortcut = "x";
  if (k.projected) conv("c", "x", shortcut = "p", w1, true, false);
  if (k.shortcut_dims == "channel") {
    b.initializer("chan", test::random_tensor(k.dt, {1, k.C, 1, 1}, seed++));
    shortcut = "chan";
  }
  b.node("Add", {"s", shortcut}, {"sum"});
  b.node(k.tail, {"sum"}, {"y"}).set_name("out_act");
  if (!k.extra_reader.empty()) {
    b.node("Sigmoid", {k.extra_reader}, {"z"});
    b.output("z", k.dt);
  }
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
  double rel_l2 = 0;  // of y against the graph without this pass
  Graph g;
};

Outcome run(const Block& k) {
  const std::string bytes = build(k);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_elementwise", "fuse_conv_epilogue"});
  const int fired = run_passes(g, {"fuse_elementwise"}).fused.at("fuse_conv_epilogue");
  TensorMap feeds = {{"x", test::random_tensor(k.dt, shape_dims(*plain.value("x").type.shape), 3)}};
  const TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
  Outcome o{fired, g.op_histogram(), test::compare_to_golden(got.at("y"), want.at("y")).rel_l2, std::move(g)};
  return o;
}

TEST(FuseConvEpilogue, BottleneckWithBatchNorm) {
  Outcome o = run({});
  EXPECT_EQ(o.fired, 2);  // conv a + BN + Relu; conv b + BN + Add(x) + Relu
  EXPECT_EQ(o.ops, (std::map<std::string, int>{{"kiln.FusedConv", 2}}));
  EXPECT_LT(o.rel_l2, 1e-6);  // the folded weights round differently from BN after the conv
  const Node* last = nullptr;
  for (const Node& n : o.g.nodes)
    if (n.outputs[0] == "y") last = &n;
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->name, "out_act");
  EXPECT_EQ(last->attrs.get_string("activation"), "relu");
  EXPECT_EQ(last->inputs.size(), 4u);
  EXPECT_EQ(last->inputs[3], "x");
}

TEST(FuseConvEpilogue, WithoutBatchNormAndWithoutBias) {
  Outcome o = run({.bn = false, .b_bias = false});
  EXPECT_EQ(o.fired, 2);
  EXPECT_EQ(o.rel_l2, 0);  // the same float sums, the zero bias adds nothing
  Outcome bn_no_bias = run({.b_bias = false});  // BN supplies conv b's bias
  EXPECT_EQ(bn_no_bias.fired, 2);
  EXPECT_LT(bn_no_bias.rel_l2, 1e-6);
}

TEST(FuseConvEpilogue, ProjectedShortcutGoesToOneConv) {
  Outcome o = run({.projected = true});
  EXPECT_EQ(o.fired, 2);
  EXPECT_EQ(o.ops, (std::map<std::string, int>{{"Conv", 1}, {"kiln.FusedConv", 2}}));
  EXPECT_LT(o.rel_l2, 1e-6);
}

TEST(FuseConvEpilogue, HalfPrecision) {
  Outcome o = run({.dt = DType::kF16});
  EXPECT_EQ(o.fired, 2);
  EXPECT_LT(o.rel_l2, 2e-3);  // fp16 weights after the fold, fewer roundings of the output
}

TEST(FuseConvEpilogue, OtherTailsAndBroadcasts) {
  // A Sigmoid cannot be fused: the Add still is, the Sigmoid stays.
  Outcome sig = run({.bn = false, .tail = "Sigmoid"});
  EXPECT_EQ(sig.fired, 2);
  EXPECT_EQ(sig.ops.at("Sigmoid"), 1);
  EXPECT_EQ(sig.rel_l2, 0);
  // A [1, C, 1, 1] addend is a broadcast, not a shortcut: conv b keeps only its BN (a plain Conv).
  Outcome chan = run({.shortcut_dims = "channel"});
  EXPECT_EQ(chan.fired, 2);
  EXPECT_EQ(chan.ops.at("Add"), 1);
  EXPECT_EQ(chan.ops.at("Conv"), 1);
  EXPECT_LT(chan.rel_l2, 1e-6);
}

TEST(FuseConvEpilogue, RefusesWhatItCannotTake) {
  // The BN's output also read elsewhere: conv b stops there (BN folded), the Add and Relu stay.
  Outcome shared = run({.extra_reader = "s"});
  EXPECT_EQ(shared.ops.at("Add"), 1);
  EXPECT_EQ(shared.ops.at("Relu"), 1);
  EXPECT_EQ(shared.ops.at("Conv"), 1);
  // The sum also read elsewhere: the Add is taken, the Relu after it is not.
  Outcome sum_read = run({.extra_reader = "sum"});
  EXPECT_EQ(sum_read.ops.count("Add"), 0u);
  EXPECT_EQ(sum_read.ops.at("Relu"), 1);
  // The BN's output read twice: the BN still folds into conv a, its Relu stays a node.
  Outcome bn_read = run({.extra_reader = "ba"});
  EXPECT_EQ(bn_read.ops.count("BatchNormalization"), 0u);
  EXPECT_EQ(bn_read.ops.at("Relu"), 1);
  EXPECT_LT(bn_read.rel_l2, 1e-6);
  EXPECT_EQ(run({.dt = DType::kF64}).fired, 0);
  EXPECT_EQ(run({.bn = false, .spatial = 3}).fired, 0);
}

TEST(FuseConvEpilogue, AnchorDetrTinyBackbone) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "anchor_detr_tiny";
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(plain, {"fuse_elementwise", "fuse_conv_epilogue"});
  const int fired = run_passes(g, {"fuse_elementwise"}).fused.at("fuse_conv_epilogue");
  const auto before = plain.op_histogram(), after = g.op_histogram();
  EXPECT_GT(fired, 0);
  EXPECT_EQ(after.at("kiln.FusedConv"), fired);
  EXPECT_LT(after.count("Relu") ? after.at("Relu") : 0, before.at("Relu"));
  const TensorMap got = CpuExecutor(g).run(feeds);
  for (const auto& [name, t] : got) {
    const Tensor want = read_npy((dir / "golden" / (name + ".npy")).string());
    EXPECT_LE(test::compare_to_golden(t, want).rel_l2, 1e-5) << name;
  }
}

}  // namespace
}  // namespace kiln
