#include <gtest/gtest.h>

#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"

namespace kiln {
namespace {

std::string error_of(const std::function<void()>& fn, ErrorCode want) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(int(e.code()), int(want)) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

test::ModelBuilder relu_model(int opset = 17) {
  test::ModelBuilder b(opset);
  b.input("x", DType::kF32, {-1, 3}).output("y", DType::kF32);
  b.node("Relu", {"x"}, {"y"});
  return b;
}

TEST(Importer, ImportsTypesAndSymbolicDims) {
  Graph g = import_onnx_bytes(relu_model().bytes(), ".", "m.onnx");
  ASSERT_EQ(g.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(shape_to_string(*g.value("x").type.shape), "d0x3");
  EXPECT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].opset, 17);
  ImportOptions o;
  o.input_shapes["x"] = {5, 3};
  Graph shaped = import_onnx_bytes(relu_model().bytes(), ".", "m.onnx", o);
  EXPECT_EQ(shape_to_string(*shaped.value("x").type.shape), "5x3");
}

TEST(Importer, UnknownOpNamesOpNodeAndOpset) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {2}).output("y", DType::kF32);
  b.node("FrobnicateV2", {"x"}, {"y"}).set_name("frob");
  std::string msg = error_of([&] { import_onnx_bytes(b.bytes(), ".", "m.onnx"); }, ErrorCode::kUnsupported);
  EXPECT_NE(msg.find("FrobnicateV2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("frob"), std::string::npos) << msg;
  EXPECT_NE(msg.find("opset 17"), std::string::npos) << msg;
}

TEST(Importer, OpsetsOutsideRangeAreUnsupported) {
  error_of([&] { import_onnx_bytes(relu_model(11).bytes(), ".", "m.onnx"); }, ErrorCode::kUnsupported);
  error_of([&] { import_onnx_bytes(relu_model(21).bytes(), ".", "m.onnx"); }, ErrorCode::kUnsupported);
  for (int v : {13, 20}) EXPECT_NO_THROW(import_onnx_bytes(relu_model(v).bytes(), ".", "m.onnx"));
}

TEST(Importer, TruncatedOrForeignBytesAreInvalid) {
  std::string good = relu_model().bytes();
  for (size_t cut : {size_t(0), size_t(3), good.size() / 2, good.size() - 1})
    error_of([&] { import_onnx_bytes(good.substr(0, cut), ".", "m.onnx"); }, ErrorCode::kInvalidModel);
  error_of([&] { import_onnx_bytes("\x89PNG\r\n\x1a\n not a model", ".", "m.onnx"); }, ErrorCode::kInvalidModel);
}

TEST(Importer, CyclesAndUndefinedValuesAreInvalid) {
  test::ModelBuilder cyc;
  cyc.input("x", DType::kF32, {2}).output("b", DType::kF32);
  cyc.node("Add", {"x", "b"}, {"a"});
  cyc.node("Relu", {"a"}, {"b"});
  std::string msg = error_of([&] { import_onnx_bytes(cyc.bytes(), ".", "m.onnx"); }, ErrorCode::kInvalidModel);
  EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;

  test::ModelBuilder missing;  // reads an initializer that is not there
  missing.input("x", DType::kF32, {2}).output("y", DType::kF32);
  missing.node("Add", {"x", "weight"}, {"y"});
  msg = error_of([&] { import_onnx_bytes(missing.bytes(), ".", "m.onnx"); }, ErrorCode::kInvalidModel);
  EXPECT_NE(msg.find("weight"), std::string::npos) << msg;

  test::ModelBuilder twice;
  twice.input("x", DType::kF32, {2}).output("y", DType::kF32);
  twice.node("Relu", {"x"}, {"y"});
  twice.node("Relu", {"x"}, {"y"});
  error_of([&] { import_onnx_bytes(twice.bytes(), ".", "m.onnx"); }, ErrorCode::kInvalidModel);
}

TEST(Importer, ShapeOverridesMustFitTheModel) {
  ImportOptions o;
  o.input_shapes["x"] = {5, 4};  // second dim is fixed at 3
  error_of([&] { import_onnx_bytes(relu_model().bytes(), ".", "m.onnx", o); }, ErrorCode::kInvalidArgument);
  o.input_shapes = {{"x", {5}}};
  error_of([&] { import_onnx_bytes(relu_model().bytes(), ".", "m.onnx", o); }, ErrorCode::kInvalidArgument);
  o.input_shapes = {{"nope", {5, 3}}};
  error_of([&] { import_onnx_bytes(relu_model().bytes(), ".", "m.onnx", o); }, ErrorCode::kInvalidArgument);
}

TEST(Importer, InputShapesOverTheTensorLimitAreRefused) {
  const int64_t mega = int64_t(1) << 20;
  auto model = [](DType dt, std::vector<int64_t> dims) {
    test::ModelBuilder b;
    b.input("x", dt, dims).output("y", dt);
    b.node("Identity", {"x"}, {"y"});
    return b.bytes();
  };
  std::string msg = error_of([&] { import_onnx_bytes(model(DType::kF32, {mega, mega}), ".", "m.onnx"); },
                             ErrorCode::kInvalidModel);
  EXPECT_NE(msg.find("1048576x1048576"), std::string::npos) << msg;
  // Known dims alone over the limit; dims past int64 when multiplied must not wrap around.
  error_of([&] { import_onnx_bytes(model(DType::kF32, {-1, mega * mega}), ".", "m.onnx"); }, ErrorCode::kInvalidModel);
  error_of([&] { import_onnx_bytes(model(DType::kU8, {mega * mega, mega * mega, 4}), ".", "m.onnx"); },
           ErrorCode::kInvalidModel);
  // Exactly the limit, a zero dim (an empty tensor) and symbolic dims pass.
  EXPECT_NO_THROW(import_onnx_bytes(model(DType::kU8, {-1, mega * mega}), ".", "m.onnx"));
  EXPECT_NO_THROW(import_onnx_bytes(model(DType::kF32, {mega * mega, mega * mega, 0}), ".", "m.onnx"));
  ImportOptions o;
  o.input_shapes["x"] = {mega, mega};
  msg = error_of([&] { import_onnx_bytes(model(DType::kF32, {-1, -1}), ".", "m.onnx", o); },
                 ErrorCode::kInvalidArgument);
  EXPECT_NE(msg.find("--shape x=1048576x1048576"), std::string::npos) << msg;
  o.input_shapes["x"] = {mega, mega / 4};  // 2^38 float32 values: exactly 1 TiB
  EXPECT_NO_THROW(import_onnx_bytes(model(DType::kF32, {-1, -1}), ".", "m.onnx", o));
}

TEST(Importer, ConstantNodesBecomeConstants) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {3}).output("y", DType::kF32);
  auto& c = b.node("Constant", {}, {"k"});
  auto* a = c.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  *a->mutable_t() = test::tensor_to_proto("", Tensor::from_vector<float>({3}, {1, 2, 3}));
  b.node("Add", {"x", "k"}, {"y"});
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx");
  EXPECT_EQ(g.nodes.size(), 1u);
  EXPECT_TRUE(g.is_constant("k"));
  EXPECT_EQ(g.source_ops.at("Constant"), 1);
}

}  // namespace
}  // namespace kiln
