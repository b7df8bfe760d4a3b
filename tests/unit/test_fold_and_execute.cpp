#include <gtest/gtest.h>

#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

// The exporter's way of flattening [N, C, H, W] → [N, C, H*W]:
//   x ─Shape─▶ s ─Gather(0)─▶ n ─Unsqueeze─▶ n1 ─┐
//                └─Gather(1)─▶ c ─Unsqueeze─▶ c1 ─┼─Concat─▶ shape ─▶ Reshape(x, shape) ─Relu─▶ y
//                                        [-1] ───┘
test::ModelBuilder shape_chain_model() {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {-1, -1, -1, -1}).output("y", DType::kF32);
  b.initializer("i0", Tensor::scalar<int64_t>(0));
  b.initializer("i1", Tensor::scalar<int64_t>(1));
  b.initializer("ax", Tensor::from_vector<int64_t>({1}, {0}));
  b.initializer("minus1", Tensor::from_vector<int64_t>({1}, {-1}));
  b.node("Shape", {"x"}, {"s"});
  b.node("Gather", {"s", "i0"}, {"n"});
  b.node("Gather", {"s", "i1"}, {"c"});
  b.node("Unsqueeze", {"n", "ax"}, {"n1"});
  b.node("Unsqueeze", {"c", "ax"}, {"c1"});
  auto& cat = b.node("Concat", {"n1", "c1", "minus1"}, {"shape"});
  test::set_int_attr(cat, "axis", 0);
  b.node("Reshape", {"x", "shape"}, {"r"});
  b.node("Relu", {"r"}, {"y"});
  return b;
}

TEST(FoldConstants, CollapsesShapeArithmeticWithConcreteShapes) {
  ImportOptions o;
  o.input_shapes["x"] = {2, 3, 4, 5};
  Graph g = import_onnx_bytes(shape_chain_model().bytes(), ".", "m.onnx", o);
  EXPECT_EQ(g.nodes.size(), 8u);
  PassReport r = run_passes(g);
  EXPECT_EQ(r.nodes_after, 2);  // Reshape + Relu
  EXPECT_EQ(g.op_histogram(), (std::map<std::string, int>{{"Relu", 1}, {"Reshape", 1}}));
  EXPECT_EQ(shape_to_string(*g.value("y").type.shape), "2x3x20");

  Tensor x = test::random_tensor(DType::kF32, {2, 3, 4, 5}, 11);
  Graph unfolded = import_onnx_bytes(shape_chain_model().bytes(), ".", "m.onnx", o);
  Tensor folded_y = CpuExecutor(g).run({{"x", x}}).at("y");
  Tensor unfolded_y = CpuExecutor(unfolded).run({{"x", x}}).at("y");
  EXPECT_TRUE(folded_y.same_bytes(unfolded_y));
  std::vector<double> want;
  for (double v : test::to_doubles(x)) want.push_back(v > 0 ? v : 0);
  test::expect_close(folded_y, want, 0, 0);
}

TEST(FoldConstants, KeepsSymbolicShapesUnfolded) {
  Graph g = import_onnx_bytes(shape_chain_model().bytes(), ".", "m.onnx");
  run_passes(g);
  EXPECT_EQ(g.op_histogram().count("Shape"), 1u);  // H, W unknown: the chain must stay
}

TEST(FoldConstants, DropsDeadNodes) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {4}).output("y", DType::kF32);
  b.node("Relu", {"x"}, {"y"});
  b.node("Neg", {"x"}, {"unused"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  run_passes(g);
  EXPECT_EQ(g.nodes.size(), 1u);
  EXPECT_FALSE(g.has_value("unused"));
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(int(e.code()), int(ErrorCode::kInvalidArgument)) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(CpuExecutor, RejectsMissingMisshapenAndMistypedInputs) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {2, 3}).output("y", DType::kF32);
  b.node("Relu", {"x"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  CpuExecutor exec(g);
  EXPECT_NE(error_of([&] { exec.run({}); }).find("missing input 'x'"), std::string::npos);
  EXPECT_NE(error_of([&] { exec.run({{"x", Tensor(DType::kF32, {3, 2})}}); }).find("shape 3x2"),
            std::string::npos);
  EXPECT_NE(error_of([&] { exec.run({{"x", Tensor(DType::kI64, {2, 3})}}); }).find("int64"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              exec.run({{"x", Tensor(DType::kF32, {2, 3})}, {"z", Tensor(DType::kF32, {1})}});
            }).find("'z'"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln
