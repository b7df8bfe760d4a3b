// fuse_layer_norm: fires on the LayerNorm decompositions exporters write (Pow or Mul(d, d),
// Div or Mul-Reciprocal, with and without gamma/beta, axes as attribute or input), computes what
// the decomposed graph computes, and refuses lookalikes that compute something else.
#include "fusion_test_util.h"
#include "passes/fuse_layer_norm.h"

namespace kiln {
namespace {

using test::ModelBuilder;

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

Tensor scalar(DType dt, float v) {
  if (dt == DType::kF16) return Tensor::scalar<f16>(from_double<f16>(v));
  return Tensor::scalar<float>(v);
}

// x ─ReduceMean─▶ mean; d = x - mean; var = ReduceMean(d²); n = d / sqrt(var + eps);
// [· gamma] [+ beta] → y. Every field builds one variant or one lookalike.
struct Ln {
  int opset = 17;  // 18: axes as a constant input
  Dims dims = {2, 5, 8};
  bool pow = true;       // Pow(d, 2), else Mul(d, d)
  bool div = true;       // Div(d, s), else Mul(d, Reciprocal(s))
  bool gamma = true, beta = true;
  bool params_first = false;  // Mul(gamma, n), Add(beta, ·)
  Dims gamma_dims, beta_dims;  // empty: {C}
  std::vector<int64_t> axes1 = {-1}, axes2 = {-1};
  int64_t keepdims1 = 1, keepdims2 = 1;
  float eps = 1e-5f;
  DType dt = DType::kF32;  // x, eps, exponent, gamma, beta
  bool eps_input = false;  // eps a graph input, not a constant
  float exponent = 2.f;
  bool mean_of_other = false;  // ReduceMean over x2, subtracted from x
  std::string as_output;       // an intermediate that is also a graph output
};

ModelBuilder build(const Ln& c) {
  ModelBuilder b(c.opset);
  const int64_t C = c.dims.back();
  b.input("x", c.dt, c.dims).output("y", c.dt);
  if (c.mean_of_other) b.input("x2", c.dt, c.dims);
  if (c.eps_input) b.input("eps", c.dt, {});
  else b.initializer("eps", scalar(c.dt, c.eps));
  b.initializer("two", scalar(c.dt, c.exponent));
  b.initializer("gamma", test::random_tensor(c.dt, c.gamma_dims.empty() ? Dims{C} : c.gamma_dims, 21, 0.5, 2));
  b.initializer("beta", test::random_tensor(c.dt, c.beta_dims.empty() ? Dims{C} : c.beta_dims, 22));
  auto reduce = [&](const std::string& in, const std::string& out, const std::vector<int64_t>& axes,
                    int64_t keepdims) {
    std::vector<std::string> inputs = {in};
    if (c.opset >= 18) {
      b.initializer(out + "_axes", i64(axes));
      inputs.push_back(out + "_axes");
    }
    onnx::NodeProto& n = b.node("ReduceMean", inputs, {out});
    if (c.opset < 18) test::set_ints_attr(n, "axes", axes);
    test::set_int_attr(n, "keepdims", keepdims);
  };
  reduce(c.mean_of_other ? "x2" : "x", "mean", c.axes1, c.keepdims1);
  b.node("Sub", {"x", "mean"}, {"d"});
  if (c.pow) b.node("Pow", {"d", "two"}, {"sq"});
  else b.node("Mul", {"d", "d"}, {"sq"});
  reduce("sq", "var", c.axes2, c.keepdims2);
  b.node("Add", {"var", "eps"}, {"ve"});
  b.node("Sqrt", {"ve"}, {"s"});
  // The chain's last node is named "last" and writes "y".
  std::vector<std::string> tail;
  if (c.gamma) tail.push_back("Mul");
  if (c.beta) tail.push_back("Add");
  std::string cur = tail.empty() ? "y" : "n";
  onnx::NodeProto* last = nullptr;
  if (c.div) {
    last = &b.node("Div", {"d", "s"}, {cur});
  } else {
    b.node("Reciprocal", {"s"}, {"r"});
    last = &b.node("Mul", {"r", "d"}, {cur});
  }
  if (c.gamma) {
    const std::string out = c.beta ? "ng" : "y";
    const std::vector<std::string> in = c.params_first ? std::vector<std::string>{"gamma", cur}
                                                       : std::vector<std::string>{cur, "gamma"};
    last = &b.node("Mul", in, {out});
    cur = out;
  }
  if (c.beta) {
    const std::vector<std::string> in = c.params_first ? std::vector<std::string>{"beta", cur}
                                                       : std::vector<std::string>{cur, "beta"};
    last = &b.node("Add", in, {"y"});
  }
  last->set_name("last");
  if (!c.as_output.empty()) b.output(c.as_output, c.dt);
  return b;
}

Graph unfused(const ModelBuilder& b) {
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  run_passes(g, {"fuse_elementwise", "fuse_layer_norm"});
  return g;
}

// Exactly one LayerNormalization replaces the whole chain and computes what it computes.
void expect_fused(const Ln& c, double atol = 1e-5) {
  const ModelBuilder b = build(c);
  Graph ref = unfused(b);
  EXPECT_EQ(test::count_op(ref, "ReduceMean"), 2);
  EXPECT_EQ(test::count_op(ref, "LayerNormalization"), 0);
  const size_t ref_nodes = ref.nodes.size();
  EXPECT_EQ(ref_nodes, size_t(6 + (c.div ? 1 : 2) + c.gamma + c.beta));

  PassReport r;
  Graph g = test::fused_graph(b, &r);
  EXPECT_EQ(r.fused.at("fuse_layer_norm"), 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.op_type, "LayerNormalization");
  EXPECT_EQ(n.domain, "");
  EXPECT_EQ(n.opset, 17);
  EXPECT_EQ(n.name, "last");
  EXPECT_EQ(n.outputs, std::vector<std::string>{"y"});
  ASSERT_EQ(n.inputs.size(), c.beta ? 3u : 2u);
  EXPECT_EQ(n.inputs[0], "x");
  EXPECT_EQ(g.value(n.inputs[1]).constant->dims(), Dims{c.dims.back()});
  if (c.beta) {
    EXPECT_EQ(g.value(n.inputs[2]).constant->dims(), Dims{c.dims.back()});
  }
  EXPECT_EQ(n.attrs.get_int("axis"), -1);
  EXPECT_FLOAT_EQ(n.attrs.get_float("epsilon"), float(scalar(c.dt, c.eps).at_double(0)));
  test::expect_same_outputs(ref, g, test::random_feeds(ref, 7), atol, 0);
}

// The pass leaves the chain alone: both ReduceMeans stay and the graphs agree.
void expect_not_fused(const Ln& c) {
  const ModelBuilder b = build(c);
  PassReport r;
  Graph g = test::fused_graph(b, &r);
  EXPECT_EQ(r.fused.at("fuse_layer_norm"), 0);
  EXPECT_EQ(test::count_op(g, "LayerNormalization"), 0);
  EXPECT_EQ(test::count_op(g, "ReduceMean"), 2);
  Graph ref = unfused(b);
  EXPECT_EQ(g.nodes.size(), ref.nodes.size());
  test::expect_same_outputs(ref, g, test::random_feeds(ref, 9), 1e-5, 0);
}

TEST(FuseLayerNorm, FiresOnEveryVariantAtOpset17And18) {
  for (int opset : {17, 18})
    for (bool pow : {true, false})
      for (bool div : {true, false})
        for (bool gamma : {true, false})
          for (bool beta : {true, false}) {
            SCOPED_TRACE("opset " + std::to_string(opset) + (pow ? " Pow" : " Mul(d,d)") +
                         (div ? " Div" : " Mul-Reciprocal") + (gamma ? " gamma" : "") + (beta ? " beta" : ""));
            Ln c;
            c.opset = opset;
            c.pow = pow;
            c.div = div;
            c.gamma = gamma;
            c.beta = beta;
            expect_fused(c);
          }
}

TEST(FuseLayerNorm, FiresWithPositiveAxisParamsFirstAndBroadcastParams) {
  Ln c;
  c.axes1 = {2};  // rank - 1
  c.axes2 = {-1};
  expect_fused(c);
  c.opset = 18;
  c.axes2 = {2};
  c.params_first = true;
  expect_fused(c);
  c.gamma_dims = {1, 1, 8};  // broadcastable, [C] once leading 1s go
  c.beta_dims = {1, 8};
  expect_fused(c);
}

TEST(FuseLayerNorm, FiresOnFloat16AndOnRank2And4) {
  Ln c;
  c.dt = DType::kF16;
  c.eps = 1e-6f;
  expect_fused(c, 2e-2);  // the decomposition rounds to fp16 after every op
  c = Ln{};
  c.dims = {6, 16};
  expect_fused(c);
  c.dims = {2, 3, 4, 16};
  c.opset = 18;
  c.axes1 = {3};
  expect_fused(c);
}

TEST(FuseLayerNorm, FiresOnConsecutiveLayerNorms) {
  // Two chains back to back, the second reading the first's output through a Relu.
  ModelBuilder b(17);
  b.input("x", DType::kF32, {3, 4, 12}).output("y", DType::kF32);
  b.initializer("eps", Tensor::scalar<float>(1e-5f)).initializer("two", Tensor::scalar<float>(2.f));
  b.initializer("gamma", test::random_tensor(DType::kF32, {12}, 3, 0.5, 2));
  b.initializer("beta", test::random_tensor(DType::kF32, {12}, 4));
  for (int k = 0; k < 2; ++k) {
    const std::string p = "l" + std::to_string(k) + "_", in = k == 0 ? "x" : "h";
    test::set_ints_attr(b.node("ReduceMean", {in}, {p + "mean"}), "axes", {-1});
    b.node("Sub", {in, p + "mean"}, {p + "d"});
    b.node("Pow", {p + "d", "two"}, {p + "sq"});
    test::set_ints_attr(b.node("ReduceMean", {p + "sq"}, {p + "var"}), "axes", {-1});
    b.node("Add", {p + "var", "eps"}, {p + "ve"});
    b.node("Sqrt", {p + "ve"}, {p + "s"});
    b.node("Div", {p + "d", p + "s"}, {p + "n"});
    b.node("Mul", {p + "n", "gamma"}, {p + "g"});
    b.node("Add", {p + "g", "beta"}, {k == 0 ? "a" : "y"});
    if (k == 0) b.node("Relu", {"a"}, {"h"});
  }
  PassReport r;
  Graph g = test::fused_graph(b, &r);
  EXPECT_EQ(r.fused.at("fuse_layer_norm"), 2);
  EXPECT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(test::count_op(g, "LayerNormalization"), 2);
  Graph ref = unfused(b);
  test::expect_same_outputs(ref, g, test::random_feeds(ref, 5), 1e-5, 0);
}

TEST(FuseLayerNorm, RefusesOtherAxesKeepdimsAndTwoAxes) {
  for (int opset : {17, 18}) {
    SCOPED_TRACE(opset);
    Ln c;
    c.opset = opset;
    c.axes1 = c.axes2 = {1};  // axis 1 of a rank-3 input
    expect_not_fused(c);
    c = Ln{};
    c.opset = opset;
    c.axes2 = {1};  // the variance over another axis than the mean
    expect_not_fused(c);
    c = Ln{};
    c.opset = opset;
    c.axes1 = c.axes2 = {1, 2};  // two axes
    expect_not_fused(c);
  }
  Ln c;
  c.keepdims1 = 0;  // mean [8, 8] broadcast against x [8, 8, 8]: another mean per element
  c.dims = {8, 8, 8};
  expect_not_fused(c);
  c = Ln{};
  c.keepdims2 = 0;
  c.dims = {8, 8, 8};
  expect_not_fused(c);
}

TEST(FuseLayerNorm, RefusesNonConstantEpsAndOtherExponent) {
  Ln c;
  c.eps_input = true;
  expect_not_fused(c);
  c = Ln{};
  c.exponent = 3.f;
  expect_not_fused(c);
}

TEST(FuseLayerNorm, RefusesMeanOfAnotherTensor) {
  Ln c;
  c.mean_of_other = true;
  expect_not_fused(c);
}

TEST(FuseLayerNorm, RefusesIntermediatesThatAreGraphOutputs) {
  for (const char* v : {"mean", "d", "sq", "var", "ve", "s"}) {
    SCOPED_TRACE(v);
    Ln c;
    c.as_output = v;
    expect_not_fused(c);
  }
  Ln c;
  c.div = false;
  c.as_output = "r";
  expect_not_fused(c);
}

// gamma varying over another axis than C ([N, 1, C]) is no LayerNorm scale: the normalization
// still fuses (Scale = ones) but the Mul by gamma stays, and so does everything after it.
TEST(FuseLayerNorm, KeepsAGammaThatIsNotPerChannel) {
  Ln c;
  c.gamma_dims = {2, 1, 8};
  const ModelBuilder b = build(c);
  PassReport r;
  Graph g = test::fused_graph(b, &r);
  EXPECT_EQ(r.fused.at("fuse_layer_norm"), 1);
  EXPECT_EQ(test::count_op(g, "ReduceMean"), 0);
  ASSERT_EQ(test::count_op(g, "LayerNormalization"), 1);
  EXPECT_EQ(test::count_op(g, "Mul"), 1);
  EXPECT_EQ(test::count_op(g, "Add"), 1);
  for (const Node& n : g.nodes) {
    if (n.op_type != "LayerNormalization") continue;
    ASSERT_EQ(n.inputs.size(), 2u);  // the Add(beta) after the kept Mul is not absorbed either
    const Tensor& scale = *g.value(n.inputs[1]).constant;
    for (int64_t i = 0; i < scale.numel(); ++i) EXPECT_EQ(scale.at_double(i), 1.0);
  }
  Graph ref = unfused(b);
  test::expect_same_outputs(ref, g, test::random_feeds(ref, 3), 1e-5, 0);
}

// A normalized value that is also a graph output ends the match there: the Mul/Add stay.
TEST(FuseLayerNorm, StopsBeforeGammaWhenTheNormalizedValueIsAnOutput) {
  Ln c;
  c.as_output = "n";
  const ModelBuilder b = build(c);
  Graph g = test::fused_graph(b);
  EXPECT_EQ(test::count_op(g, "LayerNormalization"), 1);
  EXPECT_EQ(test::count_op(g, "Mul") + test::count_op(g, "kiln.FusedMatMul"), 1);
  Graph ref = unfused(b);
  test::expect_same_outputs(ref, g, test::random_feeds(ref, 4), 1e-5, 0);
}

}  // namespace
}  // namespace kiln
