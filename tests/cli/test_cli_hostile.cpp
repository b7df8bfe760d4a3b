// Hostile and broken inputs end to end (issue 8): absurd shapes, broken graphs, external data
// that tries to leave the model's directory, NaN/Inf with --check-finite. Each case runs the
// real binary and must give one stderr line, exit 2 and no output directory.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../ops/harness.h"
#include "../unit/onnx_builder.h"
#include "cli_fixture.h"
#include "io/image.h"
#include "io/npy.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// An initializer whose bytes live in `location`, relative to the model (5 float32 values).
onnx::TensorProto external_initializer(const std::string& name, const std::string& location) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(5);
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* e = p.add_external_data();
  e->set_key("location");
  e->set_value(location);
  return p;
}

class CliHostile : public test::CliTest {
 protected:
  void SetUp() override { make_dirs("hostile"); }

  // y = op(x) for x: float32 of `dims` (-1: symbolic); returns the model's path.
  std::string unary_model(const std::string& file, const std::string& op, const std::vector<int64_t>& dims) {
    test::ModelBuilder b;
    b.input("x", DType::kF32, dims).output("y", DType::kF32);
    b.node(op, {"x"}, {"y"});
    b.save(dir_ + "/" + file);
    return dir_ + "/" + file;
  }

  // y = x + w for x: float32 [5] and the initializer proto w.
  std::string add_model(const std::string& path, const onnx::TensorProto& w) {
    test::ModelBuilder b;
    b.input("x", DType::kF32, {5}).output("y", DType::kF32);
    *b.proto().mutable_graph()->add_initializer() = w;
    b.node("Add", {"x", w.name()}, {"y"});
    b.save(path);
    return path;
  }

  std::string npy(const std::string& file, const Tensor& t) {
    write_npy(dir_ + "/" + file, t);
    return dir_ + "/" + file;
  }
};

TEST_F(CliHostile, InitializerOf2Pow40ElementsIsRefused) {
  onnx::TensorProto w;
  w.set_name("w");
  w.set_data_type(onnx::TensorProto::FLOAT);
  w.add_dims(int64_t(1) << 20);
  w.add_dims(int64_t(1) << 20);
  w.set_raw_data(std::string(16, '\0'));
  std::string model = add_model(dir_ + "/huge_init.onnx", w);
  expect_user_error("run " + model + " -i x=random -o " + out_, "initializer 'w': shape 1048576x1048576 is more than kiln's 1 TiB limit");
}

TEST_F(CliHostile, NegativeInitializerDimIsRefused) {
  onnx::TensorProto w;
  w.set_name("w");
  w.set_data_type(onnx::TensorProto::FLOAT);
  w.add_dims(-3);
  std::string model = add_model(dir_ + "/neg_init.onnx", w);
  expect_user_error("run " + model + " -i x=random -o " + out_, "initializer 'w': negative dimension -3");
}

TEST_F(CliHostile, GraphInputOf2Pow40ElementsIsRefusedBeforeAllocating) {
  std::string model = unary_model("huge_input.onnx", "Relu", {int64_t(1) << 20, int64_t(1) << 20});
  std::string x = npy("x.npy", test::random_tensor(DType::kF32, {2, 3}, 1));
  expect_user_error("run " + model + " -i x=random -o " + out_, "graph input 'x' declares shape 1048576x1048576");
  expect_user_error("run " + model + " -i x=" + x + " -o " + out_, "graph input 'x' declares shape 1048576x1048576");
  // A symbolic input given an absurd size by --shape is the flag's fault.
  std::string open = unary_model("open_input.onnx", "Relu", {-1, -1});
  expect_user_error("run " + open + " -i x=random --shape x=1048576x1048576 -o " + out_,
                    "--shape x=1048576x1048576 is more than kiln's 1 TiB limit");
  // So is it for an engine that kept the symbolic dims.
  ASSERT_EQ(kiln("build " + open + " -o " + dir_ + "/open.kiln").code, 0);
  expect_user_error("run " + dir_ + "/open.kiln -i x=random --shape x=1048576x1048576 -o " + out_,
                    "--shape x=1048576x1048576 is more than kiln's 1 TiB limit");
}

TEST_F(CliHostile, NegativeGraphInputDimIsRefused) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {2, 3}).output("y", DType::kF32);
  b.proto().mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()
      ->mutable_dim(1)->set_dim_value(-7);
  b.node("Relu", {"x"}, {"y"});
  b.save(dir_ + "/neg_input.onnx");
  std::string x = npy("x.npy", test::random_tensor(DType::kF32, {2, 3}, 1));
  expect_user_error("run " + dir_ + "/neg_input.onnx -i x=random -o " + out_, "'x' has a negative dimension -7");
  expect_user_error("run " + dir_ + "/neg_input.onnx -i x=" + x + " -o " + out_, "'x' has a negative dimension -7");
}

TEST_F(CliHostile, CyclicGraphIsRefused) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {5}).output("b", DType::kF32);
  b.node("Add", {"x", "b"}, {"a"});
  b.node("Relu", {"a"}, {"b"});
  b.save(dir_ + "/cycle.onnx");
  expect_user_error("run " + dir_ + "/cycle.onnx -i x=random -o " + out_, "the graph has a cycle");
}

TEST_F(CliHostile, NodeReadingAMissingInitializerIsRefused) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {5}).output("y", DType::kF32);
  b.node("Add", {"x", "weight"}, {"y"});
  b.save(dir_ + "/missing.onnx");
  expect_user_error("run " + dir_ + "/missing.onnx -i x=random -o " + out_, "reads 'weight', which no node, input or initializer defines");
}

TEST_F(CliHostile, ExternalDataCannotLeaveTheModelDirectory) {
  std::string model_dir = dir_ + "/model";
  fs::create_directories(model_dir);
  { std::ofstream(dir_ + "/secret.bin", std::ios::binary) << std::string(20, 'x'); }  // 5 floats' worth
  fs::create_symlink(dir_ + "/secret.bin", model_dir + "/link.bin");
  auto run = [&](const std::string& location) {
    return "run " + add_model(model_dir + "/m.onnx", external_initializer("w", location)) + " -i x=random -o " +
           out_;
  };
  expect_user_error(run("../../etc/passwd"), "external data path '../../etc/passwd' leaves the model's directory");
  expect_user_error(run("/etc/passwd"), "external data path '/etc/passwd' must be relative");
  expect_user_error(run("link.bin"), "external data path 'link.bin' resolves outside the model's directory");
}

TEST_F(CliHostile, NaNInputIsRefusedWithCheckFinite) {
  std::string model = unary_model("relu.onnx", "Relu", {4, 5});
  Tensor t = test::random_tensor(DType::kF32, {4, 5}, 2);
  for (int64_t i : {17, 18, 19}) t.data<float>()[i] = kNaN;
  std::string x = npy("nan.npy", t);
  expect_user_error("run " + model + " -i x=" + x + " --check-finite -o " + out_,
                    "input 'x' holds 3 NaN/Inf values (first at index 17); clean the input or drop --check-finite");
  test::CliResult r = kiln("run " + model + " -i x=" + x + " -o " + out_);  // without the flag: as before
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(fs::exists(out_ + "/y.npy"));
}

TEST_F(CliHostile, InfInputIsRefusedWithCheckFinite) {
  std::string model = unary_model("relu.onnx", "Relu", {4, 5});
  Tensor t = test::random_tensor(DType::kF32, {4, 5}, 3);
  t.data<float>()[6] = -kInf;
  t.data<float>()[9] = kInf;
  std::string x = npy("inf.npy", t);
  expect_user_error("run " + model + " -i x=" + x + " --check-finite -o " + out_,
                    "input 'x' holds 2 NaN/Inf values (first at index 6)");
}

TEST_F(CliHostile, PictureInputIsCheckedToo) {
  std::string model = unary_model("picture.onnx", "Relu", {1, 3, 6, 8});
  Image picture{8, 6, std::vector<uint8_t>(8 * 6 * 3, 128)};
  write_png(dir_ + "/photo.png", picture);
  // A NaN mean passes the flag parser and turns the picture's first channel (48 values) into NaN.
  std::string args = "run " + model + " --image " + dir_ + "/photo.png --std 1,1,1 --check-finite -o " + out_;
  expect_user_error(args + " --mean nan,0.5,0.5", "input 'x' holds 48 NaN/Inf values (first at index 0)");
  test::CliResult r = kiln(args + " --mean 0.5,0.5,0.5");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST_F(CliHostile, CleanInputsPassCheckFinite) {
  std::string model = unary_model("relu.onnx", "Relu", {4, 5});
  test::CliResult r = kiln("run " + model + " -i x=random --check-finite -o " + out_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(fs::exists(out_ + "/y.npy"));
}

TEST_F(CliHostile, NaNOutputIsReportedAndStillWritten) {
  std::string model = unary_model("log.onnx", "Log", {6});
  std::string x = npy("x.npy", Tensor::from_vector<float>({6}, {1, 2, -1, 0, 3, -4}));
  std::string warning = "kiln: warning: output 'y' holds 3 NaN/Inf values (first at index 2)\n";

  test::CliResult r = kiln("run " + model + " -i x=" + x + " --check-finite -o " + out_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, warning);
  Tensor y = read_npy(out_ + "/y.npy");
  EXPECT_TRUE(std::isnan(y.data<float>()[2]));
  EXPECT_EQ(y.data<float>()[3], -kInf);

  r = kiln("run " + model + " -i x=" + x + " --check-finite --json -o " + out_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, warning);
  nlohmann::json report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["outputs"][0]["non_finite"], (nlohmann::json{{"count", 3}, {"first_index", 2}})) << r.out;

  r = kiln("run " + model + " -i x=" + x + " --json -o " + out_);  // without the flag: as before
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_FALSE(nlohmann::json::parse(r.out)["outputs"][0].contains("non_finite")) << r.out;
}

TEST_F(CliHostile, CleanOutputReportsZeroInJson) {
  std::string model = unary_model("relu.onnx", "Relu", {4, 5});
  test::CliResult r = kiln("run " + model + " -i x=random --check-finite --json -o " + out_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(nlohmann::json::parse(r.out)["outputs"][0]["non_finite"], (nlohmann::json{{"count", 0}})) << r.out;
}

}  // namespace
}  // namespace kiln
