#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../ops/harness.h"
#include "onnx/tensor_proto.h"
#include "onnx_builder.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

ErrorCode code_of(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << "no error";
  return ErrorCode::kInternal;
}

TEST(TensorProto, RawAndTypedDataAgree) {
  Tensor t = test::random_tensor(DType::kF32, {2, 3}, 5);
  onnx::TensorProto raw = test::tensor_to_proto("w", t);
  EXPECT_TRUE(tensor_from_proto(raw, "", "w").same_bytes(t));
  onnx::TensorProto typed;
  typed.set_data_type(onnx::TensorProto::FLOAT);
  typed.add_dims(2);
  typed.add_dims(3);
  for (int i = 0; i < 6; ++i) typed.add_float_data(t.data<float>()[i]);
  EXPECT_TRUE(tensor_from_proto(typed, "", "w").same_bytes(t));

  onnx::TensorProto half;  // f16 travels as bit patterns in int32_data
  half.set_data_type(onnx::TensorProto::FLOAT16);
  half.add_dims(2);
  half.add_int32_data(0x3c00);
  half.add_int32_data(0xc000);
  Tensor h = tensor_from_proto(half, "", "h");
  EXPECT_EQ(h.at_double(0), 1.0);
  EXPECT_EQ(h.at_double(1), -2.0);
}

TEST(TensorProto, RefusesMismatchedAndAbsurdSizesBeforeAllocating) {
  onnx::TensorProto p;
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(int64_t(1) << 20);
  p.add_dims(int64_t(1) << 20);  // 2^40 elements
  p.set_raw_data(std::string(16, '\0'));
  EXPECT_EQ(code_of([&] { tensor_from_proto(p, "", "w"); }), ErrorCode::kInvalidModel);
  onnx::TensorProto neg;
  neg.set_data_type(onnx::TensorProto::FLOAT);
  neg.add_dims(-3);
  EXPECT_EQ(code_of([&] { tensor_from_proto(neg, "", "w"); }), ErrorCode::kInvalidModel);
  onnx::TensorProto short_typed;
  short_typed.set_data_type(onnx::TensorProto::INT64);
  short_typed.add_dims(3);
  short_typed.add_int64_data(1);
  EXPECT_EQ(code_of([&] { tensor_from_proto(short_typed, "", "w"); }), ErrorCode::kInvalidModel);
  onnx::TensorProto str;
  str.set_data_type(onnx::TensorProto::STRING);
  EXPECT_EQ(code_of([&] { tensor_from_proto(str, "", "w"); }), ErrorCode::kUnsupported);
}

onnx::TensorProto external(const std::string& location, int64_t offset, int64_t length, int64_t n) {
  onnx::TensorProto p;
  p.set_name("ext");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(n);
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  auto add = [&](const char* k, const std::string& v) {
    auto* e = p.add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  if (offset >= 0) add("offset", std::to_string(offset));
  if (length >= 0) add("length", std::to_string(length));
  return p;
}

TEST(TensorProto, ExternalDataWithOffsetLoads) {
  std::string dir = test::make_temp_dir("ext");
  Tensor t = test::random_tensor(DType::kF32, {5}, 9);
  {
    std::ofstream f(dir + "/weights.bin", std::ios::binary);
    f << "PAD!" << std::string(static_cast<const char*>(t.raw()), t.nbytes());
  }
  EXPECT_TRUE(tensor_from_proto(external("weights.bin", 4, 20, 5), dir, "ext").same_bytes(t));
  EXPECT_EQ(code_of([&] { tensor_from_proto(external("weights.bin", 4, 16, 5), dir, "ext"); }),
            ErrorCode::kInvalidModel);  // length disagrees with the shape
  EXPECT_EQ(code_of([&] { tensor_from_proto(external("weights.bin", 400, -1, 5), dir, "ext"); }),
            ErrorCode::kInvalidModel);  // offset past the end
  EXPECT_EQ(code_of([&] { tensor_from_proto(external("nothere.bin", 0, 20, 5), dir, "ext"); }),
            ErrorCode::kNotFound);
  fs::remove_all(dir);
}

TEST(TensorProto, ExternalDataCannotLeaveTheModelDirectory) {
  std::string root = test::make_temp_dir("confine");
  std::string dir = root + "/model";
  fs::create_directories(dir);
  { std::ofstream(root + "/secret.bin", std::ios::binary) << std::string(20, 'x'); }
  fs::create_symlink(root + "/secret.bin", dir + "/link.bin");
  const std::vector<std::string> escapes = {"../secret.bin", root + "/secret.bin", "link.bin",
                                            "sub/../../secret.bin", "../../../../../../etc/passwd",
                                            "/etc/passwd"};
  for (const std::string& loc : escapes) {
    std::string msg;
    ErrorCode code = code_of([&] { tensor_from_proto(external(loc, 0, 20, 5), dir, "ext"); }, &msg);
    EXPECT_EQ(code, ErrorCode::kInvalidModel) << loc << ": " << msg;
  }
  EXPECT_EQ(code_of([&] { tensor_from_proto(external("x.bin", 0, 20, 5), "", "ext"); }),
            ErrorCode::kInvalidModel);  // no model directory: no external data at all
  fs::remove_all(root);
}

}  // namespace
}  // namespace kiln
