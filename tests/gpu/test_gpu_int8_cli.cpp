// `kiln build --int8 --calib DIR --device cuda` end to end: the build times the int8 GEMMs and
// stores a cuda engine whose 35 GEMMs (the 4 patch embeddings among them: fuse_token_im2col_conv) are
// kiln.Int8MatMul and whose classifier convolution is kiln.Int8Conv; `kiln run --device cuda` on it
// gives the logits of the cpu int8 engine built from the same calibration cache, within the
// tolerance test_gpu_int8_engine.cpp states (0.5% rel L2, ≥ 99.5% of labels).
#include <nlohmann/json.hpp>

#include "../cli/cli_fixture.h"
#include "io/npy.h"
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
  EXPECT_EQ(j["calibration"]["int8_gemms"], 34);  // the picture's patch embedding stays float (PatchEmbedTokens)
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

}  // namespace
}  // namespace kiln
