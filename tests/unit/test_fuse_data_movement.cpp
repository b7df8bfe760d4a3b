// fuse_data_movement three ways: it fires on Swin's window chains (built here at awkward sizes
// in four dtypes, and mask2former_tiny's backbone) and on the other test models as counted
// below; the fused graph computes exactly what the unfused one does (the same bytes: it is a
// copy); Swin's patch merging too; and it leaves alone what it must not take (an intermediate read elsewhere, Pad reflect,
// a Concat of unrelated tensors, a negative step, symbolic dims, a lone copy, Pads with two
// fill values in one node). Also: the node survives the engine file and fp16 conversion.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "fusion_test_util.h"
#include "io/npy.h"
#include "onnx/importer.h"
#include "passes/convert_precision.h"
#include "passes/pattern.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

using test::set_int_attr;
using test::set_ints_attr;

struct Layer {
  DType dt = DType::kF32;
  int64_t B = 2, H = 13, W = 11, C = 6, win = 4, shift = 2;
  bool symbolic = false;           // B is a symbolic dim
  std::string pad_mode = "constant";
  double fill = 0, fill_w = 0;     // the constant of the H pad and of the W pad
  bool pad_is_output = false;      // the padded tensor is a graph output too
  bool unrelated_concat = false;   // the H roll's second piece comes from another input
  bool reverse_step = false;       // the crop on the way back is a step −1 slice (then flipped back)
  int64_t Hp() const { return (H + win - 1) / win * win; }
  int64_t Wp() const { return (W + win - 1) / win * win; }
  int64_t windows() const { return B * (Hp() / win) * (Wp() / win); }
};

Tensor i64(const std::vector<int64_t>& v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

Tensor scalar_of(DType dt, double v) {
  Tensor t(dt, {});
  visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) t.data<T>()[0] = from_double<T>(v);
  });
  return t;
}

struct Names {
  test::ModelBuilder& b;
  int k = 0;
  std::string c(const Tensor& t) {
    const std::string n = "c" + std::to_string(k++);
    b.initializer(n, t);
    return n;
  }
};

// torch.roll(x, shift, axis) as exported: Concat(x[-shift:], x[:-shift]) along axis.
std::string roll(test::ModelBuilder& b, Names& c, const std::string& x, int64_t axis, int64_t n, int64_t shift,
                 const std::string& tag, const std::string& other = "") {
  const int64_t cut = ((n - shift) % n + n) % n;
  b.node("Slice", {x, c.c(i64({cut})), c.c(i64({n})), c.c(i64({axis}))}, {tag + "a"});
  b.node("Slice", {other.empty() ? x : other, c.c(i64({0})), c.c(i64({cut})), c.c(i64({axis}))}, {tag + "b"});
  set_int_attr(b.node("Concat", {tag + "a", tag + "b"}, {tag}), "axis", axis);
  return tag;
}

// x [B, H·W, C] → windows [B·nW, win², C]; w [B·nW, win², C] → tokens [B, H·W, C].
std::string build(const Layer& s) {
  test::ModelBuilder b(17);
  Names c{b};
  const int64_t B = s.B, Hp = s.Hp(), Wp = s.Wp(), k = s.win;
  b.input("x", s.dt, {s.symbolic ? -1 : B, s.H * s.W, s.C});
  b.input("w", s.dt, {s.windows(), k * k, s.C});
  if (s.unrelated_concat) b.input("other", s.dt, {B, Hp, Wp, s.C});
  const int64_t b0 = s.symbolic ? 0 : B;  // Reshape's 0: copy the dim
  b.node("Reshape", {"x", c.c(i64({b0, s.H, s.W, s.C}))}, {"r"});
  std::vector<std::string> pad_in = {"r", c.c(i64({0, 0, 0, 0, 0, Hp - s.H, 0, 0})), c.c(scalar_of(s.dt, s.fill))};
  b.node("Pad", pad_in, {"ph"}).add_attribute()->CopyFrom([&] {
    onnx::AttributeProto a;
    a.set_name("mode");
    a.set_type(onnx::AttributeProto::STRING);
    a.set_s(s.pad_mode);
    return a;
  }());
  b.node("Pad", {"ph", c.c(i64({0, 0, 0, 0, 0, 0, Wp - s.W, 0})), c.c(scalar_of(s.dt, s.fill_w))}, {"p"});
  std::string v = "p";
  if (s.shift) {
    v = roll(b, c, v, 1, Hp, -s.shift, "rh", s.unrelated_concat ? "other" : "");
    v = roll(b, c, v, 2, Wp, -s.shift, "rw");
  }
  b.node("Reshape", {v, c.c(i64({b0, Hp / k, k, Wp / k, k, s.C}))}, {"parts"});
  set_ints_attr(b.node("Transpose", {"parts"}, {"pt"}), "perm", {0, 1, 3, 2, 4, 5});
  b.node("Reshape", {"pt", c.c(i64({-1, k * k, s.C}))}, {"windows"});
  b.output("windows", s.dt);
  if (s.pad_is_output) b.output("ph", s.dt);
  // The way back.
  b.node("Reshape", {"w", c.c(i64({B, Hp / k, Wp / k, k, k, s.C}))}, {"wparts"});
  set_ints_attr(b.node("Transpose", {"wparts"}, {"wt"}), "perm", {0, 1, 3, 2, 4, 5});
  b.node("Reshape", {"wt", c.c(i64({B, Hp, Wp, s.C}))}, {"wimg"});
  v = "wimg";
  if (s.shift) {
    v = roll(b, c, v, 1, Hp, s.shift, "bh");
    v = roll(b, c, v, 2, Wp, s.shift, "bw");
  }
  if (s.reverse_step) {  // crop H back to front, then flip again
    b.node("Slice", {v, c.c(i64({s.H - 1, 0})), c.c(i64({INT64_MIN, s.W})), c.c(i64({1, 2})), c.c(i64({-1, 1}))}, {"cr"});
    b.node("Slice", {"cr", c.c(i64({-1})), c.c(i64({INT64_MIN})), c.c(i64({1})), c.c(i64({-1}))}, {"crop"});
  } else {
    b.node("Slice", {v, c.c(i64({0, 0})), c.c(i64({s.H, s.W})), c.c(i64({1, 2}))}, {"crop"});
  }
  b.node("Reshape", {"crop", c.c(i64({B, s.H * s.W, s.C}))}, {"tokens"});
  b.output("tokens", s.dt);
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  Graph g;
};

TensorMap feeds_for(const Layer& s, const Graph& g, uint64_t seed) {
  TensorMap f;
  for (const std::string& name : g.inputs) {
    const ValueType& t = g.value(name).type;
    Dims d = shape_dims(*t.shape);
    f[name] = test::random_tensor(t.dtype, d, seed++, -50, 50);
  }
  return f;
}

// The layer through the pipeline with and without the pass: the same bytes out.
Outcome run(const Layer& s) {
  const std::string bytes = build(s);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_data_movement"});
  const PassReport r = run_passes(g);
  if (!s.symbolic) {
    const TensorMap feeds = feeds_for(s, g, 7);
    const TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
    for (const auto& [name, t] : want) {
      SCOPED_TRACE(name);
      EXPECT_EQ(got.at(name).dims(), t.dims());
      EXPECT_TRUE(got.at(name).same_bytes(t));
    }
  }
  return {r.fused.at("fuse_data_movement"), std::move(g)};
}

int count(const Graph& g, const char* op) { return test::count_op(g, op); }

int copies_left(const Graph& g) {
  return count(g, "Transpose") + count(g, "Slice") + count(g, "Concat") + count(g, "Pad");
}

TEST(FuseDataMovement, SwinWindowChainsInEveryDtype) {
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64, DType::kBool})
    for (int64_t shift : {0, 2}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " shift " + std::to_string(shift));
      Layer s;
      s.dt = dt;
      s.shift = shift;
      Outcome o = run(s);
      EXPECT_EQ(o.fired, 2);  // one gather before the attention, one after
      EXPECT_EQ(count(o.g, "kiln.Remap"), 2);
      EXPECT_EQ(copies_left(o.g), 0);
      EXPECT_EQ(o.g.nodes.size(), 2u);
    }
}

TEST(FuseDataMovement, PadWithAValueKeepsIt) {
  Layer s;
  s.fill = s.fill_w = 2.5;
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 2);
  int with_fill = 0;
  for (const Node& n : o.g.nodes)
    if (n.op_type == "Remap" && n.inputs.size() == 2) {
      EXPECT_EQ(*scalar_constant(o.g, n.inputs[1]), 2.5);
      ++with_fill;
    }
  EXPECT_EQ(with_fill, 1);  // the way in; the way back pads nothing
}

TEST(FuseDataMovement, TwoFillValuesStayInTwoNodes) {
  Layer s;
  s.fill_w = 1;
  Outcome o = run(s);
  EXPECT_EQ(o.fired, 2);
  EXPECT_EQ(count(o.g, "Pad"), 1);  // the first Pad on its own: one copy, not worth a node
}

TEST(FuseDataMovement, LeavesAloneWhatItMustNotTake) {
  {
    SCOPED_TRACE("Pad reflect");
    Layer s;
    s.pad_mode = "reflect";
    s.fill = 0;
    Outcome o = run(s);
    EXPECT_EQ(count(o.g, "Pad"), 1);
  }
  {
    SCOPED_TRACE("the padded tensor is a graph output");
    Layer s;
    s.pad_is_output = true;
    Outcome o = run(s);
    EXPECT_GE(count(o.g, "Pad"), 1);
    for (const Node& n : o.g.nodes)
      if (n.op_type == "Remap") {
        EXPECT_NE(n.outputs[0], "ph");
      }
  }
  {
    SCOPED_TRACE("Concat of unrelated tensors");
    Layer s;
    s.unrelated_concat = true;
    Outcome o = run(s);
    EXPECT_EQ(count(o.g, "Concat"), 1);
  }
  {
    SCOPED_TRACE("negative step");
    Layer s;
    s.reverse_step = true;
    Outcome o = run(s);
    EXPECT_GE(count(o.g, "Slice"), 1);
  }
  {
    SCOPED_TRACE("symbolic batch");
    Layer s;
    s.symbolic = true;
    EXPECT_EQ(run(s).fired, 1);  // only the way back, whose dims are all known
  }
}

TEST(FuseDataMovement, ALoneCopyStays) {
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {2, 12, 5});
  b.initializer("s", i64({2, 3, 4, 5}));
  b.node("Reshape", {"x", "s"}, {"r"});
  set_ints_attr(b.node("Transpose", {"r"}, {"y"}), "perm", {0, 2, 1, 3});
  b.output("y", DType::kF32);
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  EXPECT_EQ(run_passes(g).fused.at("fuse_data_movement"), 0);
  EXPECT_EQ(count(g, "Transpose"), 1);
}

TEST(FuseDataMovement, DisablePassKeepsTheChain) {
  Graph g = import_onnx_bytes(build(Layer{}), ".", "m.onnx");
  EXPECT_EQ(run_passes(g, {"fuse_data_movement"}).fused.at("fuse_data_movement"), 0);
  EXPECT_EQ(count(g, "kiln.Remap"), 0);
}

TEST(FuseDataMovement, SurvivesTheEngineFileAndFp16) {
  Layer s;
  s.fill = s.fill_w = 1.5;
  Outcome o = run(s);
  Engine e = engine_from_bytes(engine_to_bytes(o.g, {"cpu", ""}), "engine file m.kiln");
  EXPECT_EQ(count(e.graph, "kiln.Remap"), 2);
  const TensorMap feeds = feeds_for(s, o.g, 3);
  const TensorMap want = CpuExecutor(o.g).run(feeds);
  const TensorMap got = CpuExecutor(e.graph).run(feeds);
  for (const auto& [name, t] : want) EXPECT_TRUE(got.at(name).same_bytes(t)) << name;
  // fp16: the node and its fill move to half; only rounding changes.
  Graph h = o.g;
  convert_to_fp16(h);
  for (const Node& n : h.nodes) {
    if (n.op_type != "Remap") continue;
    EXPECT_EQ(h.value(n.inputs[0]).type.dtype, DType::kF16);
    if (n.inputs.size() == 2) {
      EXPECT_EQ(h.value(n.inputs[1]).type.dtype, DType::kF16);
    }
  }
  const TensorMap half = CpuExecutor(h).run(feeds);
  for (const auto& [name, t] : want) test::expect_close(half.at(name), test::to_doubles(t), 0.05, 1e-3);
}

// Swin's patch merging as exported: x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2],
// x[:, 1::2, 1::2] (the H slices shared by two W slices each) concatenated along the channels.
// `along_h`: the halves x[:, 0::2] and x[:, 1::2] concatenated along H instead — an axis they
// slice, which the interleaved form does not hold.
std::string patch_merging(DType dt, bool along_h) {
  test::ModelBuilder b(17);
  Names c{b};
  const int64_t B = 2, H = 6, W = 10, C = 3;
  b.input("x", dt, {B, H * W, C});
  b.node("Reshape", {"x", c.c(i64({B, H, W, C}))}, {"r"});
  auto slice = [&](const std::string& in, int64_t axis, int64_t start, const std::string& out) {
    b.node("Slice", {in, c.c(i64({start})), c.c(i64({INT64_MAX})), c.c(i64({axis})), c.c(i64({2}))}, {out});
  };
  slice("r", 1, 0, "h0");
  slice("r", 1, 1, "h1");
  if (along_h) {
    set_int_attr(b.node("Concat", {"h0", "h1"}, {"y"}), "axis", 1);
  } else {
    slice("h0", 2, 0, "x0");
    slice("h1", 2, 0, "x1");
    slice("h0", 2, 1, "x2");
    slice("h1", 2, 1, "x3");
    set_int_attr(b.node("Concat", {"x0", "x1", "x2", "x3"}, {"m"}), "axis", -1);
    b.node("Reshape", {"m", c.c(i64({B, H * W / 4, 4 * C}))}, {"y"});
  }
  b.output("y", dt);
  return b.bytes();
}

TEST(FuseDataMovement, PatchMerging) {
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64, DType::kBool}) {
    SCOPED_TRACE(dtype_name(dt));
    const std::string bytes = patch_merging(dt, false);
    Graph plain = import_onnx_bytes(bytes, ".", "m.onnx"), g = import_onnx_bytes(bytes, ".", "m.onnx");
    run_passes(plain, {"fuse_data_movement"});
    EXPECT_EQ(run_passes(g).fused.at("fuse_data_movement"), 1);
    EXPECT_EQ(count(g, "kiln.Remap"), 1);
    EXPECT_EQ(copies_left(g), 0);
    const TensorMap feeds = test::random_feeds(g, 11, -50, 50);
    EXPECT_TRUE(CpuExecutor(g).run(feeds).at("y").same_bytes(CpuExecutor(plain).run(feeds).at("y")));
  }
  Graph g = import_onnx_bytes(patch_merging(DType::kF32, true), ".", "m.onnx");
  EXPECT_EQ(run_passes(g).fused.at("fuse_data_movement"), 0);
  EXPECT_EQ(count(g, "Concat"), 1);
}

// A test model through the pipeline with and without the pass: every other pass fires as often,
// the outputs are the same bytes and within 1e-5 of the PyTorch goldens.
struct ModelCounts {
  int fired = 0;
  std::map<std::string, int> before, after;  // Transpose, Slice, Concat, Pad, kiln.Remap
};

ModelCounts check_model(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / name;
  ImportOptions import;
  const TensorMap feeds = test::reference_inputs(dir, &import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  const PassReport rp = run_passes(plain, {"fuse_data_movement"}), r = run_passes(g);
  for (const auto& [pass, n] : rp.fused)
    if (pass != "fuse_data_movement") {
      EXPECT_EQ(r.fused.at(pass), n) << pass;
    }
  ModelCounts m{r.fused.at("fuse_data_movement"), {}, {}};
  for (const char* op : {"Transpose", "Slice", "Concat", "Pad", "Reshape", "kiln.Remap"}) {
    m.before[op] = count(plain, op);
    m.after[op] = count(g, op);
  }
  std::printf("%s: fuse_data_movement %d;", name.c_str(), m.fired);
  for (const auto& [op, n] : m.before) std::printf(" %s %d -> %d", op.c_str(), n, m.after.at(op));
  std::printf("; nodes %zu -> %zu\n", plain.nodes.size(), g.nodes.size());
  const TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
  for (const auto& [out, t] : want) {
    SCOPED_TRACE(out);
    EXPECT_TRUE(got.at(out).same_bytes(t));
    const fs::path golden = dir / "golden" / (out + ".npy");
    if (fs::exists(golden)) {
      EXPECT_LE(test::compare_to_golden(got.at(out), read_npy(golden.string())).rel_l2, 1e-5);
    }
  }
  return m;
}

// mask2former_tiny's Swin backbone (blocks 2, 2, 2, 1; 128×128 pictures, so every stage pads
// to windows of 7): one gather in and one out per block — but stage 4, one 7×7 window, whose
// way in is Reshape → Pad → Reshape, a single copy left as it is — one per patch merging (six
// strided Slices and a Concat), plus three Slice → Transpose reads in the pixel decoder.
TEST(FuseDataMovement, Mask2FormerTiny) {
  const ModelCounts m = check_model("mask2former_tiny");
  EXPECT_EQ(m.fired, 19);
  EXPECT_EQ(m.after.at("kiln.Remap"), 19);
  EXPECT_EQ(m.before.at("Pad"), 7);
  EXPECT_EQ(m.after.at("Pad"), 1);
  EXPECT_EQ(m.before.at("Concat") - m.after.at("Concat"), 15);
  EXPECT_EQ(m.before.at("Slice") - m.after.at("Slice"), 59);
  EXPECT_EQ(m.before.at("Transpose") - m.after.at("Transpose"), 15);
  EXPECT_EQ(m.after.at("Slice"), 0);
}

TEST(FuseDataMovement, OtherTestModels) {
  EXPECT_EQ(check_model("anchor_detr_tiny").fired, 0);
  const ModelCounts detr = check_model("detr_tiny");  // the position embedding's permute, flatten, permute:
  EXPECT_EQ(detr.fired, 1);                              // the elements stay in order, a Reshape
  EXPECT_EQ(detr.before.at("Transpose") - detr.after.at("Transpose"), 2);
  EXPECT_EQ(detr.after.at("kiln.Remap"), 0);
  // Each stage's NHWC → NCHW → tokens into the decode head: no copy left (the next stage's patch
  // embedding reads the tokens, fuse_token_im2col_conv, so stages 1-3 have the decode head alone).
  const ModelCounts seg = check_model("segformer_tiny");
  EXPECT_EQ(seg.fired, 4);
  EXPECT_EQ(seg.before.at("Transpose") - seg.after.at("Transpose"), 8);
  EXPECT_EQ(seg.after.at("kiln.Remap"), 0);
}

}  // namespace
}  // namespace kiln
