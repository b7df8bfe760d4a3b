// convert_to_fp16: value types after the pass, the casts it adds, what it keeps float32, and
// that the converted graph computes the same function within fp16 precision (CPU reference).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

// The pipeline but fuse_elementwise: engines fuse elementwise chains after the conversion.
Graph optimized(const test::ModelBuilder& b, const ImportOptions& o = {}) {
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx", o);
  run_passes(g, {"fuse_elementwise"});
  return g;
}

int count_op(const Graph& g, const std::string& op) {
  auto h = g.op_histogram();
  return h.count(op) ? h.at(op) : 0;
}

const Node& producer(const Graph& g, const std::string& value) {
  for (const Node& n : g.nodes)
    for (const auto& o : n.outputs)
      if (o == value) return n;
  throw std::runtime_error("no producer of " + value);
}

DType dtype(const Graph& g, const std::string& v) { return g.value(v).type.dtype; }

void set_tensor_attr(onnx::NodeProto& n, const std::string& name, const Tensor& t) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::TENSOR);
  *a->mutable_t() = test::tensor_to_proto("", t);
}

// Relative L2 distance of two float tensors of any float dtype.
double rel_l2(const Tensor& got, const Tensor& want) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.at_double(i), w = want.at_double(i);
    if (!std::isfinite(g)) return INFINITY;
    num += (g - w) * (g - w);
    den += w * w;
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

//   x:f32 ─MatMul(W)─▶ ─Add(b)─▶ ─Softmax─▶ y:f32  (MatMul and Add fuse into kiln.FusedMatMul → z)
test::ModelBuilder dense_model() {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {5, 16}).output("y", DType::kF32);
  b.initializer("W", test::random_tensor(DType::kF32, {16, 7}, 3));
  b.initializer("b", test::random_tensor(DType::kF32, {7}, 4));
  b.node("MatMul", {"x", "W"}, {"h"});
  b.node("Add", {"h", "b"}, {"z"});
  b.node("Softmax", {"z"}, {"y"});
  return b;
}

TEST(ConvertToFp16, ConvertsActivationsAndWeightsKeepingTheInterface) {
  Graph g = optimized(dense_model());
  Graph ref = optimized(dense_model());
  PrecisionReport r = convert_to_fp16(g);

  EXPECT_EQ(g.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(g.outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(dtype(g, "x"), DType::kF32);
  EXPECT_EQ(dtype(g, "y"), DType::kF32);
  EXPECT_EQ(producer(g, "z").op_type, "FusedMatMul");  // converted like MatMul
  for (const char* v : {"z", "W", "b"}) EXPECT_EQ(dtype(g, v), DType::kF16) << v;
  EXPECT_TRUE(g.is_constant("W"));  // converted in place, under its own name
  EXPECT_EQ(count_op(g, "Cast"), 2);  // x → fp16 at the start, fp16 → y at the end
  const Node& last = producer(g, "y");
  EXPECT_EQ(last.op_type, "Cast");
  EXPECT_EQ(last.attrs.get_int("to"), 1);
  EXPECT_EQ(dtype(g, last.inputs[0]), DType::kF16);

  EXPECT_EQ(r.values_converted, 2);  // z, and y behind its Cast
  EXPECT_EQ(r.constants_converted, 2);
  EXPECT_EQ(r.casts_inserted, 2);
  EXPECT_EQ(r.values_kept_fp32, 1);
  EXPECT_EQ(r.kept_fp32.at("graph input"), 1);

  Tensor x = test::random_tensor(DType::kF32, {5, 16}, 11);
  Tensor got = CpuExecutor(g).run({{"x", x}}).at("y");
  Tensor want = CpuExecutor(ref).run({{"x", x}}).at("y");
  EXPECT_EQ(got.dtype(), DType::kF32);
  EXPECT_LT(rel_l2(got, want), 2e-3);
}

// Resize's scales say how big the output is: they stay float32, and so does the arithmetic
// that computes them at run time. A constant read both as scales and as data gets an fp16 copy.
TEST(ConvertToFp16, KeepsResizeScalesFloat32) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {1, 2, 3, 4}).input("s", DType::kF32, {4}).output("y", DType::kF32)
      .output("t", DType::kF32);
  b.initializer("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
  b.initializer("two", Tensor::scalar<float>(2.0f));
  b.node("Resize", {"x", "", "scales"}, {"y"});
  b.node("Mul", {"s", "two"}, {"s2"});
  b.node("Resize", {"x", "", "s2"}, {"t0"});
  b.node("Mul", {"t0", "scales"}, {"t"});  // scales as data, broadcast over the last axis
  Graph g = optimized(b);
  Graph ref = optimized(b);
  PrecisionReport r = convert_to_fp16(g);

  EXPECT_EQ(dtype(g, "scales"), DType::kF32);
  EXPECT_EQ(dtype(g, "s2"), DType::kF32);
  EXPECT_EQ(dtype(g, "two"), DType::kF32);
  EXPECT_EQ(dtype(g, "t0"), DType::kF16);
  EXPECT_EQ(producer(g, "s2").op_type, "Mul");  // kept float32, not fed through a Cast
  const Node& mul = producer(g, producer(g, "t").inputs[0]);  // "t" itself comes from the final Cast
  ASSERT_EQ(mul.op_type, "Mul");
  EXPECT_EQ(dtype(g, mul.inputs[1]), DType::kF16);  // the fp16 copy of scales
  EXPECT_TRUE(g.is_constant(mul.inputs[1]));
  for (const Node& n : g.nodes)
    if (n.op_type == "Resize") {
      EXPECT_EQ(dtype(g, n.inputs[0]), DType::kF16);
      EXPECT_EQ(dtype(g, n.inputs[2]), DType::kF32);
    }
  EXPECT_EQ(count_op(g, "Cast"), 3);  // x in; y and t out
  EXPECT_EQ(r.constants_converted, 1);
  EXPECT_EQ(r.kept_fp32.at("feeds only float32 parameters or comparisons"), 1);  // s2
  EXPECT_EQ(r.kept_fp32.at("constant read as a float32 parameter"), 2);  // scales, two

  TensorMap in{{"x", test::random_tensor(DType::kF32, {1, 2, 3, 4}, 5)},
               {"s", Tensor::from_vector<float>({4}, {0.5f, 0.5f, 0.75f, 0.5f})}};  // s2 = 1, 1, 1.5, 1
  TensorMap got = CpuExecutor(g).run(in), want = CpuExecutor(ref).run(in);
  for (const char* o : {"y", "t"}) {
    EXPECT_EQ(dims_to_string(got.at(o).dims()), dims_to_string(want.at(o).dims())) << o;
    EXPECT_LT(rel_l2(got.at(o), want.at(o)), 2e-3) << o;
  }
}

// Cast(to=float) of data follows it to fp16; a float cast to an integer is index arithmetic and
// keeps the float32 value it reads.
TEST(ConvertToFp16, RetargetsCastToFloatAndKeepsFloatToIntCasts) {
  test::ModelBuilder b;
  b.input("i", DType::kI64, {6}).input("x", DType::kF32, {6}).output("y", DType::kF32)
      .output("k", DType::kI64);
  test::set_int_attr(b.node("Cast", {"i"}, {"fi"}), "to", 1);
  b.node("Add", {"fi", "x"}, {"y"});
  b.node("Mul", {"x", "x"}, {"sq"});
  test::set_int_attr(b.node("Cast", {"sq"}, {"k"}), "to", 7);
  Graph g = optimized(b);
  Graph ref = optimized(b);
  convert_to_fp16(g);

  EXPECT_EQ(producer(g, "fi").attrs.get_int("to"), 10);
  EXPECT_EQ(dtype(g, "fi"), DType::kF16);
  EXPECT_EQ(dtype(g, "sq"), DType::kF32);
  EXPECT_EQ(producer(g, "sq").inputs, (std::vector<std::string>{"x", "x"}));
  EXPECT_EQ(dtype(g, "k"), DType::kI64);
  EXPECT_EQ(dtype(g, "i"), DType::kI64);

  TensorMap in{{"i", Tensor::from_vector<int64_t>({6}, {0, 1, 2, 3, 2047, 4099})},
               {"x", Tensor::from_vector<float>({6}, {0.5f, 1, 8, 45.3f, 46, 63.9f})}};
  TensorMap got = CpuExecutor(g).run(in), want = CpuExecutor(ref).run(in);
  EXPECT_TRUE(got.at("k").same_bytes(want.at("k")));  // in fp16, 45.3² would truncate to 2054
  EXPECT_LT(rel_l2(got.at("y"), want.at("y")), 1e-3);
}

// Mask2Former's attention mask: sigmoid(mask logits) < 0.5. The comparison and the cheap ops
// computing only its operand run in float32; the MatMul before them stays fp16 (its one output
// rounding keeps the sign the threshold depends on).
TEST(ConvertToFp16, KeepsComparisonOperandsFloat32BackToGemms) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {6, 8}).output("y", DType::kF32);
  b.initializer("W", test::random_tensor(DType::kF32, {8, 8}, 12));
  b.initializer("half", Tensor::scalar<float>(0.5f));
  b.initializer("neg", Tensor::scalar<float>(-1e9f));
  b.node("MatMul", {"x", "W"}, {"logits"});
  b.node("Sigmoid", {"logits"}, {"p"});
  b.node("Less", {"p", "half"}, {"masked"});
  b.node("Where", {"masked", "neg", "x"}, {"y"});
  Graph g = optimized(b);
  Graph ref = optimized(b);
  PrecisionReport r = convert_to_fp16(g);

  EXPECT_EQ(dtype(g, "logits"), DType::kF16);
  EXPECT_EQ(dtype(g, "p"), DType::kF32);
  EXPECT_EQ(dtype(g, "half"), DType::kF32);
  EXPECT_EQ(dtype(g, producer(g, "p").inputs[0]), DType::kF32);  // logits cast back once
  EXPECT_EQ(producer(g, producer(g, "p").inputs[0]).op_type, "Cast");
  EXPECT_EQ(dtype(g, "neg"), DType::kF16);
  EXPECT_EQ(r.kept_fp32.at("feeds only float32 parameters or comparisons"), 1);  // p

  Tensor x = test::random_tensor(DType::kF32, {6, 8}, 13);
  Tensor got = CpuExecutor(g).run({{"x", x}}).at("y");
  Tensor want = CpuExecutor(ref).run({{"x", x}}).at("y");
  for (int64_t i = 0; i < want.numel(); ++i)  // same mask: masked entries are -65504 exactly
    EXPECT_EQ(got.at_double(i) == -65504, want.at_double(i) == -1e9f) << i;
}

// Symbolic shapes keep the Shape → Gather → Concat → Reshape chain: its int64 values and nodes
// pass through untouched.
TEST(ConvertToFp16, LeavesInt64ShapeArithmeticAlone) {
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
  test::set_int_attr(b.node("Concat", {"n1", "c1", "minus1"}, {"shape"}), "axis", 0);
  b.node("Reshape", {"x", "shape"}, {"r"});
  b.node("Relu", {"r"}, {"y"});
  Graph g = optimized(b);
  Graph before = optimized(b);
  convert_to_fp16(g);

  for (const char* v : {"s", "n", "c", "n1", "c1", "shape", "i0", "ax", "minus1"}) {
    EXPECT_EQ(dtype(g, v), DType::kI64) << v;
    EXPECT_EQ(g.is_constant(v), before.is_constant(v)) << v;
  }
  EXPECT_EQ(producer(g, "shape").inputs, producer(before, "shape").inputs);
  EXPECT_EQ(producer(g, "r").inputs[1], "shape");
  EXPECT_EQ(dtype(g, "r"), DType::kF16);
  EXPECT_EQ(count_op(g, "Cast"), 2);

  Tensor x = test::random_tensor(DType::kF32, {2, 3, 4, 5}, 9);
  Tensor got = CpuExecutor(g).run({{"x", x}}).at("y");
  Tensor want = CpuExecutor(before).run({{"x", x}}).at("y");
  EXPECT_EQ(dims_to_string(got.dims()), "2x3x20");
  EXPECT_LT(rel_l2(got, want), 1e-3);
}

TEST(ConvertToFp16, LeavesGraphsWithoutFloat32Unchanged) {
  for (DType dt : {DType::kI64, DType::kF16}) {
    test::ModelBuilder b;
    b.input("x", dt, {3}).output("y", dt);
    b.initializer("c", test::random_tensor(dt, {3}, 2));
    b.node("Add", {"x", "c"}, {"a"});
    b.node("Abs", {"a"}, {"y"});
    Graph g = optimized(b);
    PrecisionReport r = convert_to_fp16(g);
    EXPECT_EQ(r.values_converted + r.constants_converted + r.casts_inserted + r.values_kept_fp32, 0);
    EXPECT_EQ(g.nodes.size(), 2u);
    EXPECT_EQ(g.values.size(), 4u);
    EXPECT_EQ(producer(g, "a").inputs, (std::vector<std::string>{"x", "c"}));
    EXPECT_EQ(dtype(g, "c"), dt);
  }
}

// Masks beyond fp16's range clamp to ±65504 (finite: -65504 * 0 is 0, where -inf * 0 is NaN),
// infinities stay, and tiny epsilons stay nonzero; ConstantOfShape's value follows.
TEST(ConvertToFp16, ClampsConstantsBeyondFp16Range) {
  const float inf = std::numeric_limits<float>::infinity();
  test::ModelBuilder b;
  b.input("x", DType::kF32, {-1}).output("y", DType::kF32).output("z", DType::kF32);
  b.initializer("mask", Tensor::from_vector<float>({5}, {-1e9f, 0, 3e38f, -inf, 1e-12f}));
  b.node("Mul", {"x", "mask"}, {"y"});
  b.node("Shape", {"x"}, {"s"});
  set_tensor_attr(b.node("ConstantOfShape", {"s"}, {"big"}), "value",
                  Tensor::from_vector<float>({1}, {-1e9f}));
  b.node("Add", {"x", "big"}, {"z"});
  Graph g = optimized(b);
  PrecisionReport r = convert_to_fp16(g);

  const Tensor& m = *g.value("mask").constant;
  ASSERT_EQ(m.dtype(), DType::kF16);
  std::vector<double> v = test::to_doubles(m);
  EXPECT_EQ(v[0], -65504);
  EXPECT_EQ(v[1], 0);
  EXPECT_EQ(v[2], 65504);
  EXPECT_EQ(v[3], -INFINITY);
  EXPECT_GT(v[4], 0);
  EXPECT_EQ(r.elements_clamped, 3);  // -1e9, 3e38, and ConstantOfShape's -1e9
  EXPECT_EQ(r.elements_kept_nonzero, 1);
  const Tensor& fill = producer(g, "big").attrs.get_tensor("value");
  EXPECT_EQ(fill.dtype(), DType::kF16);
  EXPECT_EQ(fill.at_double(0), -65504);
  EXPECT_EQ(dtype(g, "big"), DType::kF16);

  Tensor x = Tensor::from_vector<float>({5}, {0, 1, 1, 1, 1});
  TensorMap got = CpuExecutor(g).run({{"x", x}});
  EXPECT_EQ(got.at("y").at_double(0), 0);  // not NaN
  EXPECT_EQ(got.at("z").at_double(1), -65504);

  // What `kiln build --fp16` writes: fp16 constants and attributes survive the engine file.
  Engine e = engine_from_bytes(engine_to_bytes(g, {}), "fp16.kiln");
  TensorMap again = CpuExecutor(e.graph).run({{"x", x}});
  for (const char* o : {"y", "z"}) EXPECT_TRUE(again.at(o).same_bytes(got.at(o))) << o;
}

// LayerNormalization's Mean output is float32 whatever X is: feeding it to an fp16 Add needs a
// Cast, and a Range (no fp16 kernel) stays float32 with its result cast for its fp16 reader.
TEST(ConvertToFp16, CastsBetweenFixedFloat32OutputsAndFp16Inputs) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {4, 8}).input("lim", DType::kF32, {}).output("y", DType::kF32)
      .output("q", DType::kF32);
  b.initializer("gamma", test::random_tensor(DType::kF32, {8}, 6, 0.5, 1.5));
  b.initializer("zero", Tensor::scalar<float>(0.0f));
  b.initializer("one", Tensor::scalar<float>(1.0f));
  test::set_int_attr(b.node("LayerNormalization", {"x", "gamma"}, {"ln", "mean"}), "axis", -1);
  b.node("Add", {"ln", "mean"}, {"y"});
  b.node("Range", {"zero", "lim", "one"}, {"rg"});
  b.node("Relu", {"rg"}, {"q"});
  Graph g = optimized(b);
  Graph ref = optimized(b);
  PrecisionReport r = convert_to_fp16(g);

  EXPECT_EQ(dtype(g, "ln"), DType::kF16);
  EXPECT_EQ(dtype(g, "mean"), DType::kF32);
  EXPECT_EQ(dtype(g, "gamma"), DType::kF16);
  EXPECT_EQ(producer(g, producer(g, "y").inputs[0]).op_type, "Add");
  const Node& add = producer(g, producer(g, "y").inputs[0]);
  EXPECT_EQ(dtype(g, add.inputs[1]), DType::kF16);
  EXPECT_EQ(producer(g, add.inputs[1]).op_type, "Cast");
  EXPECT_EQ(dtype(g, "rg"), DType::kF32);
  EXPECT_EQ(dtype(g, producer(g, producer(g, "q").inputs[0]).inputs[0]), DType::kF16);
  // x in; mean and rg to fp16; y and q out
  EXPECT_EQ(r.casts_inserted, 5);
  EXPECT_EQ(r.kept_fp32.at("op output stays float32 (Range, LayerNormalization statistics)"), 2);

  TensorMap in{{"x", test::random_tensor(DType::kF32, {4, 8}, 8)}, {"lim", Tensor::scalar<float>(6.5f)}};
  TensorMap got = CpuExecutor(g).run(in), want = CpuExecutor(ref).run(in);
  EXPECT_LT(rel_l2(got.at("y"), want.at("y")), 2e-3);
  EXPECT_TRUE(got.at("q").same_bytes(want.at("q")));
}

}  // namespace
}  // namespace kiln
