// commute_resize_conv: a 1x1 Conv over Concat(Resize(y_i), ...) becomes per-branch convs at the
// branches' own resolution, resized and summed. Checked three ways: op counts (also on the
// SegFormer reference models), the rewritten graph against the pipeline without the pass on
// random inputs (summation order changes, so within fp32 rounding, not bit-exact), and the
// cases it must leave alone.
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/output_compare.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

void set_string_attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

struct BranchSpec {
  int64_t channels = 3;
  Dims from;                   // spatial dims before a Resize; empty: no Resize
  int64_t channel_scale = 1;   // the Resize also scales the channel axis (input has channels / this)
  int64_t batch_scale = 1;     // ... or the batch axis
};

// x_i ─[Resize]─▶ r_i ─▶ Concat ─▶ cat ─▶ Conv ─▶ c ─▶ Relu ─▶ y
struct Head {
  int64_t B = 2, M = 5;
  Dims out = {6, 8};  // spatial dims at the Concat
  std::vector<BranchSpec> branches = {{3, {}}, {4, {3, 4}}, {2, {2, 2}}, {3, {3, 2}}};
  std::string mode = "linear", coord = "half_pixel";
  bool sizes = false;
  int64_t axis = 1;
  int64_t k = 1, stride = 1, pad = 0, group = 1;
  bool bias = true, constant_w = true, constant_bias = true;
  int64_t antialias = 0, exclude_outside = 0;
  int opset = 17;
  DType dt = DType::kF32;
  std::string second_use;  // an intermediate ("cat", "r1") also read by a Relu → graph output "z"
  std::string as_output;   // an intermediate that is also a graph output
};

Tensor i64(const Dims& v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

std::string build(const Head& h) {
  test::ModelBuilder b(h.opset);
  b.output("y", h.dt);
  std::vector<std::string> cat;
  int64_t channels = 0;
  for (size_t i = 0; i < h.branches.size(); ++i) {
    const BranchSpec& s = h.branches[i];
    const std::string x = "x" + std::to_string(i), r = "r" + std::to_string(i);
    channels += s.channels;
    if (s.from.empty()) {
      Dims dims = {h.B, s.channels};
      dims.insert(dims.end(), h.out.begin(), h.out.end());
      b.input(x, h.dt, dims);
      cat.push_back(x);
      continue;
    }
    Dims dims = {h.B / s.batch_scale, s.channels / s.channel_scale};
    dims.insert(dims.end(), s.from.begin(), s.from.end());
    b.input(x, h.dt, dims);
    Dims target = {h.B, s.channels};
    target.insert(target.end(), h.out.begin(), h.out.end());
    std::vector<float> scales = {float(s.batch_scale), float(s.channel_scale)};
    for (size_t d = 0; d < s.from.size(); ++d) scales.push_back(float(h.out[d]) / float(s.from[d]));
    if (h.sizes) b.initializer("sizes" + std::to_string(i), i64(target));
    else b.initializer("scales" + std::to_string(i), Tensor::from_vector<float>({int64_t(scales.size())}, scales));
    const std::string arg = (h.sizes ? "sizes" : "scales") + std::to_string(i);
    std::string roi;
    if (h.coord == "tf_crop_and_resize") {  // the whole image as the crop
      std::vector<float> box(dims.size(), 0.0f);
      box.resize(2 * dims.size(), 1.0f);
      b.initializer(roi = "roi" + std::to_string(i), Tensor::from_vector<float>({int64_t(box.size())}, box));
    }
    onnx::NodeProto& n = h.sizes ? b.node("Resize", {x, roi, "", arg}, {r}) : b.node("Resize", {x, roi, arg}, {r});
    set_string_attr(n, "mode", h.mode);
    set_string_attr(n, "coordinate_transformation_mode", h.coord);
    if (h.antialias) test::set_int_attr(n, "antialias", h.antialias);
    if (h.exclude_outside) test::set_int_attr(n, "exclude_outside", h.exclude_outside);
    cat.push_back(r);
  }
  // Concat on another axis needs equal channels: the conv then sees the first branch's count.
  const int64_t c_in = h.axis == 1 || h.axis == -int64_t(h.out.size()) - 1 ? channels : h.branches[0].channels;
  test::set_int_attr(b.node("Concat", cat, {"cat"}), "axis", h.axis);
  Dims wdims = {h.M, c_in / h.group};
  for (size_t d = 0; d < h.out.size(); ++d) wdims.push_back(h.k);
  const Tensor w = test::random_tensor(h.dt, wdims, 11), bias = test::random_tensor(h.dt, {h.M}, 12);
  if (h.constant_w) b.initializer("w", w);
  else b.input("w", h.dt, w.dims());
  if (h.constant_bias) b.initializer("bias", bias);
  else b.input("bias", h.dt, bias.dims());
  std::vector<std::string> conv_in = {"cat", "w"};
  if (h.bias) conv_in.push_back("bias");
  onnx::NodeProto& conv = b.node("Conv", conv_in, {"c"});
  conv.set_name("linear_fuse");
  test::set_int_attr(conv, "group", h.group);
  test::set_ints_attr(conv, "kernel_shape", Dims(h.out.size(), h.k));
  test::set_ints_attr(conv, "strides", Dims(h.out.size(), h.stride));
  test::set_ints_attr(conv, "pads", Dims(2 * h.out.size(), h.pad));
  b.node("Relu", {"c"}, {"y"});
  if (!h.second_use.empty()) {
    b.node("Relu", {h.second_use}, {"z"});
    b.output("z", h.dt);
  }
  if (!h.as_output.empty()) b.output(h.as_output, h.dt);
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> before, after;
  Graph g;
};

// Runs the pipeline with and without the pass and compares every output on random inputs.
Outcome run(const Head& h, double tolerance = 1e-6) {
  const std::string bytes = build(h);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  // Without fuse_resize_sum, which would sum the rewritten branches in one node, and
  // fuse_conv_epilogue, which would take a branch's Add into its Conv: the op counts below are
  // this pass's.
  run_passes(plain, {"fuse_elementwise", "commute_resize_conv", "fuse_resize_sum", "fuse_conv_epilogue"});
  const int fired = run_passes(g, {"fuse_elementwise", "fuse_resize_sum", "fuse_conv_epilogue"}).fused.at("commute_resize_conv");
  TensorMap feeds;
  uint64_t seed = 3;
  for (const std::string& in : plain.inputs)
    feeds[in] = test::random_tensor(h.dt, shape_dims(*plain.value(in).type.shape), seed++);
  TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
  for (const std::string& out : plain.outputs) {
    EXPECT_EQ(dims_to_string(got.at(out).dims()), dims_to_string(want.at(out).dims())) << out;
    EXPECT_LE(compare_output(got.at(out), want.at(out), "unrewritten").rel_l2, tolerance) << out;
    if (!fired) {
      EXPECT_TRUE(got.at(out).same_bytes(want.at(out))) << out;
    }
  }
  return {fired, plain.op_histogram(), g.op_histogram(), std::move(g)};
}

// Fired once: one Conv per branch, one Resize per resized branch, n − 1 Adds, no Concat.
void expect_rewritten(const Head& h, double tolerance = 1e-6) {
  Outcome o = run(h, tolerance);
  ASSERT_EQ(o.fired, 1);
  const int n = int(h.branches.size());
  int resized = 0;
  for (const BranchSpec& s : h.branches) resized += !s.from.empty();
  EXPECT_EQ(o.after.count("Concat"), 0u);
  EXPECT_EQ(o.after.at("Conv"), n);
  EXPECT_EQ(o.after.count("Resize") ? o.after.at("Resize") : 0, resized);
  EXPECT_EQ(o.after.at("Add"), n - 1);
  // The bias rides on exactly one branch: the first without Resize, else the first.
  int with_bias = 0;
  for (const Node& node : o.g.nodes)
    if (node.op_type == "Conv" && node.has_input(2)) {
      ++with_bias;
      size_t first = 0;
      while (first < h.branches.size() && !h.branches[first].from.empty()) ++first;
      if (first == h.branches.size()) first = 0;
      EXPECT_EQ(node.inputs[0], "x" + std::to_string(first));
    }
  EXPECT_EQ(with_bias, h.bias ? 1 : 0);
  // The Conv's output keeps its name, now written by the last Add.
  bool found = false;
  for (const Node& node : o.g.nodes)
    if (node.outputs[0] == "c") found = node.op_type == "Add" && node.name == "linear_fuse";
  EXPECT_TRUE(found);
}

TEST(CommuteResizeConv, LinearNearestCubic) {
  for (const char* mode : {"linear", "nearest", "cubic"})
    for (const char* coord : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"}) {
      SCOPED_TRACE(std::string(mode) + " " + coord);
      expect_rewritten({.mode = mode, .coord = coord});
      expect_rewritten({.mode = mode, .coord = coord, .sizes = true});
    }
}

TEST(CommuteResizeConv, BiasBranchesAndAxes) {
  expect_rewritten({.bias = false});
  // Every branch resized: the bias goes to the first.
  expect_rewritten({.branches = {{4, {3, 4}}, {2, {2, 2}}}});
  expect_rewritten({.branches = {{4, {3, 4}}, {2, {2, 2}}}, .sizes = true, .bias = false});
  expect_rewritten({.axis = -3});
  // SegFormer's shape: equal channels, stages at 1/1, 1/2, 1/4, 1/8, more outputs than inputs.
  expect_rewritten({.B = 1, .M = 7, .out = {16, 16}, .branches = {{4, {2, 2}}, {4, {4, 4}}, {4, {8, 8}}, {4, {}}}});
  // Non-integer ratios through sizes (scales would not give these lengths exactly).
  expect_rewritten({.out = {7, 5}, .branches = {{3, {}}, {2, {3, 2}}, {4, {5, 3}}}, .sizes = true});
  expect_rewritten({.opset = 18});
  expect_rewritten({.mode = "cubic", .coord = "half_pixel_symmetric", .sizes = true, .opset = 19});
}

TEST(CommuteResizeConv, HalfPrecisionFires) {
  // fp16 outputs are rounded per branch now: agreement within fp16 epsilon (2^-10), not fp32's.
  expect_rewritten({.dt = DType::kF16}, 1e-3);
}

int fired(const Head& h) {
  Outcome o = run(h);
  if (o.fired == 0) {
    EXPECT_EQ(o.after, o.before);
  }
  return o.fired;
}

TEST(CommuteResizeConv, RefusesOtherConcatAxes) {
  const std::vector<BranchSpec> equal = {{3, {}}, {3, {3, 4}}};
  EXPECT_EQ(fired({.branches = equal, .axis = 3}), 0);
  EXPECT_EQ(fired({.branches = equal, .axis = -1}), 0);
  EXPECT_EQ(fired({.branches = equal, .axis = 2}), 0);
}

TEST(CommuteResizeConv, RefusesResizesOfBatchOrChannels) {
  // Nearest doubles the channels (2 → 4): the conv's W_i would see interleaved copies.
  EXPECT_EQ(fired({.branches = {{3, {}}, {4, {3, 4}, 2}}, .mode = "nearest"}), 0);
  EXPECT_EQ(fired({.branches = {{3, {}}, {4, {3, 4}, 2}}, .mode = "nearest", .sizes = true}), 0);
  EXPECT_EQ(fired({.branches = {{3, {}}, {4, {3, 4}, 1, 2}}, .mode = "nearest"}), 0);
  EXPECT_EQ(fired({.branches = {{3, {}}, {4, {3, 4}, 1, 2}}, .mode = "nearest", .sizes = true}), 0);
}

TEST(CommuteResizeConv, RefusesConvsThatAreNot1x1Dense) {
  EXPECT_EQ(fired({.k = 3, .pad = 1}), 0);
  EXPECT_EQ(fired({.stride = 2}), 0);
  EXPECT_EQ(fired({.pad = 1}), 0);  // 1x1 with zero padding around: the border differs
  EXPECT_EQ(fired({.M = 6, .branches = {{4, {}}, {4, {3, 4}}}, .group = 2}), 0);
  EXPECT_EQ(fired({.constant_w = false}), 0);
  EXPECT_EQ(fired({.constant_bias = false}), 0);
}

TEST(CommuteResizeConv, RefusesSharedIntermediates) {
  for (const char* v : {"cat", "r1"}) {
    SCOPED_TRACE(v);
    EXPECT_EQ(fired({.second_use = v}), 0);
    EXPECT_EQ(fired({.as_output = v}), 0);
  }
}

TEST(CommuteResizeConv, RefusesResizesThatAreNotAverages) {
  EXPECT_EQ(fired({.coord = "tf_crop_and_resize"}), 0);
  EXPECT_EQ(fired({.antialias = 1, .opset = 18}), 0);
  EXPECT_EQ(fired({.mode = "cubic", .exclude_outside = 1}), 0);
}

TEST(CommuteResizeConv, RefusesOtherDtypesAndRanks) {
  EXPECT_EQ(fired({.dt = DType::kF64}), 0);
  EXPECT_EQ(fired({.out = {12}, .branches = {{3, {}}, {4, {3}}, {2, {6}}}}), 0);           // Conv 1-D
  EXPECT_EQ(fired({.out = {4, 4, 2}, .branches = {{3, {}}, {4, {2, 2, 1}}}}), 0);          // Conv 3-D
}

TEST(CommuteResizeConv, FiresOnlyWhenItSavesWork) {
  // Nothing resized: the same multiply-adds in smaller GEMMs, the Concat traded for Adds.
  EXPECT_EQ(fired({.branches = {{3, {}}, {4, {}}}}), 0);
  // A downsampled branch makes its conv run at the larger size: more work than before.
  EXPECT_EQ(fired({.branches = {{3, {}}, {4, {12, 16}}}}), 0);
  // Many outputs from few inputs: the resized outputs and Adds carry M channels, more than the
  // conv saves (before 8·2·16 + 1·16 + 2·16 = 304, after 8·16 + 8·16 + 8·4 + 8·16 = 416).
  EXPECT_EQ(fired({.M = 8, .out = {4, 4}, .branches = {{1, {}}, {1, {2, 2}}}}), 0);
  // The same with 16 channels upsampled: 2704 before, 896 after.
  expect_rewritten({.M = 8, .out = {4, 4}, .branches = {{1, {}}, {16, {2, 2}}}});
}

// The SegFormer reference models: one decode head each, three resized stages.
TEST(CommuteResizeConv, SegformerDecodeHeads) {
  for (const char* name : {"segformer_b0", "segformer_tiny"}) {
    SCOPED_TRACE(name);
    const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / name;
    ImportOptions import;
    test::reference_inputs(dir, &import);
    Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
    Graph g = import_onnx_file((dir / "model.onnx").string(), import);
    // Op counts of this pass alone: merge_linear_pointwise_conv would fold the new convs away,
    // fuse_resize_sum the Resizes and Adds.
    run_passes(plain, {"fuse_elementwise", "commute_resize_conv", "merge_linear_pointwise_conv", "fuse_resize_sum", "fuse_conv_epilogue"});
    EXPECT_EQ(run_passes(g, {"fuse_elementwise", "merge_linear_pointwise_conv", "fuse_resize_sum", "fuse_conv_epilogue"})
                  .fused.at("commute_resize_conv"),
              1);
    auto before = plain.op_histogram(), after = g.op_histogram();
    EXPECT_EQ(before["Concat"] - after["Concat"], 1);
    EXPECT_EQ(after["Conv"] - before["Conv"], 3);
    EXPECT_EQ(after["Add"] - before["Add"], 3);
    EXPECT_EQ(after["Resize"], before["Resize"]);
  }
}

TEST(CommuteResizeConv, SegformerTinyMatchesUnrewrittenAndGoldens) {
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  ASSERT_EQ(run_passes(g, {"fuse_elementwise"}).fused.at("commute_resize_conv"), 1);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(plain, {"fuse_elementwise", "commute_resize_conv"});
  const Tensor got = CpuExecutor(g).run(feeds).at("logits");
  const Tensor unrewritten = CpuExecutor(plain).run(feeds).at("logits");
  const Tensor golden = read_npy((dir / "golden" / "logits.npy").string());
  EXPECT_LE(compare_output(got, unrewritten, "unrewritten").rel_l2, 1e-6);
  EXPECT_LE(compare_output(got, golden, "golden").rel_l2, 1e-5);
}

}  // namespace
}  // namespace kiln
