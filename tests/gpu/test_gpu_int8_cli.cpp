// `kiln build --int8 --calib DIR --device cuda` end to end: the build times the int8 GEMMs and
// stores a cuda engine whose 30 GEMMs (3 patch embeddings among them: fuse_token_im2col_conv; each
// block's K and V projections one: fuse_kv_projection) are
// kiln.Int8MatMul and whose classifier convolution is kiln.Int8Conv; `kiln run --device cuda` on it
// gives the logits of the cpu int8 engine built from the same calibration cache, within the
// tolerance test_gpu_int8_engine.cpp states (0.5% rel L2, ≥ 99.5% of labels). With
// --accuracy-budget, a cuda build's guard runs its candidates on the GPU: the same choices'
// figures as the CPU reference's within the GPU's own summation order, and the engine written
// computes the figure it reported.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "../cli/cli_fixture.h"
#include "../cli/held_out_logits.h"
#include "io/npy.h"
#include "quant/accuracy_budget.h"
#include "quant/calib_cache.h"
#include "runtime/output_compare.h"

namespace kiln {
namespace {

const std::string kDir = std::string(KILN_TEST_DIR) + "/models/segformer_tiny";

class GpuInt8Cli : public test::CliTest {
 protected:
  void SetUp() override { make_dirs("gpu_int8_cli"); }
};

TEST_F(GpuInt8Cli, CudaEngineBuildsAndMatchesTheCpuEngine) {
  const std::string calib = dir_ + "/calib", cache = dir_ + "/calib.json";
  std::filesystem::create_directories(calib);
  std::filesystem::copy_file(kDir + "/inputs/pixel_values.npy", calib + "/a.npy");
  const std::string model = kDir + "/model.onnx";
  test::CliResult r = kiln("build " + model + " -o " + dir_ + "/cpu.kiln --int8 --calib " + calib +
                           " --calibrator minmax --calib-cache " + cache + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  r = kiln("build " + model + " -o " + dir_ + "/cuda.kiln --int8 --calib-cache " + cache +
           " --calibrator minmax --device cuda --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["device"], "cuda");
  EXPECT_EQ(j["precision"], "int8");
  EXPECT_EQ(j["calibration"]["int8_gemms"], 30);  // the picture's patch embedding stays float (PatchEmbedTokens)
  EXPECT_EQ(j["calibration"]["int8_convs"], 1);
  for (const char* device : {"cpu", "cuda"}) {
    r = kiln(std::string("run ") + dir_ + "/" + device + ".kiln --device " + device + " --input pixel_values=" + kDir +
             "/inputs/pixel_values.npy --output " + dir_ + "/" + device);
    ASSERT_EQ(r.code, 0) << device << ": " << r.err;
  }
  const OutputComparison c =
      compare_output(read_npy(dir_ + "/cuda/logits.npy"), read_npy(dir_ + "/cpu/logits.npy"), "logits");
  std::printf("[ int8 cli gpu ] cuda engine vs cpu engine: rel L2 %.3g, labels %.5f\n", c.rel_l2,
              c.label_agreement.value_or(-1));
  EXPECT_LT(c.rel_l2, 5e-3);
  EXPECT_GE(c.label_agreement.value_or(0), 0.995);

  // --int8 --fp16: the same int8 kernels, every float part in fp16 storage with the fp16 engines'
  // float32 islands. test_int8_fp16.cpp measures 0.4% rel L2 from the float32 int8 graph on the
  // CPU; 1% and 99% of labels leave room for the GPU's own summation order.
  r = kiln("build " + model + " -o " + dir_ + "/cuda16.kiln --int8 --fp16 --calib-cache " + cache +
           " --calibrator minmax --device cuda --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j16 = nlohmann::json::parse(r.out);
  EXPECT_EQ(j16["precision"], "int8");
  EXPECT_GT(j16["fp16"]["values_converted"].get<int>(), 0);
  r = kiln("run " + dir_ + "/cuda16.kiln --device cuda --input pixel_values=" + kDir + "/inputs/pixel_values.npy --output " +
           dir_ + "/cuda16");
  ASSERT_EQ(r.code, 0) << r.err;
  const OutputComparison c16 =
      compare_output(read_npy(dir_ + "/cuda16/logits.npy"), read_npy(dir_ + "/cpu/logits.npy"), "logits");
  std::printf("[ int8 cli gpu ] --int8 --fp16 cuda engine vs cpu int8 engine: rel L2 %.3g, labels %.5f\n", c16.rel_l2,
              c16.label_agreement.value_or(-1));
  EXPECT_LT(c16.rel_l2, 1e-2);
  EXPECT_GE(c16.label_agreement.value_or(0), 0.99);
}

// A cuda build calibrates on the GPU (every node output copied back to the histograms): the
// min-max ranges of the CPU reference's within fp32 summation order, for every tensor.
TEST_F(GpuInt8Cli, CalibratesOnTheGpu) {
  const std::string calib = dir_ + "/calib";
  std::filesystem::create_directories(calib);
  std::filesystem::copy_file(kDir + "/inputs/pixel_values.npy", calib + "/a.npy");
  const std::string model = kDir + "/model.onnx";
  for (const char* device : {"cpu", "cuda"}) {
    test::CliResult r = kiln("build " + model + " -o " + dir_ + "/" + device + ".kiln --int8 --calib " + calib +
                             " --calibrator minmax --calib-cache " + dir_ + "/" + device + ".json --device " + device +
                             " --json");
    ASSERT_EQ(r.code, 0) << device << ": " << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["calibration"]["calibrated_on"], device);
  }
  const quant::CalibCache cpu = quant::read_calib_cache(dir_ + "/cpu.json");
  const quant::CalibCache gpu = quant::read_calib_cache(dir_ + "/cuda.json");
  ASSERT_EQ(cpu.amax.size(), gpu.amax.size());
  double worst = 0;
  for (const auto& [name, a] : cpu.amax) {
    ASSERT_TRUE(gpu.amax.count(name)) << name;
    worst = std::max(worst, std::abs(gpu.amax.at(name) - a) / a);
  }
  std::printf("[ int8 cli gpu ] %zu min-max ranges calibrated on the GPU, worst relative difference from the CPU's %.3g\n",
              cpu.amax.size(), worst);
  EXPECT_LE(worst, 1e-4);
}

TEST_F(GpuInt8Cli, AccuracyGuardRunsItsCandidatesOnTheGpu) {
  namespace fs = std::filesystem;
  const std::string calib = dir_ + "/calib", ref = dir_ + "/held_out", cache = dir_ + "/calib.json";
  fs::create_directories(calib);
  fs::create_directories(ref);
  const Tensor x = read_npy(kDir + "/inputs/pixel_values.npy");
  for (int v = 0; v < 4; ++v) {  // calibration: the input and a scaled copy; held out: two ripples
    Tensor t = x.clone();
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
      p[i] = v == 0 ? p[i] : v == 1 ? 0.8f * p[i] : v == 2 ? p[i] + 0.2f * std::sin(0.37f * float(i))
                                                          : 1.1f * p[i] + 0.25f * std::cos(0.53f * float(i));
    write_npy(v < 2 ? calib + "/s" + std::to_string(v) + ".npy" : ref + "/h" + std::to_string(v) + ".npy", t);
  }
  const std::string model = kDir + "/model.onnx";
  auto guarded = [&](const std::string& out, const std::string& budget, const std::string& device) {
    return kiln("build " + model + " -o " + dir_ + "/" + out + " --int8 --calib " + calib + " --calibrator minmax" +
                " --calib-cache " + cache + " --accuracy-budget " + budget + " --ref-data " + ref + " --device " +
                device + " --json");
  };
  test::CliResult r = guarded("cpu.kiln", "l2:0.5", "cpu");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json cpu = nlohmann::json::parse(r.out)["accuracy_guard"];
  r = guarded("cuda.kiln", "l2:0.5", "cuda");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json cuda = nlohmann::json::parse(r.out)["accuracy_guard"];
  EXPECT_EQ(cpu["evaluated_on"], "cpu");
  EXPECT_EQ(cuda["evaluated_on"], "cuda");
  EXPECT_EQ(cuda["layers"], 31);
  EXPECT_EQ(cuda["evaluations"], 32);
  const double cpu_all = cpu["all_int8"]["rel_l2"].get<double>(), cuda_all = cuda["all_int8"]["rel_l2"].get<double>();
  std::printf("[ guard gpu ] all int8 against fp32: rel L2 %.4g on the GPU, %.4g on the CPU reference\n", cuda_all, cpu_all);
  EXPECT_NEAR(cuda_all, cpu_all, 0.05 * cpu_all);

  // A budget of half that error: layers kept in float, and the engine written reproduces the figure.
  char budget[32];
  std::snprintf(budget, sizeof budget, "l2:%.6g", cuda_all / 2);
  r = guarded("tight.kiln", budget, "cuda");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json g = nlohmann::json::parse(r.out)["accuracy_guard"];
  const double figure = g["figure"].get<double>();
  std::printf("[ guard gpu ] %s: %zu of 31 kept in float, rel L2 %.4g, %d evaluations\n", budget, g["kept_float"].size(),
              figure, g["evaluations"].get<int>());
  EXPECT_GE(g["kept_float"].size(), 1u);
  EXPECT_LE(figure, cuda_all / 2 * (1 + 1e-5));
  const quant::Agreement engine =
      test::logits_against_float([&](const std::string& a) { return kiln(a); }, dir_,
                                 "run " + dir_ + "/tight.kiln --device cuda", model, {ref + "/h2.npy", ref + "/h3.npy"});
  EXPECT_NEAR(engine.rel_l2, figure, 0.02 * figure) << "the engine against the guard's GPU figure";
}

}  // namespace
}  // namespace kiln
