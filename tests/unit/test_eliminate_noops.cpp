// eliminate_noops: fires on nodes that return their input and on foldable Reshape/Transpose
// chains, keeps the numbers, and leaves alone what only looks like a no-op.
#include <gtest/gtest.h>

#include <functional>

#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

using Build = std::function<void(test::ModelBuilder&)>;

// x [2, 3, 4, 4] ─(body)─▶ t ─Relu─▶ y: the Relu keeps t from being a graph output.
std::string model(const Build& body, const Dims& x_dims = {2, 3, 4, 4}) {
  test::ModelBuilder b(18);
  b.input("x", DType::kF32, x_dims).output("y", DType::kF32);
  body(b);
  b.node("Relu", {"t"}, {"y"});
  return b.bytes();
}

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
};

// Runs the pipeline and checks the optimized graph computes what the imported one does.
Outcome run(const std::string& bytes, const Dims& x_dims = {2, 3, 4, 4}) {
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  PassReport r = run_passes(g);
  Tensor x = test::random_tensor(DType::kF32, x_dims, 3);
  Tensor want = CpuExecutor(plain).run({{"x", x}}).at("y");
  Tensor got = CpuExecutor(g).run({{"x", x}}).at("y");
  EXPECT_TRUE(got.same_bytes(want)) << "the pass changed the numbers";
  return {r.fused.at("eliminate_noops"), g.op_histogram()};
}

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

TEST(EliminateNoops, RemovesNodesThatReturnTheirInput) {
  Outcome o = run(model([](test::ModelBuilder& b) {
    b.initializer("same", i64({2, 3, 4, 4}));
    b.initializer("st", i64({0, 0})).initializer("en", i64({3, 4})).initializer("ax", i64({1, 2}));
    b.initializer("scales", Tensor::from_vector<float>({4}, {1, 1, 1, 1}));
    b.node("Identity", {"x"}, {"a"});
    test::set_int_attr(b.node("Cast", {"a"}, {"c"}), "to", 1);  // float → float
    b.node("Reshape", {"c", "same"}, {"r"});
    test::set_ints_attr(b.node("Transpose", {"r"}, {"p"}), "perm", {0, 1, 2, 3});
    b.node("Slice", {"p", "st", "en", "ax"}, {"s"});
    onnx::AttributeProto* mode = b.node("Resize", {"s", "", "scales"}, {"z"}).add_attribute();
    mode->set_name("mode");
    mode->set_type(onnx::AttributeProto::STRING);
    mode->set_s("linear");
    b.node("Dropout", {"z"}, {"t"});
  }));
  EXPECT_EQ(o.fired, 7);
  EXPECT_EQ(o.ops, (std::map<std::string, int>{{"Relu", 1}}));
}

TEST(EliminateNoops, MergesReshapeAndTransposeChains) {
  Outcome o = run(model([](test::ModelBuilder& b) {
    b.initializer("s1", i64({6, 16})).initializer("s2", i64({0, 4, 4}));  // 0: copy 6 from s1's output
    b.node("Reshape", {"x", "s1"}, {"r1"});
    b.node("Reshape", {"r1", "s2"}, {"r2"});
    test::set_ints_attr(b.node("Transpose", {"r2"}, {"p1"}), "perm", {1, 0, 2});
    test::set_ints_attr(b.node("Transpose", {"p1"}, {"t"}), "perm", {2, 1, 0});
  }));
  EXPECT_EQ(o.fired, 2);
  EXPECT_EQ(o.ops, (std::map<std::string, int>{{"Relu", 1}, {"Reshape", 1}, {"Transpose", 1}}));
}

TEST(EliminateNoops, TransposesComposingToTheIdentityVanish) {
  Outcome o = run(model([](test::ModelBuilder& b) {
    test::set_ints_attr(b.node("Transpose", {"x"}, {"p1"}), "perm", {0, 2, 3, 1});
    test::set_ints_attr(b.node("Transpose", {"p1"}, {"t"}), "perm", {0, 3, 1, 2});
  }));
  EXPECT_EQ(o.fired, 2);  // merged, then the identity removed
  EXPECT_EQ(o.ops, (std::map<std::string, int>{{"Relu", 1}}));
}

Tensor bools(const Dims& dims, std::function<bool(int64_t)> value) {
  Tensor t(DType::kBool, dims);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<bool>()[i] = value(i);
  return t;
}

// Where(c, a, b) with a constant c of one value is the branch it picks (Mask2Former's pixel
// decoder fills never-padded values under an all-false padding mask).
TEST(EliminateNoops, WhereWithAConstantConditionIsItsBranch) {
  for (bool value : {false, true}) {
    SCOPED_TRACE(value);
    Outcome o = run(model([&](test::ModelBuilder& b) {
      b.initializer("c", bools({1, 3, 1, 1}, [&](int64_t) { return value; }));
      b.initializer("zero", Tensor::from_vector<float>({}, {0.f}));
      b.node("Neg", {"x"}, {"n"});
      if (value) b.node("Where", {"c", "n", "zero"}, {"t"});
      else b.node("Where", {"c", "zero", "n"}, {"t"});
    }));
    EXPECT_EQ(o.fired, 1);
  }
  // Mixed conditions choose per element; a picked branch that broadcasts up is not the output.
  EXPECT_EQ(run(model([](test::ModelBuilder& b) {
              b.initializer("c", bools({1, 3, 1, 1}, [](int64_t i) { return i == 1; }));
              b.initializer("zero", Tensor::from_vector<float>({}, {0.f}));
              b.node("Where", {"c", "zero", "x"}, {"t"});
            })).fired,
            0);
  EXPECT_EQ(run(model([](test::ModelBuilder& b) {
              b.initializer("c", bools({1, 3, 1, 1}, [](int64_t) { return true; }));
              b.initializer("zero", Tensor::from_vector<float>({}, {0.f}));
              b.node("Where", {"c", "zero", "x"}, {"t"});
            })).fired,
            0);
}

TEST(EliminateNoops, LeavesLookAlikesAlone) {
  // A default-perm Transpose of a square tensor keeps its shape but moves every element.
  EXPECT_EQ(run(model([](test::ModelBuilder& b) { b.node("Transpose", {"x"}, {"t"}); }, {4, 4}), {4, 4}).fired, 0);
  // A reversing Slice keeps the shape.
  Outcome rev = run(model([](test::ModelBuilder& b) {
    b.initializer("st", i64({-1})).initializer("en", i64({-1000})).initializer("ax", i64({3})).initializer("step", i64({-1}));
    b.node("Slice", {"x", "st", "en", "ax", "step"}, {"t"});
  }));
  EXPECT_EQ(rev.fired, 0);
  // A Cast that rounds.
  EXPECT_EQ(run(model([](test::ModelBuilder& b) {
              test::set_int_attr(b.node("Cast", {"x"}, {"h"}), "to", 10);  // float16
              test::set_int_attr(b.node("Cast", {"h"}, {"t"}), "to", 1);
            })).fired,
            0);
  // Resize that changes the size; a Dropout whose mask is used.
  EXPECT_EQ(run(model([](test::ModelBuilder& b) {
              b.initializer("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
              b.node("Resize", {"x", "", "scales"}, {"t"});
            })).fired,
            0);
  // Reshape chains where the first result is read twice.
  Outcome shared = run(model([](test::ModelBuilder& b) {
    b.initializer("s1", i64({6, 16})).initializer("s2", i64({2, 3, 16}));
    b.node("Reshape", {"x", "s1"}, {"r1"});
    b.node("Reshape", {"r1", "s2"}, {"r2"});
    b.node("Relu", {"r1"}, {"q"});
    b.node("Add", {"r2", "r2"}, {"t"});
  }));
  EXPECT_EQ(shared.fired, 0);
}

TEST(EliminateNoops, TransposesMovingOnlyUnitAxesBecomeReshapes) {
  // [1, 6, 1, 4] → [1, 1, 6, 4]: the one-head attention split.
  Outcome o = run(model([](test::ModelBuilder& b) {
                    b.initializer("s", i64({1, 6, 1, 4}));
                    b.node("Reshape", {"x", "s"}, {"r"});
                    test::set_ints_attr(b.node("Transpose", {"r"}, {"t"}), "perm", {0, 2, 1, 3});
                  }, {2, 3, 4}),
                  {2, 3, 4});
  EXPECT_EQ(o.ops, (std::map<std::string, int>{{"Relu", 1}, {"Reshape", 1}}));  // merged into one
  EXPECT_GE(o.fired, 2);
  // Two axes of extent > 1 swap: a real transpose stays.
  Outcome real = run(model([](test::ModelBuilder& b) {
                       b.initializer("s", i64({2, 6, 1, 2}));
                       b.node("Reshape", {"x", "s"}, {"r"});
                       test::set_ints_attr(b.node("Transpose", {"r"}, {"t"}), "perm", {1, 0, 2, 3});
                     }, {2, 3, 4}),
                     {2, 3, 4});
  EXPECT_EQ(real.ops.at("Transpose"), 1);
}

TEST(EliminateNoops, GraphOutputsKeepTheirNodes) {
  test::ModelBuilder b(18);
  b.input("x", DType::kF32, {2, 3}).output("y", DType::kF32);
  b.node("Identity", {"x"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  PassReport r = run_passes(g);
  EXPECT_EQ(r.fused.at("eliminate_noops"), 0);
  EXPECT_EQ(g.nodes.size(), 1u);
}

}  // namespace
}  // namespace kiln
