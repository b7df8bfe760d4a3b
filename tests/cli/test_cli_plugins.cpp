// Op plugins through the real binary: Example.ScaledSwish (examples/plugins/scaled_swish) runs
// from ONNX and from an engine, matching a double-precision reference; every refusal (missing
// plugin, unloadable or foreign library, duplicate names) is exit 2 with one line.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../ops/harness.h"
#include "../unit/onnx_builder.h"
#include "io/npy.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

const std::string kSwish = KILN_PLUGIN_SCALED_SWISH;
constexpr float kAlpha = 1.5f, kBeta = 0.7f;

struct CliResult {
  int code;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void set_float_attr(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

// y = ScaledSwish(x) + x: the plugin op between built-in ones, in the "Example" domain.
void save_model(const std::string& path, DType dtype) {
  test::ModelBuilder b;
  auto* imp = b.proto().add_opset_import();
  imp->set_domain("Example");
  imp->set_version(1);
  b.input("x", dtype, {2, 3, 5}).output("y", dtype);
  auto& n = b.node("ScaledSwish", {"x"}, {"s"});
  n.set_domain("Example");
  set_float_attr(n, "alpha", kAlpha);
  set_float_attr(n, "beta", kBeta);
  b.node("Add", {"s", "x"}, {"y"});
  b.save(path);
}

std::vector<double> reference(const Tensor& x) {
  std::vector<double> want;
  for (double v : test::to_doubles(x)) want.push_back(kAlpha * v / (1.0 + std::exp(-double(kBeta) * v)) + v);
  return want;
}

class CliPlugins : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("plugins");
    model_ = dir_ + "/swish.onnx";
    save_model(model_, DType::kF32);
    x_ = dir_ + "/x.npy";
    write_npy(x_, test::random_tensor(DType::kF32, {2, 3, 5}, 7, -4.0, 4.0));
    out_ = dir_ + "/out";
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliResult kiln(const std::string& args) {
    std::string cmd = std::string(KILN_BINARY) + " " + args + " >" + dir_ + "/stdout 2>" + dir_ + "/stderr";
    int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir_ + "/stderr")};
  }

  void expect_user_error(const std::string& args, const std::string& fragment) {
    CliResult r = kiln(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << "want '" << fragment << "' in: " << r.err;
    EXPECT_FALSE(fs::exists(out_)) << args << " wrote output";
  }

  void expect_matches_reference(const std::string& x_path, double atol, double rtol) {
    Tensor y = read_npy(out_ + "/y.npy");
    test::expect_close(y, reference(read_npy(x_path)), atol, rtol);
  }

  std::string dir_, model_, x_, out_;
};

TEST_F(CliPlugins, RunsOnnxModel) {
  CliResult r = kiln("run --plugin " + kSwish + " " + model_ + " -i x=" + x_ + " -o " + out_);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_matches_reference(x_, 1e-5, 1e-5);
}

TEST_F(CliPlugins, RunsFloat16Model) {
  std::string model = dir_ + "/swish16.onnx", x = dir_ + "/x16.npy";
  save_model(model, DType::kF16);
  write_npy(x, test::random_tensor(DType::kF16, {2, 3, 5}, 8, -4.0, 4.0));
  CliResult r = kiln("run --plugin " + kSwish + " " + model + " -i x=" + x + " -o " + out_);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_matches_reference(x, 1e-2, 5e-3);  // two fp16 roundings
}

TEST_F(CliPlugins, BuildsAndRunsEngine) {
  std::string engine = dir_ + "/swish.kiln";
  CliResult b = kiln("build --plugin " + kSwish + " " + model_ + " -o " + engine);
  ASSERT_EQ(b.code, 0) << b.err;
  CliResult r = kiln("run --plugin " + kSwish + " " + engine + " -i x=" + x_ + " -o " + out_);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_matches_reference(x_, 1e-5, 1e-5);
  EXPECT_EQ(kiln("inspect --plugin " + kSwish + " " + engine).code, 0);

  // Without the plugin the engine is refused by the op's name, pointing at --plugin.
  fs::remove_all(out_);
  expect_user_error("run " + engine + " -i x=" + x_ + " -o " + out_, "Example.ScaledSwish");
  expect_user_error("run " + engine + " -i x=" + x_ + " -o " + out_, "pass --plugin");
  expect_user_error("inspect " + engine, "Example.ScaledSwish (version 1), which is not registered");
}

TEST_F(CliPlugins, MissingPluginForOnnx) {
  expect_user_error("run " + model_ + " -i x=" + x_ + " -o " + out_, "Example.ScaledSwish");
  expect_user_error("build " + model_ + " -o " + out_, "--plugin");
}

TEST_F(CliPlugins, RefusesBadLibraries) {
  std::string run = " " + model_ + " -i x=" + x_ + " -o " + out_;
  expect_user_error("run --plugin " + dir_ + "/nowhere.so" + run, "nowhere.so: no such file");
  std::ofstream(dir_ + "/text.so") << "not a library\n";
  expect_user_error("run --plugin " + dir_ + "/text.so" + run, "text.so is not a loadable shared library");
  expect_user_error("inspect --plugin " + std::string(KILN_PLUGIN_NO_ENTRY_POINT) + " " + model_,
                    "does not define kiln_register_ops");
  expect_user_error("build --plugin " + std::string(KILN_PLUGIN_WRONG_ABI) + " " + model_ + " -o " + out_,
                    "built for kiln op ABI version 42; this kiln speaks version 1");
}

TEST_F(CliPlugins, RefusesDuplicateNames) {
  std::string run = " " + model_ + " -i x=" + x_ + " -o " + out_;
  expect_user_error("run --plugin " + std::string(KILN_PLUGIN_DUPLICATE_RELU) + run, "op Relu already exists");
  expect_user_error("run --plugin " + kSwish + " --plugin " + kSwish + run, "op Example.ScaledSwish already exists");
}

TEST_F(CliPlugins, ConformanceTakesPlugins) {
  // An ONNX backend-style case using the plugin op: model.onnx + test_data_set_0/{input,output}_0.pb.
  std::string cas = dir_ + "/test_scaled_swish";
  fs::create_directories(cas + "/test_data_set_0");
  save_model(cas + "/model.onnx", DType::kF32);
  Tensor x = read_npy(x_);
  std::vector<double> want = reference(x);
  std::vector<float> y(want.begin(), want.end());
  auto write_pb = [](const std::string& path, const std::string& name, const Tensor& t) {
    std::ofstream(path, std::ios::binary) << test::tensor_to_proto(name, t).SerializeAsString();
  };
  write_pb(cas + "/test_data_set_0/input_0.pb", "x", x);
  write_pb(cas + "/test_data_set_0/output_0.pb", "y", Tensor::from_vector<float>({2, 3, 5}, y));
  CliResult r = kiln("conformance --plugin " + kSwish + " " + cas + " --expect-passed 1");
  EXPECT_EQ(r.code, 0) << r.err << slurp(dir_ + "/stdout");
}

}  // namespace
}  // namespace kiln
