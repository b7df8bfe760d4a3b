// fuse_resize_sum_pointwise_conv: absorbs the 1x1 Conv behind a ResizeSum (SegFormer's
// classifier), computes what the unfused graph computes (CPU reference, fp32 to 1e-5; fp16 with
// h rounded as the unfused ResizeSum stores it), fires once on the SegFormer reference models,
// keeps the fp16 engines' float32 logits, survives the engine file, and leaves alone Convs that
// are not per-pixel products or whose input is read elsewhere.
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "fusion_test_util.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

constexpr const char* kPass = "fuse_resize_sum_pointwise_conv";

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

void set_string_attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

// tokens x0 [B, H*W, C] ─▶ T ─▶ Reshape ───────────────────────────▶ Add ─▶ Add ─▶ Relu ─▶ h ─▶ Conv ─▶ y
// tokens x1 [B, 6*7, C] ─▶ T ─▶ Reshape ─▶ Resize(linear, sizes) ─▶┘      ▲
// x2 [B, C, 3, 4] ─────────────────────────▶ Resize(linear, sizes) ───────┘
struct Head {
  int64_t B = 2, C = 16, H = 11, W = 13, Co = 7;
  DType dt = DType::kF32;
  std::vector<int64_t> kernel = {1, 1}, strides = {1, 1}, pads = {0, 0, 0, 0}, dilations = {1, 1};
  int64_t group = 1;
  bool bias = true, relu = true;
  bool weight_input = false;  // W a graph input, not a constant
  std::string second_use;     // "h": h also read by a Relu → graph output "z"
  bool h_output = false;      // h also a graph output
  bool matmul = false;        // a MatMul by a constant [W, Co] instead of the Conv
};

std::string build(const Head& s) {
  test::ModelBuilder b(17);
  b.input("x0", s.dt, {s.B, s.H * s.W, s.C});
  b.input("x1", s.dt, {s.B, 6 * 7, s.C});
  b.input("x2", s.dt, {s.B, s.C, 3, 4});
  std::vector<std::string> leaves;
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i);
    test::set_ints_attr(b.node("Transpose", {"x" + n}, {"t" + n}), "perm", {0, 2, 1});
    b.initializer("shape" + n, i64({s.B, s.C, i ? 6 : s.H, i ? 7 : s.W}));
    b.node("Reshape", {"t" + n, "shape" + n}, {"img" + n});
  }
  b.initializer("sizes", i64({s.B, s.C, s.H, s.W}));
  for (const char* img : {"img1", "x2"}) {
    onnx::NodeProto& r = b.node("Resize", {img, "", "", "sizes"}, {std::string("r_") + img});
    set_string_attr(r, "mode", "linear");
  }
  b.node("Add", {"img0", "r_img1"}, {"s1"});
  b.node("Add", {"s1", "r_x2"}, {"s2"});
  b.node(s.relu ? "Relu" : "Identity", {"s2"}, {"h"});
  if (s.matmul) {
    b.initializer("wm", test::random_tensor(s.dt, {s.W, s.Co}, 91));
    b.node("MatMul", {"h", "wm"}, {"y"});
  } else {
    const int64_t cin = s.C / s.group;
    std::vector<std::string> in = {"h", "w"};
    if (s.weight_input) b.input("w", s.dt, {s.Co, cin, s.kernel[0], s.kernel[1]});
    else b.initializer("w", test::random_tensor(s.dt, {s.Co, cin, s.kernel[0], s.kernel[1]}, 92));
    if (s.bias) {
      b.initializer("bias", test::random_tensor(s.dt, {s.Co}, 93));
      in.push_back("bias");
    }
    onnx::NodeProto& c = b.node("Conv", in, {"y"});
    c.set_name("classifier");
    test::set_ints_attr(c, "kernel_shape", s.kernel);
    test::set_ints_attr(c, "strides", s.strides);
    test::set_ints_attr(c, "pads", s.pads);
    test::set_ints_attr(c, "dilations", s.dilations);
    test::set_int_attr(c, "group", s.group);
  }
  b.output("y", s.dt);
  if (s.second_use == "h") {
    b.node("Relu", {"h"}, {"z"});
    b.output("z", s.dt);
  }
  if (s.h_output) b.output("h", s.dt);
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  Graph g;
};

// The pipeline with and without the pass on the same random inputs (CPU reference). fp32: the
// fused node rounds h to float and sums the GEMM in double, as the unfused Conv nearly does;
// fp16: both round h to fp16, the GEMM's order differs.
Outcome run(const Head& s, uint64_t seed = 5) {
  const std::string bytes = build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_elementwise", kPass});
  PassReport r = run_passes(g, {"fuse_elementwise"}, /*record_rewrites=*/true);
  const bool f16 = s.dt == DType::kF16;
  const TensorMap feeds = test::random_feeds(plain, seed);  // W too, where it is an input
  test::expect_same_outputs(plain, g, feeds, f16 ? 2e-2 : 1e-5, f16 ? 4e-3 : 1e-5);
  return {r.fused.at(kPass), std::move(g)};
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

TEST(FuseResizeSumPointwiseConv, AbsorbsTheClassifier) {
  Outcome o = run(Head{});
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.g.op_histogram(), (std::map<std::string, int>{{"kiln.ResizeSumPointwiseConv", 1}}));
  const Node& n = *find_op(o.g, "ResizeSumPointwiseConv");
  EXPECT_EQ(n.name, "classifier");
  EXPECT_EQ(n.domain, "kiln");
  ASSERT_EQ(n.inputs.size(), 5u);
  EXPECT_EQ(o.g.value(n.inputs[0]).constant->dims(), (Dims{7, 16}));
  EXPECT_EQ(n.inputs[1], "bias");
  EXPECT_EQ((std::vector<std::string>(n.inputs.begin() + 2, n.inputs.end())),
            (std::vector<std::string>{"x0", "x1", "x2"}));
  EXPECT_EQ(n.outputs, (std::vector<std::string>{"y"}));
  EXPECT_EQ(n.attrs.get_string("activation"), "relu");
  EXPECT_EQ(n.attrs.get_strings("layouts"), (std::vector<std::string>{"tokens", "tokens", "nchw"}));
}

TEST(FuseResizeSumPointwiseConv, NoBiasNoReluOneOutputChannelDilated) {
  Head s;
  s.bias = false, s.relu = false, s.Co = 1;
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 1);
  const Node& n = *find_op(o.g, "ResizeSumPointwiseConv");
  EXPECT_FALSE(n.has_input(1));
  EXPECT_EQ(n.attrs.get_string("activation"), "none");
  s = Head{};
  s.dilations = {2, 3};  // a 1x1 kernel samples one pixel however dilated
  EXPECT_EQ(run(s).fired, 1);
}

TEST(FuseResizeSumPointwiseConv, HalfPrecisionGraph) {
  Head s;
  s.dt = DType::kF16;
  EXPECT_EQ(run(s).fired, 1);
}

TEST(FuseResizeSumPointwiseConv, RefusesConvsThatAreNotPerPixelProducts) {
  struct Bad {
    const char* why;
    void (*edit)(Head&);
  };
  const Bad bad[] = {
      {"kernel 3x3", [](Head& s) { s.kernel = {3, 3}, s.pads = {1, 1, 1, 1}; }},
      {"kernel 1x3", [](Head& s) { s.kernel = {1, 3}, s.pads = {0, 1, 0, 1}; }},
      {"stride 2", [](Head& s) { s.strides = {2, 2}; }},
      {"pads", [](Head& s) { s.pads = {1, 0, 1, 0}; }},
      {"groups 2", [](Head& s) { s.group = 2, s.Co = 8; }},
      {"weight not constant", [](Head& s) { s.weight_input = true; }},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.why);
    Head s;
    b.edit(s);
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 0);
    EXPECT_EQ(test::count_op(o.g, "Conv"), 1);
    EXPECT_EQ(test::count_op(o.g, "kiln.ResizeSum"), 1);
  }
}

TEST(FuseResizeSumPointwiseConv, RefusesASummedMapReadElsewhere) {
  for (bool as_output : {false, true}) {
    SCOPED_TRACE(as_output);
    Head s;
    if (as_output) s.h_output = true;
    else s.second_use = "h";
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 0);
    EXPECT_EQ(test::count_op(o.g, "kiln.ResizeSum"), 1);
    EXPECT_EQ(test::count_op(o.g, "Conv"), 1);
  }
  // A MatMul by a constant over NCHW h contracts over the width: not a pointwise conv.
  Head s;
  s.matmul = true;
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 0);
  EXPECT_EQ(test::count_op(o.g, "kiln.ResizeSum"), 1);
}

TEST(FuseResizeSumPointwiseConv, ListedAsARewriteAndDisabledByName) {
  const std::string bytes = build(Head{});
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  const PassReport r = run_passes(g, {"fuse_elementwise"}, /*record_rewrites=*/true);
  bool listed = false;
  for (const FusionRecord& rec : r.rewrites) {
    if (rec.pass != kPass) continue;
    listed = true;
    EXPECT_EQ(rec.added, (std::vector<NodeRef>{{"kiln.ResizeSumPointwiseConv", "classifier"}}));
    EXPECT_EQ(rec.replaced.size(), 2u);  // the ResizeSum and the Conv
  }
  EXPECT_TRUE(listed);
  Graph off = import_onnx_bytes(bytes, ".", "m.onnx");
  EXPECT_EQ(run_passes(off, {kPass}).fused.at(kPass), 0);
  EXPECT_EQ(test::count_op(off, "kiln.ResizeSum"), 1);
}

TEST(FuseResizeSumPointwiseConv, SurvivesTheEngineFile) {
  Outcome o = run(Head{});
  Engine e = engine_from_bytes(engine_to_bytes(o.g, {"cpu", ""}), "engine file m.kiln");
  const TensorMap feeds = test::random_feeds(o.g, 3);
  EXPECT_TRUE(CpuExecutor(e.graph).run(feeds).at("y").same_bytes(CpuExecutor(o.g).run(feeds).at("y")));
}

// The SegFormer reference models: ResizeSum + classifier Conv become one node; the logits stay
// within 1e-5 of the unfused graph's, and of the golden for segformer_tiny.
void expect_head_fused(const std::string& name, bool golden) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / name;
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(plain, {"fuse_elementwise", kPass});
  EXPECT_EQ(run_passes(g, {"fuse_elementwise"}).fused.at(kPass), 1);
  const auto before = plain.op_histogram(), after = g.op_histogram();
  EXPECT_EQ(after.count("kiln.ResizeSum"), 0u);
  EXPECT_EQ(after.at("kiln.ResizeSumPointwiseConv"), 1);
  EXPECT_EQ(before.at("Conv") - (after.count("Conv") ? after.at("Conv") : 0), 1);
  EXPECT_EQ(g.nodes.size() + 1, plain.nodes.size());
  const Node& n = *find_op(g, "ResizeSumPointwiseConv");
  EXPECT_EQ(n.outputs[0], "logits");
  const Tensor fused = CpuExecutor(g).run(feeds).at("logits"), unfused = CpuExecutor(plain).run(feeds).at("logits");
  test::expect_close(fused, test::to_doubles(unfused), 1e-5, 1e-5);
  if (golden) {
    EXPECT_LE(test::compare_to_golden(fused, read_npy((dir / "golden" / "logits.npy").string())).rel_l2, 1e-5);
  }
}

TEST(FuseResizeSumPointwiseConv, SegformerTiny) { expect_head_fused("segformer_tiny", true); }
TEST(FuseResizeSumPointwiseConv, SegformerB0) { expect_head_fused("segformer_b0", false); }

// fp16 engines: the fused node reads fp16 images and W, keeps the bias float32 and writes the
// logits in float32, as the unfused classifier Conv does (precision_islands.h); fused ≈ unfused.
TEST(FuseResizeSumPointwiseConv, SegformerTinyFp16KeepsFloat32Logits) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(g, {"fuse_elementwise"});
  run_passes(plain, {"fuse_elementwise", kPass});
  convert_to_fp16(g);
  convert_to_fp16(plain);
  const Node* n = find_op(g, "ResizeSumPointwiseConv");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(g.value(n->inputs[0]).type.dtype, DType::kF16);
  EXPECT_EQ(g.value(n->inputs[1]).type.dtype, DType::kF32);
  for (size_t i = 2; i < n->inputs.size(); ++i) EXPECT_EQ(g.value(n->inputs[i]).type.dtype, DType::kF16);
  EXPECT_EQ(n->outputs[0], "logits");
  EXPECT_EQ(g.value("logits").type.dtype, DType::kF32);
  EXPECT_EQ(test::count_op(g, "Cast"), test::count_op(plain, "Cast"));
  const Tensor fused = CpuExecutor(g).run(feeds).at("logits"), unfused = CpuExecutor(plain).run(feeds).at("logits");
  EXPECT_LE(test::compare_to_golden(fused, unfused).rel_l2, 1e-4);
  const Tensor want = read_npy((dir / "golden" / "logits.npy").string());
  EXPECT_LE(test::compare_to_golden(fused, want).rel_l2, 1e-2);
}

}  // namespace
}  // namespace kiln
