// The CLI's contract for user errors: one line on stderr naming the problem, exit code 2,
// and nothing written. Each case runs the real binary.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../ops/harness.h"
#include "cli_fixture.h"
#include "../unit/onnx_builder.h"
#include "io/npy.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

class CliErrors : public test::CliTest {
 protected:
  void SetUp() override {
    make_dirs("cli");
    test::ModelBuilder b;
    b.input("x", DType::kF32, {2, 3}).output("y", DType::kF32);
    b.node("Relu", {"x"}, {"y"});
    model_ = dir_ + "/relu.onnx";
    b.save(model_);
    x_ = dir_ + "/x.npy";
    write_npy(x_, test::random_tensor(DType::kF32, {2, 3}, 1));
  }

  std::string model_, x_;
};

TEST_F(CliErrors, SucceedsOnGoodInput) {
  test::CliResult r = kiln("run " + model_ + " --input x=" + x_ + " --output " + out_);
  ASSERT_EQ(r.code, 0) << r.err;
  Tensor y = read_npy(out_ + "/y.npy");
  std::vector<double> want;
  for (double v : test::to_doubles(read_npy(x_))) want.push_back(v > 0 ? v : 0);
  test::expect_close(y, want, 0, 0);
  EXPECT_EQ(kiln("--version").code, 0);
}

TEST_F(CliErrors, TruncatedModel) {
  std::string bytes = test::slurp(model_);
  std::ofstream(dir_ + "/cut.onnx", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_user_error("run " + dir_ + "/cut.onnx --input x=" + x_ + " -o " + out_, "not a valid ONNX model");
}

TEST_F(CliErrors, FileThatIsNotOnnx) {
  std::ofstream(dir_ + "/notes.onnx") << "this is a text file, not a model\n";
  expect_user_error("run " + dir_ + "/notes.onnx --input x=" + x_ + " -o " + out_, "not a valid ONNX model");
  expect_user_error("run " + dir_ + "/missing.onnx --input x=" + x_ + " -o " + out_, "not found");
}

TEST_F(CliErrors, UnknownOp) {
  test::ModelBuilder b;
  b.input("x", DType::kF32, {2, 3}).output("y", DType::kF32);
  b.node("NoSuchOp", {"x"}, {"y"});
  b.save(dir_ + "/unknown.onnx");
  expect_user_error("run " + dir_ + "/unknown.onnx --input x=" + x_ + " -o " + out_, "NoSuchOp");
}

TEST_F(CliErrors, MissingInput) { expect_user_error("run " + model_ + " -o " + out_, "missing input 'x'"); }

TEST_F(CliErrors, WrongShapeAndDtype) {
  write_npy(dir_ + "/wide.npy", test::random_tensor(DType::kF32, {2, 4}, 2));
  expect_user_error("run " + model_ + " --input x=" + dir_ + "/wide.npy -o " + out_, "2x4");
  write_npy(dir_ + "/ints.npy", test::random_tensor(DType::kI64, {2, 3}, 3));
  expect_user_error("run " + model_ + " --input x=" + dir_ + "/ints.npy -o " + out_, "int64");
  expect_user_error("run " + model_ + " --input nope=" + x_ + " -o " + out_, "nope");
}

TEST_F(CliErrors, CorruptNpy) {
  std::string bytes = test::slurp(x_);
  std::ofstream(dir_ + "/bad.npy", std::ios::binary) << bytes.substr(0, bytes.size() - 5);
  expect_user_error("run " + model_ + " --input x=" + dir_ + "/bad.npy -o " + out_, "bad.npy");
}

TEST_F(CliErrors, BadFlagsAndShapes) {
  expect_user_error("run " + model_ + " --frobnicate", "frobnicate");
  expect_user_error("run " + model_ + " --input x=random --shape x=2xq -o " + out_, "not a shape");
  expect_user_error("run " + model_ + " --input x", "NAME=VALUE");
  expect_user_error("run " + model_ + " --input x=" + x_ + " --device tpu -o " + out_, "tpu");
}

}  // namespace
}  // namespace kiln
