// fuse_gelu: fires on the GELU spellings exporters write (op counts, opset and mode of the Gelu),
// computes what the decomposed graph computes, and refuses lookalikes that compute something else.
#include <filesystem>

#include "fusion_test_util.h"
#include "passes/fuse_gelu.h"

namespace kiln {
namespace {

using test::ModelBuilder;

Tensor f32(float v) { return Tensor::scalar<float>(v); }

// The erf form, in the groupings exporters write; Consts overrides constants to build lookalikes.
enum class Erf { kTorchExport, kHalfFirst, kConstFirst, kHalfOfSum, kDivByTwo };

struct Consts {
  float sqrt2 = 1.41421356f, inv_sqrt2 = 0.70710678f, one = 1.f, half = 0.5f, two = 2.f;
};

ModelBuilder erf_gelu(Erf form, const Consts& c = {}, const std::vector<int64_t>& dims = {2, 5, 33}) {
  ModelBuilder b;
  b.input("x", DType::kF32, dims).output("y", DType::kF32);
  b.initializer("sqrt2", f32(c.sqrt2)).initializer("inv_sqrt2", f32(c.inv_sqrt2)).initializer("one", f32(c.one));
  b.initializer("half", f32(c.half)).initializer("two", f32(c.two));
  switch (form) {
    case Erf::kTorchExport:  // torch.onnx of nn.GELU(): (x · (erf(x / √2) + 1)) · 0.5
      b.node("Div", {"x", "sqrt2"}, {"d"});
      b.node("Erf", {"d"}, {"e"});
      b.node("Add", {"e", "one"}, {"s"});
      b.node("Mul", {"x", "s"}, {"p"});
      b.node("Mul", {"p", "half"}, {"y"});
      break;
    case Erf::kHalfFirst:  // x · 0.5 · (1 + erf(x / √2))
      b.node("Mul", {"x", "half"}, {"h"});
      b.node("Div", {"x", "sqrt2"}, {"d"});
      b.node("Erf", {"d"}, {"e"});
      b.node("Add", {"e", "one"}, {"s"});
      b.node("Mul", {"h", "s"}, {"y"});
      break;
    case Erf::kConstFirst:  // 0.5 · x · (1 + erf(x · 1/√2)), constants on the left
      b.node("Mul", {"half", "x"}, {"h"});
      b.node("Mul", {"inv_sqrt2", "x"}, {"d"});
      b.node("Erf", {"d"}, {"e"});
      b.node("Add", {"one", "e"}, {"s"});
      b.node("Mul", {"s", "h"}, {"y"});
      break;
    case Erf::kHalfOfSum:  // x · (0.5 · (1 + erf(x · 1/√2)))
      b.node("Mul", {"x", "inv_sqrt2"}, {"d"});
      b.node("Erf", {"d"}, {"e"});
      b.node("Add", {"e", "one"}, {"s"});
      b.node("Mul", {"half", "s"}, {"t"});
      b.node("Mul", {"x", "t"}, {"y"});
      break;
    case Erf::kDivByTwo:  // x · (1 + erf(x / √2)) / 2
      b.node("Div", {"x", "sqrt2"}, {"d"});
      b.node("Erf", {"d"}, {"e"});
      b.node("Add", {"e", "one"}, {"s"});
      b.node("Mul", {"s", "x"}, {"p"});
      b.node("Div", {"p", "two"}, {"y"});
      break;
  }
  return b;
}

// The tanh form: HF's NewGELU (Pow, 0.5·x first) or torch.onnx's (x·(x·x), ·0.5 last).
ModelBuilder tanh_gelu(bool pow_form, float kappa = 0.044715f, float beta = 0.7978845608f) {
  ModelBuilder b;
  b.input("x", DType::kF32, {3, 17}).output("y", DType::kF32);
  b.initializer("kappa", f32(kappa)).initializer("beta", f32(beta)).initializer("one", f32(1.f));
  b.initializer("half", f32(0.5f)).initializer("three", f32(3.f));
  if (pow_form) {
    b.node("Pow", {"x", "three"}, {"cube"});
  } else {
    b.node("Mul", {"x", "x"}, {"sq"});
    b.node("Mul", {"x", "sq"}, {"cube"});
  }
  b.node("Mul", {"kappa", "cube"}, {"kc"});
  b.node("Add", {"x", "kc"}, {"u"});
  b.node("Mul", {"beta", "u"}, {"v"});
  b.node("Tanh", {"v"}, {"t"});
  b.node("Add", {"one", "t"}, {"s"});
  if (pow_form) {
    b.node("Mul", {"half", "x"}, {"h"});
    b.node("Mul", {"h", "s"}, {"y"});
  } else {
    b.node("Mul", {"x", "s"}, {"p"});
    b.node("Mul", {"half", "p"}, {"y"});
  }
  return b;
}

// Fused to exactly one Gelu of the given mode, which computes what the decomposition computes.
void expect_one_gelu(const ModelBuilder& b, const std::string& mode) {
  PassReport r;
  Graph g = test::fused_graph(b, &r);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.op_type, "Gelu");
  EXPECT_EQ(n.domain, "");
  EXPECT_EQ(n.opset, 20);  // Gelu's definition, whatever the model's opset
  EXPECT_EQ(n.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(n.outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(n.attrs.get_string("approximate"), mode);
  EXPECT_EQ(r.fused.at("fuse_gelu"), 1);
  Graph ref = test::unfused_graph(b);
  EXPECT_GT(ref.nodes.size(), 4u);
  test::expect_same_outputs(ref, g, test::random_feeds(ref, 7), 1e-6, 1e-5);
}

TEST(FuseGelu, FiresOnEveryErfGrouping) {
  for (Erf form : {Erf::kTorchExport, Erf::kHalfFirst, Erf::kConstFirst, Erf::kHalfOfSum, Erf::kDivByTwo}) {
    SCOPED_TRACE(int(form));
    expect_one_gelu(erf_gelu(form), "none");
  }
}

TEST(FuseGelu, FiresOnTheTanhForm) {
  expect_one_gelu(tanh_gelu(true), "tanh");
  expect_one_gelu(tanh_gelu(false), "tanh");
}

TEST(FuseGelu, FiresWithSymbolicDimsAndStaysPutOnASecondRun) {
  Graph g = test::fused_graph(erf_gelu(Erf::kTorchExport, {}, {-1, 7}));
  ASSERT_EQ(test::count_op(g, "Gelu"), 1);
  EXPECT_EQ(fuse_gelu(g), 0);
  EXPECT_EQ(g.nodes.size(), 1u);
}

// fp16 constants sit within fp16 rounding of the exact values: √2 is 1.4140625.
TEST(FuseGelu, FiresOnFloat16Constants) {
  ModelBuilder b;
  b.input("x", DType::kF16, {4, 9}).output("y", DType::kF16);
  auto h = [](float v) { return Tensor::from_vector<f16>({}, {f16{float_to_f16(v)}}); };
  b.initializer("sqrt2", h(1.41421356f)).initializer("one", h(1.f)).initializer("half", h(0.5f));
  b.node("Div", {"x", "sqrt2"}, {"d"});
  b.node("Erf", {"d"}, {"e"});
  b.node("Add", {"e", "one"}, {"s"});
  b.node("Mul", {"x", "s"}, {"p"});
  b.node("Mul", {"p", "half"}, {"y"});
  Graph g = test::fused_graph(b);
  ASSERT_EQ(test::count_op(g, "Gelu"), 1);
  // The decomposition rounds to fp16 after each of its five ops, the Gelu once.
  test::expect_same_outputs(test::unfused_graph(b), g, test::random_feeds(g, 3), 4e-3, 4e-3);
}

void expect_no_gelu(const ModelBuilder& b) {
  PassReport r;
  Graph g = test::fused_graph(b, &r);
  EXPECT_EQ(test::count_op(g, "Gelu"), 0);
  EXPECT_EQ(r.fused.at("fuse_gelu"), 0);
  EXPECT_EQ(g.nodes.size(), test::unfused_graph(b).nodes.size());
}

TEST(FuseGelu, RefusesOtherConstants) {
  Consts c;
  c.half = 0.6f;
  expect_no_gelu(erf_gelu(Erf::kTorchExport, c));
  expect_no_gelu(erf_gelu(Erf::kHalfFirst, c));
  c = {};
  c.sqrt2 = 2.f;  // x / 2, not x / √2
  expect_no_gelu(erf_gelu(Erf::kTorchExport, c));
  c = {};
  c.inv_sqrt2 = 1.41421356f;  // x · √2
  expect_no_gelu(erf_gelu(Erf::kHalfOfSum, c));
  c = {};
  c.one = 2.f;
  expect_no_gelu(erf_gelu(Erf::kTorchExport, c));
  c = {};
  c.two = 3.f;
  expect_no_gelu(erf_gelu(Erf::kDivByTwo, c));
  c = {};
  c.sqrt2 = 1.4142f;  // four digits: not within float rounding of √2
  expect_no_gelu(erf_gelu(Erf::kTorchExport, c));
  expect_no_gelu(tanh_gelu(true, 0.05f));
  expect_no_gelu(tanh_gelu(false, 0.044715f, 0.8f));
}

TEST(FuseGelu, RefusesSwappedDivisionAndAnotherX) {
  ModelBuilder b;  // erf(√2 / x)
  b.input("x", DType::kF32, {6}).output("y", DType::kF32);
  b.initializer("sqrt2", f32(1.41421356f)).initializer("one", f32(1.f)).initializer("half", f32(0.5f));
  b.node("Div", {"sqrt2", "x"}, {"d"});
  b.node("Erf", {"d"}, {"e"});
  b.node("Add", {"e", "one"}, {"s"});
  b.node("Mul", {"x", "s"}, {"p"});
  b.node("Mul", {"p", "half"}, {"y"});
  expect_no_gelu(b);

  ModelBuilder z;  // z · 0.5 · (1 + erf(x / √2)): z is not x
  z.input("x", DType::kF32, {6}).input("z", DType::kF32, {6}).output("y", DType::kF32);
  z.initializer("sqrt2", f32(1.41421356f)).initializer("one", f32(1.f)).initializer("half", f32(0.5f));
  z.node("Div", {"x", "sqrt2"}, {"d"});
  z.node("Erf", {"d"}, {"e"});
  z.node("Add", {"e", "one"}, {"s"});
  z.node("Mul", {"z", "s"}, {"p"});
  z.node("Mul", {"p", "half"}, {"y"});
  expect_no_gelu(z);
}

TEST(FuseGelu, RefusesIntermediatesReadElsewhere) {
  for (const char* extra : {"d", "e", "s", "p"}) {
    SCOPED_TRACE(extra);
    ModelBuilder b = erf_gelu(Erf::kTorchExport);
    b.output(extra, DType::kF32);  // a graph output must survive
    expect_no_gelu(b);
    ModelBuilder c = erf_gelu(Erf::kTorchExport);
    c.output("z", DType::kF32);
    c.node("Neg", {extra}, {"z"});  // a second consumer
    expect_no_gelu(c);
  }
  ModelBuilder h = erf_gelu(Erf::kHalfFirst);  // the x · 0.5 branch read elsewhere
  h.output("h", DType::kF32);
  expect_no_gelu(h);
}

// A [1, 1] constant against x of rank 1 broadcasts y to [1, N]: not a Gelu of x.
TEST(FuseGelu, RefusesConstantsThatBroadcastTheShape) {
  ModelBuilder b = erf_gelu(Erf::kTorchExport, {}, {7});
  b.proto().mutable_graph()->mutable_initializer(3)->add_dims(1);  // "half" becomes [1]
  b.proto().mutable_graph()->mutable_initializer(3)->add_dims(1);  // ... and then [1, 1]
  expect_no_gelu(b);
}

// Integer x: Erf of integers exists in ONNX, but this is not GELU arithmetic. Built directly,
// since the pass reads only types and constants.
TEST(FuseGelu, RefusesIntegerTypes) {
  Graph g;
  for (const char* v : {"x", "d", "e", "s", "p", "y"}) {
    g.values[v].name = v;
    g.values[v].type = {DType::kI32, shape_of({4})};
  }
  for (const auto& [name, c] : std::vector<std::pair<std::string, float>>{{"sqrt2", 1.41421356f}, {"one", 1.f}, {"half", 0.5f}}) {
    g.values[name].name = name;
    g.values[name].type = {DType::kF32, shape_of({})};
    g.values[name].constant = Tensor::scalar<float>(c);
  }
  g.inputs = {"x"};
  g.outputs = {"y"};
  auto node = [&](const char* op, std::vector<std::string> in, std::string out) {
    Node n;
    n.name = out;
    n.op_type = op;
    n.opset = 17;
    n.inputs = std::move(in);
    n.outputs = {std::move(out)};
    g.nodes.push_back(n);
  };
  node("Div", {"x", "sqrt2"}, "d");
  node("Erf", {"d"}, "e");
  node("Add", {"e", "one"}, "s");
  node("Mul", {"x", "s"}, "p");
  node("Mul", {"p", "half"}, "y");
  EXPECT_EQ(fuse_gelu(g), 0);
  EXPECT_EQ(g.nodes.size(), 5u);
  g.values["x"].type.dtype = DType::kF32;  // the same graph with float x does fuse
  EXPECT_EQ(fuse_gelu(g), 1);
}

// The reference models: every exported GELU becomes a Gelu, and no Erf is left.
TEST(FuseGelu, FiresOnTheSegFormerModels) {
  struct M {
    const char* name;
    int gelus;
  };
  for (const M& m : {M{"segformer_tiny", 4}, M{"segformer_b0", 8}}) {
    SCOPED_TRACE(m.name);
    const std::string path = std::string(KILN_TEST_DIR) + "/models/" + m.name + "/model.onnx";
    Graph g = import_onnx_file(path);
    EXPECT_EQ(g.source_ops["Erf"], m.gelus);
    PassReport r = run_passes(g, {"fuse_elementwise", "fuse_dwconv_activation"});  // which would take them into the convs
    EXPECT_EQ(r.fused.at("fuse_gelu"), m.gelus);
    EXPECT_EQ(test::count_op(g, "Gelu"), m.gelus);
    EXPECT_EQ(test::count_op(g, "Erf"), 0);
  }
}

}  // namespace
}  // namespace kiln
