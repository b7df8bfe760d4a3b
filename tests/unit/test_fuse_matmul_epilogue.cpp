// fuse_matmul_epilogue: MatMul → Add(bias) → [Relu | Gelu] → [Add(residual)] becomes one
// kiln.FusedMatMul: op counts, the fused graph computes what the unfused one does, it refuses
// what would change the result, and the reference SegFormers still match their goldens.
#include <filesystem>

#include "../model/model_compare.h"
#include "fusion_test_util.h"
#include "passes/convert_precision.h"
#include "passes/fuse_matmul_epilogue.h"

namespace kiln {
namespace {

using test::ModelBuilder;

void set_string_attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

//   x ─MatMul(W)─▶ p ─Add(bias)─▶ z ─[act]─▶ a ─[Add(r)]─▶ y
struct Dense {
  Dims x = {2, 9, 33};
  int64_t n = 17;
  Dims bias;  // empty: [n]
  bool bias_first = false;
  std::string act;  // "", "Relu", "Gelu", "GeluTanh", "ErfChain" (decomposed, for fuse_gelu), "Sigmoid"
  bool residual = false, residual_first = false;
  Dims residual_dims;  // empty: y's shape
  DType dt = DType::kF32;
  bool w_input = false, bias_input = false;  // graph inputs instead of initializers
};

ModelBuilder dense(const Dense& d) {
  ModelBuilder b(20);
  const int64_t k = d.x.back();
  Dims out = d.x;
  out.back() = d.n;
  const Dims bias_dims = d.bias.empty() ? Dims{d.n} : d.bias;
  const bool ints = d.dt == DType::kI32;
  b.input("x", d.dt, d.x).output("y", d.dt);
  Tensor w = test::random_tensor(d.dt, {k, d.n}, 1, ints ? -5 : -1, ints ? 5 : 1);
  Tensor bias = test::random_tensor(d.dt, bias_dims, 2, ints ? -5 : -1, ints ? 5 : 1);
  if (d.w_input) b.input("W", d.dt, {k, d.n});
  else b.initializer("W", w);
  if (d.bias_input) b.input("b", d.dt, bias_dims);
  else b.initializer("b", bias);
  b.node("MatMul", {"x", "W"}, {"p"});
  b.node("Add", d.bias_first ? std::vector<std::string>{"b", "p"} : std::vector<std::string>{"p", "b"}, {"z"});
  std::string a = "z";
  if (d.act == "ErfChain") {
    b.initializer("sqrt2", Tensor::scalar<float>(1.41421356f)).initializer("one", Tensor::scalar<float>(1.f));
    b.initializer("half", Tensor::scalar<float>(0.5f));
    b.node("Div", {"z", "sqrt2"}, {"g0"});
    b.node("Erf", {"g0"}, {"g1"});
    b.node("Add", {"g1", "one"}, {"g2"});
    b.node("Mul", {"z", "g2"}, {"g3"});
    b.node("Mul", {"g3", "half"}, {"a"});
    a = "a";
  } else if (!d.act.empty()) {
    auto& n = b.node(d.act == "GeluTanh" ? "Gelu" : d.act, {"z"}, {"a"});
    if (d.act == "GeluTanh") set_string_attr(n, "approximate", "tanh");
    a = "a";
  }
  if (d.residual) {
    b.input("r", d.dt, d.residual_dims.empty() ? out : d.residual_dims);
    b.node("Add", d.residual_first ? std::vector<std::string>{"r", a} : std::vector<std::string>{a, "r"}, {"y"});
  } else {
    b.node("Identity", {a}, {"y"});
  }
  return b;
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

// One FusedMatMul with the given activation (and residual or not), numerically the unfused graph.
void expect_fused(const Dense& d, const std::string& activation) {
  ModelBuilder b = dense(d);
  PassReport r;
  Graph g = test::fused_graph(b, &r);
  ASSERT_EQ(test::count_op(g, "kiln.FusedMatMul"), 1);
  EXPECT_EQ(r.fused.at("fuse_matmul_epilogue"), 1);
  const Node& f = *find_op(g, "FusedMatMul");
  EXPECT_EQ(f.attrs.get_string("activation"), activation);
  ASSERT_EQ(f.inputs.size(), d.residual ? 4u : 3u);
  EXPECT_EQ(f.inputs[0], "x");
  EXPECT_EQ(f.inputs[1], "W");
  EXPECT_EQ(g.value(f.inputs[2]).type.shape->size(), 1u);  // the bias as [N]
  if (d.residual) {
    EXPECT_EQ(f.inputs[3], "r");
  }
  // The fused node keeps the name of the last node it replaced (the Identity before y stays).
  const auto& nodes = b.proto().graph().node();
  EXPECT_EQ(f.name, nodes[nodes.size() - (d.residual ? 1 : 2)].name());
  EXPECT_EQ(g.nodes.size(), d.residual ? 1u : 2u);
  Graph ref = test::unfused_graph(b);
  test::expect_same_outputs(ref, g, test::random_feeds(ref, 5), 1e-6, 1e-6);
}

TEST(FuseMatMulEpilogue, FusesBiasActivationAndResidual) {
  for (const char* act : {"", "Relu", "Gelu", "GeluTanh"})
    for (bool residual : {false, true}) {
      Dense d;
      d.act = act;
      d.residual = residual;
      SCOPED_TRACE(std::string(act) + (residual ? " + residual" : ""));
      const std::string want = d.act == "" ? "none" : d.act == "Relu" ? "relu" : d.act == "Gelu" ? "gelu" : "gelu_tanh";
      expect_fused(d, want);
    }
}

TEST(FuseMatMulEpilogue, EitherOperandOrderRankTwoAndBroadcastBias) {
  Dense d;
  d.bias_first = d.residual = d.residual_first = true;
  d.act = "Relu";
  expect_fused(d, "relu");
  d = {};
  d.x = {1, 33};
  d.n = 1;
  d.residual = true;
  expect_fused(d, "none");
  d = {};
  d.bias = {1, 1, 17};  // [1, ..., 1, N] is still a per-column bias
  expect_fused(d, "none");
}

// fuse_gelu runs first, so an exported erf GELU after the linear layer is absorbed too.
TEST(FuseMatMulEpilogue, AbsorbsTheGeluThatFuseGeluMade) {
  Dense d;
  d.act = "ErfChain";
  d.residual = true;
  PassReport r;
  Graph g = test::fused_graph(dense(d), &r);
  EXPECT_EQ(r.fused.at("fuse_gelu"), 1);
  EXPECT_EQ(r.fused.at("fuse_matmul_epilogue"), 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].attrs.get_string("activation"), "gelu");
  Graph ref = test::unfused_graph(dense(d));
  test::expect_same_outputs(ref, g, test::random_feeds(ref, 9), 1e-6, 1e-5);
}

// A residual Add before the activation is the residual of activation none; the activation stays.
TEST(FuseMatMulEpilogue, ResidualBeforeTheActivationKeepsTheActivation) {
  ModelBuilder b;
  b.input("x", DType::kF32, {5, 8}).input("r", DType::kF32, {5, 3}).output("y", DType::kF32);
  b.initializer("W", test::random_tensor(DType::kF32, {8, 3}, 1)).initializer("b", test::random_tensor(DType::kF32, {3}, 2));
  b.node("MatMul", {"x", "W"}, {"p"});
  b.node("Add", {"p", "b"}, {"z"});
  b.node("Add", {"z", "r"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  Graph g = test::fused_graph(b);
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].op_type, "FusedMatMul");
  EXPECT_EQ(g.nodes[0].attrs.get_string("activation"), "none");
  EXPECT_EQ(g.nodes[0].inputs.size(), 4u);
  EXPECT_EQ(g.nodes[1].op_type, "Relu");
  Graph ref = test::unfused_graph(b);
  test::expect_same_outputs(ref, g, test::random_feeds(ref, 4), 1e-6, 1e-6);
}

// y = (x1·W1 + b1) + (x2·W2 + b2): one chain takes the sum as its residual, the other stops at
// its bias; neither absorbs a node the other needs.
TEST(FuseMatMulEpilogue, TwoChainsMeetingInOneAdd) {
  ModelBuilder b;
  b.input("x1", DType::kF32, {4, 6}).input("x2", DType::kF32, {4, 5}).output("y", DType::kF32);
  b.initializer("W1", test::random_tensor(DType::kF32, {6, 7}, 1)).initializer("b1", test::random_tensor(DType::kF32, {7}, 2));
  b.initializer("W2", test::random_tensor(DType::kF32, {5, 7}, 3)).initializer("b2", test::random_tensor(DType::kF32, {7}, 4));
  b.node("MatMul", {"x1", "W1"}, {"p1"});
  b.node("Add", {"p1", "b1"}, {"z1"});
  b.node("MatMul", {"x2", "W2"}, {"p2"});
  b.node("Add", {"b2", "p2"}, {"z2"});
  b.node("Add", {"z1", "z2"}, {"y"});
  Graph g = test::fused_graph(b);
  EXPECT_EQ(test::count_op(g, "kiln.FusedMatMul"), 2);
  EXPECT_EQ(g.nodes.size(), 2u);
  Graph ref = test::unfused_graph(b);
  test::expect_same_outputs(ref, g, test::random_feeds(ref, 6), 1e-6, 1e-6);
}

// Nothing fused at all.
void expect_unfused(const ModelBuilder& b) {
  PassReport r;
  Graph g = test::fused_graph(b, &r);
  EXPECT_EQ(test::count_op(g, "kiln.FusedMatMul"), 0);
  EXPECT_EQ(r.fused.at("fuse_matmul_epilogue"), 0);
}

TEST(FuseMatMulEpilogue, RefusesBiasesOverOtherAxes) {
  Dense d;
  d.x = {2, 17, 33};
  d.bias = {17, 1};  // per row, not per column
  expect_unfused(dense(d));
  d = {};
  d.bias = {9, 17};  // a full [M, N] tensor
  expect_unfused(dense(d));
  d = {};
  d.bias = {1, 1, 1, 17};  // would make the output rank 4
  expect_unfused(dense(d));
}

TEST(FuseMatMulEpilogue, RefusesRuntimeWeightsAndBias) {
  Dense d;
  d.w_input = true;
  expect_unfused(dense(d));
  d = {};
  d.bias_input = true;
  expect_unfused(dense(d));
}

TEST(FuseMatMulEpilogue, RefusesIntegerTypes) {
  Dense d;
  d.dt = DType::kI32;
  d.act = "Relu";
  d.residual = true;
  expect_unfused(dense(d));
}

TEST(FuseMatMulEpilogue, RefusesIntermediatesReadElsewhere) {
  for (const char* v : {"p", "z"}) {
    SCOPED_TRACE(v);
    Dense d;
    d.act = "Relu";
    ModelBuilder out = dense(d);
    out.output(v, DType::kF32);
    ModelBuilder extra = dense(d);
    extra.output("n", DType::kF32);
    extra.node("Neg", {v}, {"n"});
    for (ModelBuilder* b : {&out, &extra}) {
      Graph g = test::fused_graph(*b);
      // MatMul's product read elsewhere: nothing fuses; the biased sum: the bias Add fuses, Relu stays.
      EXPECT_EQ(test::count_op(g, "kiln.FusedMatMul"), std::string(v) == "z" ? 1 : 0);
      EXPECT_EQ(test::count_op(g, "Relu"), 1);
      Graph ref = test::unfused_graph(*b);
      test::expect_same_outputs(ref, g, test::random_feeds(ref, 8), 1e-6, 1e-6);
    }
  }
}

// A residual that broadcasts, or an activation kiln does not fuse, stays a node of its own.
TEST(FuseMatMulEpilogue, LeavesBroadcastResidualsAndOtherActivations) {
  for (Dims rd : {Dims{17}, Dims{1, 9, 17}}) {
    Dense d;
    d.residual = true;
    d.residual_dims = rd;
    Graph g = test::fused_graph(dense(d));
    ASSERT_EQ(test::count_op(g, "kiln.FusedMatMul"), 1);
    EXPECT_EQ(find_op(g, "FusedMatMul")->inputs.size(), 3u);
    EXPECT_EQ(test::count_op(g, "Add"), 1);
  }
  Dense d;
  d.act = "Sigmoid";
  d.residual = true;
  Graph g = test::fused_graph(dense(d));
  EXPECT_EQ(find_op(g, "FusedMatMul")->attrs.get_string("activation"), "none");
  EXPECT_EQ(find_op(g, "FusedMatMul")->inputs.size(), 3u);
  EXPECT_EQ(test::count_op(g, "Sigmoid"), 1);
  EXPECT_EQ(test::count_op(g, "Add"), 1);
}

// fp16 engines give the fused op fp16 operands; this one writes the model output, which stays
// float32 (precision_islands.h): bias and residual float32, and no Cast after it.
TEST(FuseMatMulEpilogue, ConvertsToFloat16) {
  Dense d;
  d.act = "Gelu";
  d.residual = true;
  Graph g = test::fused_graph(dense(d));
  Graph ref = test::fused_graph(dense(d));
  convert_to_fp16(g);
  const Node& f = *find_op(g, "FusedMatMul");
  for (size_t i = 0; i < f.inputs.size(); ++i)
    EXPECT_EQ(g.value(f.inputs[i]).type.dtype, i < 2 ? DType::kF16 : DType::kF32) << f.inputs[i];
  EXPECT_EQ(f.outputs[0], "y");
  TensorMap feeds = test::random_feeds(ref, 12, -1, 1);
  Tensor got = CpuExecutor(g).run(feeds).at("y"), want = CpuExecutor(ref).run(feeds).at("y");
  EXPECT_EQ(got.dtype(), DType::kF32);
  test::expect_close(got, test::to_doubles(want), 1e-2, 5e-3);  // fp16 inputs, sums of 33 products
}

// The reference SegFormers: every linear layer with a bias fuses (counted from the graphs), and
// the fused model still matches the PyTorch goldens.
TEST(FuseMatMulEpilogue, FiresOnTheSegFormerModels) {
  struct M {
    const char* name;
    int fused, with_residual, blocks;
  };
  // The linear layers, plus the sequence reductions fuse_token_patch_conv made GEMMs (3 and 6)
  // and the 4 patch embeddings fuse_token_im2col_conv did.
  for (const M& m : {M{"segformer_tiny", 28 + 3 + 4, 8, 4}, M{"segformer_b0", 52 + 6 + 4, 16, 8}}) {
    SCOPED_TRACE(m.name);
    const std::filesystem::path dir = std::filesystem::path(KILN_TEST_DIR) / "models" / m.name;
    ImportOptions o;
    TensorMap feeds = test::reference_inputs(dir, &o);
    Graph g = import_onnx_file((dir / "model.onnx").string(), o);
    PassReport r = run_passes(g, {"fuse_elementwise"});
    EXPECT_EQ(r.fused.at("fuse_matmul_epilogue"), m.fused);
    // fuse_patch_embed_tokens took the picture's; fuse_kv_projection made each block's K and V one.
    EXPECT_EQ(test::count_op(g, "kiln.FusedMatMul"), m.fused - 1 - m.blocks);
    // Every bias and residual Add absorbed; the sum of the decode head's four branches
    // (commute_resize_conv) is one kiln.ResizeSum (fuse_resize_sum).
    EXPECT_EQ(test::count_op(g, "Add"), 0);
    EXPECT_EQ(test::count_op(g, "kiln.ResizeSum"), r.fused.at("commute_resize_conv"));
    int residual = 0;
    for (const Node& n : g.nodes) {
      residual += n.op_type == "FusedMatMul" && n.inputs.size() == 4;
      if (n.op_type == "MatMul") {
        EXPECT_FALSE(g.is_constant(n.inputs[1])) << n.name << ": a linear layer left";
      }
    }
    EXPECT_EQ(residual, m.with_residual);
    if (std::string(m.name) != "segformer_tiny") continue;  // B0 on the CPU is the model tests' job
    TensorMap got = CpuExecutor(g).run(feeds);
    for (const auto& e : std::filesystem::directory_iterator(dir / "golden")) {
      const std::string name = e.path().stem().string();
      ASSERT_TRUE(got.count(name)) << name;
      test::Agreement a = test::compare_to_golden(got.at(name), read_npy(e.path().string()));
      EXPECT_LE(a.rel_l2, 1e-5) << name;
    }
  }
}

}  // namespace
}  // namespace kiln
