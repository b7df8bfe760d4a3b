// `kiln build --int8 --calib DIR` end to end on segformer_tiny (a calibration set of .npy files
// and pictures written by the test), the calibration cache's reuse, and the user-error contract
// of every flag: exit 2, one line, no engine written.
#include <nlohmann/json.hpp>

#include <cmath>

#include "cli_fixture.h"
#include "io/file_util.h"
#include "io/image.h"
#include "io/npy.h"
#include "runtime/output_compare.h"

namespace kiln::test {
namespace {
namespace fs = std::filesystem;

const std::string kModelDir = std::string(KILN_TEST_DIR) + "/models/segformer_tiny";
const std::string kModel = kModelDir + "/model.onnx";
const std::string kInput = kModelDir + "/inputs/pixel_values.npy";

class CliInt8 : public CliTest {
 protected:
  void SetUp() override {
    make_dirs("cli_int8");
    calib_ = dir_ + "/calib";
    fs::create_directories(calib_);
    // The model's input and two variants: scaled, and with a per-element ripple.
    const Tensor x = read_npy(kInput);
    for (int v = 0; v < 3; ++v) {
      Tensor t = x.clone();
      float* p = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = v == 0 ? p[i] : v == 1 ? 0.8f * p[i] : p[i] + 0.2f * std::sin(0.37f * float(i));
      write_npy(calib_ + "/sample" + std::to_string(v) + ".npy", t);
    }
    write_file_atomic(calib_ + "/README", "not calibration data: skipped");
  }
  std::string build(const std::string& flags) { return kModel + " -o " + out_ + " " + flags; }
  std::string calib_;
};

TEST_F(CliInt8, BuildsRunsAndReusesTheCache) {
  const std::string cache = dir_ + "/calib.json";
  CliResult r = kiln("build " + build("--int8 --calib " + calib_ + " --calib-cache " + cache + " --json"));
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["precision"], "int8");
  EXPECT_EQ(j["calibration"]["inputs"], 3);
  EXPECT_EQ(j["calibration"]["calibrator"], "entropy");
  EXPECT_EQ(j["calibration"]["cache"], "written");
  EXPECT_EQ(j["calibration"]["quantized_activations"], 30);
  EXPECT_EQ(j["calibration"]["quantized_weights"], 31);  // each block's K and V: one GEMM (fuse_kv_projection)
  EXPECT_EQ(j["calibration"]["int8_gemms"], 30);  // 3 patch embeddings among them; the picture's is a float PatchEmbedTokens
  EXPECT_EQ(j["calibration"]["int8_convs"], 1);
  const std::string engine = slurp(out_);
  nlohmann::json c = nlohmann::json::parse(slurp(cache));
  EXPECT_EQ(c["tensors"].size(), 30u);
  EXPECT_EQ(c["model_hash"].get<std::string>().size(), 16u);

  // The engine runs without the model and its logits keep fp32's labels (the bound is
  // test_insert_qdq's: 2% rel L2).
  r = kiln("run " + out_ + " --input pixel_values=" + kInput + " --output " + dir_ + "/run");
  ASSERT_EQ(r.code, 0) << r.err;
  const OutputComparison cmp =
      compare_output(read_npy(dir_ + "/run/logits.npy"), read_npy(kModelDir + "/golden/logits.npy"), "logits");
  std::printf("[ int8 cli ] segformer_tiny engine vs PyTorch fp32: rel L2 %.4g, labels %.4f\n", cmp.rel_l2,
              cmp.label_agreement.value_or(-1));
  EXPECT_LT(cmp.rel_l2, 2e-2);
  EXPECT_GT(cmp.rel_l2, 1e-4);
  EXPECT_EQ(cmp.label_agreement.value_or(0), 1.0);

  // Again from the cache alone: no --calib, the same engine bytes.
  fs::remove(out_);
  r = kiln("build " + build("--int8 --calib-cache " + cache + " --json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["calibration"]["cache"], "read");
  EXPECT_TRUE(slurp(out_) == engine) << "the cached ranges give the same engine";
}

TEST_F(CliInt8, PicturesCalibrateToo) {
  const std::string pics = dir_ + "/pictures";
  fs::create_directories(pics);
  for (int p = 0; p < 2; ++p) {
    Image img{100 + 20 * p, 80, {}};
    for (int i = 0; i < img.width * img.height * 3; ++i) img.rgb.push_back(uint8_t((i * (7 + p)) % 251));
    write_png(pics + "/p" + std::to_string(p) + ".png", img);
  }
  CliResult r = kiln("build " + build("--int8 --calib " + pics + " --calibrator percentile --percentile 99.9 --json"));
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["calibration"]["inputs"], 2);
  EXPECT_EQ(j["calibration"]["percentile"], 99.9);
  EXPECT_EQ(j["calibration"]["cache"], "none");
}

// A symbolic batch: each calibration file is run on the graph specialized for its own dims.
TEST_F(CliInt8, SymbolicInputsAreSpecializedPerFile) {
  ModelBuilder b(17);
  b.input("x", DType::kF32, {-1, 16}).output("y", DType::kF32);
  b.initializer("w", Tensor::from_doubles(DType::kF32, {16, 4}, std::vector<double>(64, 0.25)));
  b.node("MatMul", {"x", "w"}, {"y"});
  b.save(dir_ + "/sym.onnx");
  const std::string data = dir_ + "/sym_calib";
  fs::create_directories(data);
  for (int64_t rows : {3, 5}) {
    Tensor t(DType::kF32, {rows, 16});
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i % 7) - 3;
    write_npy(data + "/r" + std::to_string(rows) + ".npy", t);
  }
  const std::string cache = dir_ + "/sym.json";
  CliResult r = kiln("build " + dir_ + "/sym.onnx -o " + out_ + " --int8 --calib " + data + " --calibrator minmax --calib-cache " +
                     cache + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["calibration"]["inputs"], 2);
  EXPECT_EQ(nlohmann::json::parse(slurp(cache))["tensors"]["x"]["amax"], 3.0);
}

TEST_F(CliInt8, FlagErrors) {
  expect_user_error("build " + build("--calib " + calib_), "--calib needs --int8 or --fp8");
  expect_user_error("build " + build("--calib-cache " + dir_ + "/c.json"), "--calib-cache needs --int8 or --fp8");
  expect_user_error("build " + build("--int8"), "--int8 needs --calib DIR");
  expect_user_error("build " + build("--int8 --fp8 --calib " + calib_), "give one of --int8 and --fp8");
  expect_user_error("build " + build("--int8 --fp16 --calib " + calib_), "--int8 --fp16 needs --device cuda");
  expect_user_error("build " + build("--int8 --tf32 --calib " + calib_), "give one of --fp32, --tf32, --fp16, --int8");
  expect_user_error("build " + build("--fp8 --fp16 --calib " + calib_), "give one of --fp32, --tf32, --fp16, --int8");
  expect_user_error("build " + build("--int8 --calib " + calib_ + " --calibrator kl"), "expected entropy, percentile or minmax");
  expect_user_error("build " + build("--int8 --calib " + calib_ + " --percentile 99"), "--percentile needs --calibrator percentile");
  expect_user_error("build " + build("--int8 --calib " + calib_ + " --calibrator percentile --percentile 101"),
                    "--percentile must lie in (0, 100]");
#ifndef KILN_WITH_CUDA
  expect_user_error("build " + build("--int8 --calib " + calib_ + " --device cuda"), "INT8 CUDA kernels are not built yet");
#endif  // with CUDA the build goes on (tests/gpu/test_gpu_int8_cli.cpp)
  expect_user_error("build " + build("--fp8 --calib " + calib_), "no FP8 engine");
}

TEST_F(CliInt8, CalibrationDataErrors) {
  expect_user_error("build " + build("--int8 --calib " + dir_ + "/nowhere"), "no such directory");
  expect_user_error("build " + build("--int8 --calib " + kModel), "is not a directory");
  fs::create_directories(dir_ + "/empty");
  write_file_atomic(dir_ + "/empty/notes.txt", "x");
  expect_user_error("build " + build("--int8 --calib " + dir_ + "/empty"), "holds no .npy or picture");
  write_file_atomic(calib_ + "/broken.npy", "not an npy file");
  expect_user_error("build " + build("--int8 --calib " + calib_), "broken.npy");
  fs::remove(calib_ + "/broken.npy");
  write_npy(calib_ + "/small.npy", Tensor(DType::kF32, {1, 3, 64, 64}));
  expect_user_error("build " + build("--int8 --calib " + calib_), "small.npy: input 'pixel_values' has shape 1x3x64x64");
  fs::remove(calib_ + "/small.npy");
  write_file_atomic(calib_ + "/broken.png", "not a picture");
  expect_user_error("build " + build("--int8 --calib " + calib_), "broken.png");
}

TEST_F(CliInt8, CacheOfAnotherModelIsRefused) {
  const std::string cache = dir_ + "/other.json";
  write_file_atomic(cache, R"({"format": "kiln-calibration-cache", "version": 1, "model_hash": "0123456789abcdef",
    "precision": "int8", "calibrator": "entropy", "percentile": 99.99, "inputs": 1, "tensors": {}})");
  expect_user_error("build " + build("--int8 --calib " + calib_ + " --calib-cache " + cache), "was made for another model");
  expect_user_error("build " + build("--int8 --calib-cache " + cache + " --calibrator minmax"), "another model");
  write_file_atomic(cache, "{}");
  expect_user_error("build " + build("--int8 --calib-cache " + cache), "is not a kiln calibration cache");
}

// FP8: kiln has no float8 dtype, so no engine; the E4M3 ranges (amax/448) still go to the cache.
TEST_F(CliInt8, Fp8WritesItsCalibrationButNoEngine) {
  const std::string cache = dir_ + "/fp8.json";
  expect_user_error("build " + build("--fp8 --calib " + calib_ + " --calibrator minmax --calib-cache " + cache),
                    "E4M3 ranges (amax/448) written to");
  nlohmann::json c = nlohmann::json::parse(slurp(cache));
  EXPECT_EQ(c["precision"], "fp8");
  for (const auto& [name, t] : c["tensors"].items())
    EXPECT_DOUBLE_EQ(t["scale"].get<double>(), t["amax"].get<double>() / 448) << name;
  // An int8 build reuses those ranges: amax does not depend on the format.
  CliResult r = kiln("build " + build("--int8 --calibrator minmax --calib-cache " + cache + " --json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["calibration"]["cache"], "read");
}

}  // namespace
}  // namespace kiln::test
