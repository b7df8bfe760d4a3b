// fuse_resize_sum: fires on Add trees of linear Resizes (tokens read through their
// Transpose + Reshape, a trailing Relu fused), computes what the unfused graph computes (CPU
// reference, fp32 to 1e-5), fires once on the SegFormer decode heads, survives the engine file,
// and leaves alone what it must not absorb.
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

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

void set_string_attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

struct Branch {
  int64_t h = 0, w = 0;  // 0: the output's
  bool tokens = false;   // x [B, h*w, C] → Transpose(perm) → Reshape [B, C, h, w]
  bool resize = true;
  std::string mode = "linear", coord = "half_pixel";
  std::vector<float> scales;  // [1, 1, sh, sw]-style; empty: sizes [B, C, H, W]
  int64_t antialias = -1, exclude_outside = 0;
  int64_t cin = 0;            // the image's channels (0: C); the Resize's sizes make C of them
  std::vector<int64_t> perm = {0, 2, 1};
  bool cast_f16 = false;      // the image is float16, Resized, then Cast to float32
};

// x_i ─[T ─▶ Reshape]─▶ img_i ─[Resize]─▶ l_i ─▶ Add tree (s1, s2, ...) ─▶ [Relu] ─▶ y
struct Sum {
  int64_t B = 2, C = 5, H = 11, W = 13;
  std::vector<Branch> branches;
  bool relu = true, balanced = false;
  DType dt = DType::kF32;
  int opset = 17;
  std::string second_use;  // a value also read by a Relu → graph output "z"
  std::string as_output;   // a value that is also a graph output
};

std::string build(const Sum& s) {
  test::ModelBuilder b(s.opset);
  std::vector<std::string> leaves;
  for (size_t i = 0; i < s.branches.size(); ++i) {
    const Branch& br = s.branches[i];
    const std::string n = std::to_string(i);
    const int64_t h = br.h ? br.h : s.H, w = br.w ? br.w : s.W, c = br.cin ? br.cin : s.C;
    const DType dt = br.cast_f16 ? DType::kF16 : s.dt;
    std::string img = "x" + n;
    if (br.tokens) {
      const Dims tokens = {s.B, c, h * w};
      Dims x(3);
      for (size_t k = 0; k < 3; ++k) x[size_t(br.perm[k])] = tokens[k];
      b.input(img, dt, x);
      test::set_ints_attr(b.node("Transpose", {img}, {"t" + n}), "perm", br.perm);
      b.initializer("shape" + n, i64({s.B, c, h, w}));
      b.node("Reshape", {"t" + n, "shape" + n}, {"img" + n});
      img = "img" + n;
    } else {
      b.input(img, dt, {s.B, c, h, w});
    }
    std::string leaf = img;
    if (br.resize) {
      std::vector<std::string> in = {img, ""};
      if (br.coord == "tf_crop_and_resize") {  // a roi inside the image
        b.initializer("roi" + n, Tensor::from_vector<float>({8}, {0, 0, .1f, .2f, 1, 1, .9f, .7f}));
        in[1] = "roi" + n;
      }
      if (br.scales.empty()) {
        b.initializer("sizes" + n, i64({s.B, s.C, s.H, s.W}));
        in.push_back("");
        in.push_back("sizes" + n);
      } else {
        b.initializer("scales" + n, Tensor::from_vector<float>({4}, br.scales));
        in.push_back("scales" + n);
      }
      onnx::NodeProto& r = b.node("Resize", in, {"r" + n});
      r.set_name("resize" + n);
      set_string_attr(r, "mode", br.mode);
      set_string_attr(r, "coordinate_transformation_mode", br.coord);
      if (br.antialias >= 0) test::set_int_attr(r, "antialias", br.antialias);
      if (br.exclude_outside) test::set_int_attr(r, "exclude_outside", br.exclude_outside);
      leaf = "r" + n;
    }
    if (br.cast_f16) {
      test::set_int_attr(b.node("Cast", {leaf}, {"c" + n}), "to", int64_t(onnx::TensorProto::FLOAT));
      leaf = "c" + n;
    }
    leaves.push_back(leaf);
  }
  int adds = 0;
  auto add = [&](const std::string& a, const std::string& c) {
    const std::string out = "s" + std::to_string(++adds);
    b.node("Add", {a, c}, {out}).set_name("add" + std::to_string(adds));
    return out;
  };
  std::string sum;
  if (s.balanced) {  // ((l0 + l1) + (l2 + l3)) + ...
    std::vector<std::string> level = leaves;
    while (level.size() > 1) {
      std::vector<std::string> next;
      for (size_t i = 0; i + 1 < level.size(); i += 2) next.push_back(add(level[i], level[i + 1]));
      if (level.size() % 2) next.push_back(level.back());
      level = next;
    }
    sum = level[0];
  } else {
    sum = leaves[0];
    for (size_t i = 1; i < leaves.size(); ++i) sum = add(sum, leaves[i]);
  }
  b.node(s.relu ? "Relu" : "Identity", {sum}, {"y"}).set_name("act");
  b.output("y", s.dt);
  if (!s.second_use.empty()) {
    b.node("Relu", {s.second_use}, {"z"});
    b.output("z", s.dt);
  }
  if (!s.as_output.empty()) b.output(s.as_output, s.dt);
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
  Graph g;
};

int count(const std::map<std::string, int>& ops, const std::string& op) { return ops.count(op) ? ops.at(op) : 0; }

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

// The pipeline with and without the pass, both run on the same random inputs: fp32 within
// 1e-5 (the fused node sums in double and rounds once, the unfused graph rounds per node);
// fp16 within what the unfused graph's per-node fp16 roundings allow.
Outcome run(const Sum& s, uint64_t seed = 7) {
  const std::string bytes = build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_elementwise", "fuse_resize_sum"});
  PassReport r = run_passes(g, {"fuse_elementwise"});
  const bool f16 = s.dt == DType::kF16;
  test::expect_same_outputs(plain, g, test::random_feeds(plain, seed), f16 ? 2e-2 : 1e-5, f16 ? 4e-3 : 1e-5);
  return {r.fused.at("fuse_resize_sum"), g.op_histogram(), std::move(g)};
}

// The decode-head shape: a full-resolution token stage and three upsampled ones.
Sum segformer_like() {
  Sum s;
  s.branches = {{.tokens = true, .resize = false},
                {.h = 6, .w = 7, .tokens = true},
                {.h = 3, .w = 4, .tokens = true},
                {.h = 2, .w = 2, .tokens = true}};
  return s;
}

TEST(FuseResizeSum, ReplacesTheDecodeHeadSumByOneNode) {
  Outcome o = run(segformer_like());
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(o.ops, (std::map<std::string, int>{{"kiln.ResizeSum", 1}}));
  const Node& n = *find_op(o.g, "ResizeSum");
  EXPECT_EQ(n.name, "act");
  EXPECT_EQ(n.domain, "kiln");
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"x0", "x1", "x2", "x3"}));
  EXPECT_EQ(n.outputs, (std::vector<std::string>{"y"}));
  EXPECT_EQ(n.attrs.get_strings("layouts"), (std::vector<std::string>(4, "tokens")));
  EXPECT_EQ(n.attrs.get_ints("input_heights"), (std::vector<int64_t>{11, 6, 3, 2}));
  EXPECT_EQ(n.attrs.get_ints("input_widths"), (std::vector<int64_t>{13, 7, 4, 2}));
  EXPECT_EQ(n.attrs.get_string("activation"), "relu");
  EXPECT_EQ(n.attrs.get_int("height"), 11);
  EXPECT_EQ(n.attrs.get_int("width"), 13);
}

TEST(FuseResizeSum, AnyAssociationLayoutAndCoordinateMode) {
  Sum s = segformer_like();
  s.balanced = true;
  EXPECT_EQ(run(s).fired, 1);
  s.relu = false;  // Identity after the sum: eliminate_noops drops it, no activation
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(find_op(o.g, "ResizeSum")->attrs.get_string("activation"), "none");
  // NCHW and token inputs mixed, odd sizes, non-integer ratios, downsampling, 1-pixel images.
  Sum mixed;
  mixed.B = 1, mixed.C = 3, mixed.H = 17, mixed.W = 9;
  mixed.branches = {{.h = 5, .w = 4},
                    {.h = 17, .w = 9, .tokens = true, .resize = false},
                    {.h = 7, .w = 3, .tokens = true, .coord = "pytorch_half_pixel"},
                    {.h = 6, .w = 2, .coord = "align_corners"},
                    {.h = 1, .w = 1, .tokens = true},  // one token: its Transpose became a Reshape
                    {.h = 23, .w = 31, .tokens = true, .coord = "asymmetric"},  // downsampled
                    {.h = 4, .w = 5, .coord = "half_pixel_symmetric"}};
  mixed.opset = 19;
  o = run(mixed);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(count(o.ops, "kiln.ResizeSum"), 1);
  EXPECT_EQ(count(o.ops, "Resize") + count(o.ops, "Add") + count(o.ops, "Transpose"), 0);
  EXPECT_EQ(find_op(o.g, "ResizeSum")->attrs.get_strings("layouts"),
            (std::vector<std::string>{"nchw", "tokens", "tokens", "nchw", "nchw", "tokens", "nchw"}));
  // Scales given instead of sizes (exact in float: 2.2 * 5 = 11, 3.25 * 4 = 13).
  Sum scaled;
  scaled.branches = {{}, {.h = 5, .w = 4, .tokens = true, .scales = {1.f, 1.f, 2.2f, 3.25f}}};
  scaled.branches[0].resize = false;
  o = run(scaled);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(find_op(o.g, "ResizeSum")->attrs.get_floats("scales"), (std::vector<float>{0.f, 0.f, 2.2f, 3.25f}));
}

TEST(FuseResizeSum, HalfPrecisionAndOneChannel) {
  Sum s = segformer_like();
  s.dt = DType::kF16;
  EXPECT_EQ(run(s).fired, 1);
  s = segformer_like();
  s.C = 1;  // one channel: eliminate_noops turns the token Transposes into Reshapes first
  s.B = 1;
  EXPECT_EQ(run(s).fired, 1);
}

TEST(FuseResizeSum, RefusesOtherResizeModes) {
  for (const char* mode : {"nearest", "cubic"}) {
    SCOPED_TRACE(mode);
    Sum s;
    s.branches = {{.resize = false}, {.h = 5, .w = 6, .mode = mode}};
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 0);
    EXPECT_EQ(count(o.ops, "Resize"), 1);
    // With a linear branch beside it, the sum fuses and reads the other Resize's output.
    s.branches.push_back({.h = 4, .w = 3});
    o = run(s);
    EXPECT_EQ(o.fired, 1);
    EXPECT_EQ(count(o.ops, "Resize"), 1);
    EXPECT_EQ(find_op(o.g, "Resize")->attrs.get_string("mode"), mode);
  }
  Sum crop;
  crop.branches = {{.resize = false}, {.h = 5, .w = 6, .coord = "tf_crop_and_resize"}};
  EXPECT_EQ(run(crop).fired, 0);
}

TEST(FuseResizeSum, RefusesAntialiasAndExcludeOutside) {
  Sum s;
  s.opset = 18;
  s.branches = {{.resize = false}, {.h = 23, .w = 27, .antialias = 1}};  // downsampling: antialias matters
  EXPECT_EQ(run(s).fired, 0);
  s.branches[1].antialias = 0;
  EXPECT_EQ(run(s).fired, 1);
  s.branches[1].exclude_outside = 1;
  EXPECT_EQ(run(s).fired, 0);
}

TEST(FuseResizeSum, RefusesAResizeOfTheChannels) {
  Sum s;
  s.branches = {{.resize = false}, {.h = 5, .w = 6, .cin = 3}};  // 3 channels interpolated to 5
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 0);
  EXPECT_EQ(count(o.ops, "Resize"), 1);
}

TEST(FuseResizeSum, KeepsIntermediatesReadElsewhere) {
  // A Resize output read elsewhere or a graph output: that Resize stays and is summed as is.
  for (bool as_output : {false, true}) {
    SCOPED_TRACE(as_output);
    Sum s;
    s.branches = {{.resize = false}, {.h = 5, .w = 6}};
    (as_output ? s.as_output : s.second_use) = "r1";
    EXPECT_EQ(run(s).fired, 0);
    // The token Transpose or Reshape read elsewhere: the image is read in NCHW from the Reshape.
    for (const char* v : {"t1", "img1"}) {
      SCOPED_TRACE(v);
      s = segformer_like();
      (as_output ? s.as_output : s.second_use) = v;
      Outcome o = run(s);
      EXPECT_EQ(o.fired, 1);
      EXPECT_EQ(count(o.ops, "Reshape"), 1);
      EXPECT_EQ(find_op(o.g, "ResizeSum")->attrs.get_strings("layouts")[1], "nchw");
    }
    // An inner Add read elsewhere ends the tree there: its own subtree fuses separately.
    s = segformer_like();
    (as_output ? s.as_output : s.second_use) = "s2";
    Outcome o = run(s);
    EXPECT_EQ(o.fired, 2);
    EXPECT_EQ(count(o.ops, "Add"), 0);
    // The sum read elsewhere: the Relu stays.
    s = segformer_like();
    (as_output ? s.as_output : s.second_use) = "s3";
    o = run(s);
    EXPECT_EQ(o.fired, 1);
    EXPECT_EQ(find_op(o.g, "ResizeSum")->attrs.get_string("activation"), "none");
    EXPECT_EQ(count(o.ops, "Relu"), as_output ? 1 : 2);
  }
}

TEST(FuseResizeSum, RefusesOtherDtypesAndLayouts) {
  // A float16 branch Cast to float32 after its Resize: that Resize stays.
  Sum s;
  s.branches = {{.resize = false}, {.h = 5, .w = 6, .cast_f16 = true}};
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 0);
  EXPECT_EQ(count(o.ops, "Resize"), 1);
  s = segformer_like();
  s.dt = DType::kF64;
  EXPECT_EQ(run(s).fired, 0);
  // A token Transpose with another perm (x is [N, C, B]): the Reshape's image is read as NCHW.
  s = segformer_like();
  s.B = 1;
  s.branches[1].perm = {2, 1, 0};
  o = run(s);
  EXPECT_EQ(o.fired, 1);
  EXPECT_EQ(count(o.ops, "Transpose"), 1);
  EXPECT_EQ(find_op(o.g, "ResizeSum")->attrs.get_strings("layouts")[1], "nchw");
}

TEST(FuseResizeSum, SurvivesTheEngineFile) {
  Outcome o = run(segformer_like());
  Engine e = engine_from_bytes(engine_to_bytes(o.g, {"cpu", ""}), "engine file m.kiln");
  const Node& a = *find_op(o.g, "ResizeSum");
  const Node& b = *find_op(e.graph, "ResizeSum");
  EXPECT_EQ(b.attrs.all().size(), a.attrs.all().size());
  for (const char* s : {"layouts", "coordinate_transformation_modes"})
    EXPECT_EQ(b.attrs.get_strings(s), a.attrs.get_strings(s)) << s;
  for (const char* i : {"input_heights", "input_widths"}) EXPECT_EQ(b.attrs.get_ints(i), a.attrs.get_ints(i)) << i;
  EXPECT_EQ(b.attrs.get_floats("scales"), a.attrs.get_floats("scales"));
  EXPECT_EQ(b.attrs.get_string("activation"), a.attrs.get_string("activation"));
  EXPECT_EQ(b.attrs.get_int("height"), a.attrs.get_int("height"));
  EXPECT_EQ(b.attrs.get_int("width"), a.attrs.get_int("width"));
  const TensorMap feeds = test::random_feeds(o.g, 3);
  EXPECT_TRUE(CpuExecutor(e.graph).run(feeds).at("y").same_bytes(CpuExecutor(o.g).run(feeds).at("y")));
}

// The SegFormer reference models: their decode head's 3 Resizes, 3 Adds, 4 Transposes and
// 4 Reshapes and the Relu become one ResizeSum; the logits stay as they were.
void expect_decode_head_fused(const std::string& name, bool golden) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / name;
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(plain, {"fuse_elementwise", "fuse_resize_sum"});
  EXPECT_EQ(run_passes(g, {"fuse_elementwise"}).fused.at("fuse_resize_sum"), 1);
  const auto before = plain.op_histogram(), after = g.op_histogram();
  EXPECT_EQ(count(after, "kiln.ResizeSum"), 1);
  EXPECT_EQ(count(before, "Resize") - count(after, "Resize"), 3);
  EXPECT_EQ(count(after, "Resize"), 0);
  EXPECT_EQ(count(before, "Add") - count(after, "Add"), 3);
  EXPECT_EQ(count(before, "Transpose") - count(after, "Transpose"), 4);
  EXPECT_EQ(count(before, "Reshape") - count(after, "Reshape"), 4);
  EXPECT_EQ(count(before, "Relu") - count(after, "Relu"), 1);
  for (const Node& n : g.nodes) EXPECT_FALSE(n.name.find("/decode_head/") != std::string::npos && n.op_type == "Add") << n.name;
  const Tensor fused = CpuExecutor(g).run(feeds).at("logits"), unfused = CpuExecutor(plain).run(feeds).at("logits");
  test::expect_close(fused, test::to_doubles(unfused), 1e-5, 1e-5);
  if (golden) {
    const Tensor want = read_npy((dir / "golden" / "logits.npy").string());
    EXPECT_LE(test::compare_to_golden(fused, want).rel_l2, 1e-5);  // the model tests' fp32 bound
  }
}

TEST(FuseResizeSum, SegformerTinyDecodeHead) { expect_decode_head_fused("segformer_tiny", true); }

// An fp16 engine's graph (convert_to_fp16 after the pipeline): the ResizeSum reads and writes
// float16 and the logits stay within the fp16 model tests' bound of the goldens.
TEST(FuseResizeSum, SegformerTinyFp16) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(g, {"fuse_elementwise"});
  convert_to_fp16(g);
  const Node* n = find_op(g, "ResizeSum");
  ASSERT_NE(n, nullptr);
  for (const std::string& in : n->inputs) EXPECT_EQ(g.value(in).type.dtype, DType::kF16) << in;
  EXPECT_EQ(g.value(n->outputs[0]).type.dtype, DType::kF16);
  const Tensor want = read_npy((dir / "golden" / "logits.npy").string());
  EXPECT_LE(test::compare_to_golden(CpuExecutor(g).run(feeds).at("logits"), want).rel_l2, 1e-2);
}
TEST(FuseResizeSum, SegformerB0DecodeHead) { expect_decode_head_fused("segformer_b0", false); }

}  // namespace
}  // namespace kiln
