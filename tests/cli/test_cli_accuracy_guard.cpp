// `kiln build --int8 --accuracy-budget B --ref-data DIR` end to end on segformer_tiny: a loose
// budget keeps every layer int8, a tighter one (half the all-int8 error) keeps some in float and
// the engine written computes the figure reported; the report's fields and the printed table; a
// budget no int8 layer meets; and the user-error contract of both flags: exit 2, one line, no
// engine written.
#include <nlohmann/json.hpp>

#include <cmath>

#include "cli_fixture.h"
#include "held_out_logits.h"
#include "io/file_util.h"
#include "io/npy.h"
#include "quant/accuracy_budget.h"

namespace kiln::test {
namespace {
namespace fs = std::filesystem;

const std::string kModelDir = std::string(KILN_TEST_DIR) + "/models/segformer_tiny";
const std::string kModel = kModelDir + "/model.onnx";
const std::string kInput = kModelDir + "/inputs/pixel_values.npy";

class CliAccuracyGuard : public CliTest {
 protected:
  void SetUp() override {
    make_dirs("cli_guard");
    calib_ = dir_ + "/calib";
    ref_ = dir_ + "/held_out";
    fs::create_directories(calib_);
    fs::create_directories(ref_);
    const Tensor x = read_npy(kInput);
    // Calibration: the input, scaled and rippled; held out: other scales and ripples.
    for (int v = 0; v < 5; ++v) {
      Tensor t = x.clone();
      float* p = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i)
        p[i] = v == 0 ? p[i] : v == 1 ? 0.8f * p[i] : v == 2 ? p[i] + 0.2f * std::sin(0.37f * float(i))
               : v == 3 ? 0.9f * p[i] + 0.15f * std::sin(0.11f * float(i)) : 1.1f * p[i] + 0.25f * std::cos(0.53f * float(i));
      write_npy(v < 3 ? calib_ + "/sample" + std::to_string(v) + ".npy" : ref_ + "/held" + std::to_string(v) + ".npy", t);
    }
  }
  std::string build(const std::string& flags) { return "build " + kModel + " -o " + out_ + " " + flags; }
  std::string guarded(const std::string& budget) {
    return build("--int8 --calib " + calib_ + " --accuracy-budget " + budget + " --ref-data " + ref_);
  }
  std::string calib_, ref_;
};

TEST_F(CliAccuracyGuard, LooseBudgetKeepsEveryLayerInt8TighterKeepsSomeFloat) {
  CliResult r = kiln(guarded("l2:0.5") + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  const nlohmann::json loose = j["accuracy_guard"];  // a copy: j is parsed again below
  EXPECT_EQ(loose["budget"], "l2:0.5");
  EXPECT_EQ(loose["evaluated_on"], "cpu");
  EXPECT_EQ(loose["criterion"], "rel L2 <= 0.5");
  EXPECT_EQ(loose["ref_inputs"], 2);
  EXPECT_EQ(loose["layers"], 31);  // not the picture's embedding: kiln.PatchEmbedTokens stays float; K and V one GEMM per block
  EXPECT_EQ(loose["quantized"], 31);
  EXPECT_TRUE(loose["kept_float"].empty());
  EXPECT_EQ(loose["sensitivity"].size(), 31u);
  EXPECT_EQ(loose["evaluations"], 32);  // 31 sensitivities, then all int8
  EXPECT_EQ(loose["figure"], loose["all_int8"]["rel_l2"]);
  EXPECT_TRUE(loose["all_int8"].contains("labels_percent"));
  const double all_int8 = loose["all_int8"]["rel_l2"].get<double>();
  EXPECT_GT(all_int8, 1e-4);
  EXPECT_EQ(j["calibration"]["int8_gemms"], 30);
  EXPECT_EQ(j["calibration"]["int8_convs"], 1);
  for (size_t i = 1; i < loose["sensitivity"].size(); ++i)  // ranked, most sensitive first
    EXPECT_GE(loose["sensitivity"][i - 1]["alone"]["rel_l2"].get<double>(), loose["sensitivity"][i]["alone"]["rel_l2"].get<double>());

  // Half the all-int8 error: some layers stay float, the rest int8.
  fs::remove(out_);
  char budget[32];
  std::snprintf(budget, sizeof budget, "l2:%.6g", all_int8 / 2);
  r = kiln(guarded(budget) + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  const nlohmann::json& g = j["accuracy_guard"];
  const int kept = int(g["kept_float"].size());
  std::printf("[ guard cli ] segformer_tiny %s: %d of 31 kept in float, rel L2 %.4g (all int8 %.4g), %d evaluations\n",
              budget, kept, g["figure"].get<double>(), all_int8, g["evaluations"].get<int>());
  EXPECT_GE(kept, 1);
  EXPECT_LT(kept, 31);
  EXPECT_EQ(g["quantized"], 31 - kept);
  EXPECT_EQ(j["calibration"]["int8_gemms"].get<int>() + j["calibration"]["int8_convs"].get<int>(), 31 - kept)
      << "the kept layers are not fused into int8 nodes";
  EXPECT_LE(g["figure"].get<double>(), all_int8 / 2 * (1 + 1e-5));
  EXPECT_GT(g["figure"].get<double>(), 0);
  EXPECT_EQ(g["figure"], g["chosen"]["rel_l2"]);
  EXPECT_EQ(g["all_int8"], loose["all_int8"]) << "the same calibration, the same held-out inputs";
  const int greedy_steps = kept + g["given_back"].get<int>();
  EXPECT_EQ(g["evaluations"], 31 + 1 + 2 * greedy_steps);  // then each kept one tried in int8 again
  // The kept layers in sensitivity order, each with what it alone in int8 does.
  size_t at = 0;
  for (const auto& l : g["kept_float"]) {
    while (at < g["sensitivity"].size() && g["sensitivity"][at]["output"] != l["output"]) ++at;
    ASSERT_LT(at, g["sensitivity"].size()) << l.dump();
    EXPECT_EQ(g["sensitivity"][at], l);
    EXPECT_GT(l["flops"].get<double>(), 0);
    EXPECT_FALSE(l["node"].get<std::string>().empty());
  }

  // The engine written computes that figure against fp32 on the held-out inputs.
  const quant::Agreement engine = logits_against_float([&](const std::string& a) { return kiln(a); }, dir_, "run " + out_,
                                                       kModel, {ref_ + "/held3.npy", ref_ + "/held4.npy"});
  EXPECT_NEAR(engine.rel_l2, g["figure"].get<double>(), 1e-6 * all_int8);
}

TEST_F(CliAccuracyGuard, PrintsItsChoice) {
  CliResult r = kiln(guarded("labels:99.5"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("accuracy guard (label agreement >= 99.5% on 2 held-out inputs, run on cpu): "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" of 31 layers int8, "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" kept in float; labels "), std::string::npos) << r.out;
  fs::remove(out_);
  // l2:1e-3 is under the all-int8 error of this model: a table of what stayed float.
  r = kiln(guarded("l2:1e-3"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("kept in float"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("only it in int8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(all int8: rel L2 "), std::string::npos) << r.out;
}

TEST_F(CliAccuracyGuard, ABudgetNoInt8LayerMeetsIsRefused) {
  expect_user_error(guarded("l2:0"), "--accuracy-budget l2:0 cannot be met with any layer in int8: the best is rel L2 ");
}

TEST_F(CliAccuracyGuard, FlagErrors) {
  const std::string calib = " --calib " + calib_, ref = " --ref-data " + ref_;
  expect_user_error(build("--accuracy-budget l2:0.1" + ref), "--accuracy-budget needs --int8");
  expect_user_error(build("--ref-data " + ref_), "--ref-data needs --int8");
  expect_user_error(build("--fp8" + calib + " --accuracy-budget l2:0.1" + ref), "--accuracy-budget needs --int8");
  expect_user_error(build("--int8" + calib + " --accuracy-budget l2:0.1"), "--accuracy-budget needs --ref-data DIR");
  expect_user_error(build("--int8" + calib + ref), "--ref-data needs --accuracy-budget labels:P or l2:X");
  for (const char* bad : {"l2", "labels:0", "labels:101", "bogus:1", "l2:-1", "l2:0.1x"})
    expect_user_error(build("--int8" + calib + " --accuracy-budget " + bad + ref), "expected labels:P");
  expect_user_error(build("--int8" + calib + " --accuracy-budget l2:0.1 --ref-data " + dir_ + "/nowhere"),
                    "--ref-data " + dir_ + "/nowhere: no such directory");
}

TEST_F(CliAccuracyGuard, CalibrationFilesAreNotHeldOut) {
  expect_user_error(build("--int8 --calib " + calib_ + " --accuracy-budget l2:0.1 --ref-data " + calib_),
                    "is the calibration file");
  // A copy under another name is the same data.
  fs::copy_file(calib_ + "/sample1.npy", ref_ + "/renamed.npy");
  expect_user_error(build("--int8 --calib " + calib_ + " --accuracy-budget l2:0.1 --ref-data " + ref_),
                    "--ref-data file " + ref_ + "/renamed.npy is the calibration file " + calib_ + "/sample1.npy");
}

TEST_F(CliAccuracyGuard, HeldOutDataErrors) {
  write_npy(ref_ + "/small.npy", Tensor(DType::kF32, {1, 3, 64, 64}));
  expect_user_error(guarded("l2:0.1"), "--ref-data file " + ref_ + "/small.npy: input 'pixel_values' has shape 1x3x64x64");
  fs::remove(ref_ + "/small.npy");
  // Labels need class scores [N, C, ...]: a MatMul's [rows, 4] has none.
  ModelBuilder b(17);
  b.input("x", DType::kF32, {3, 16}).output("y", DType::kF32);
  b.initializer("w", Tensor::from_doubles(DType::kF32, {16, 4}, std::vector<double>(64, 0.25)));
  b.node("MatMul", {"x", "w"}, {"y"});
  b.save(dir_ + "/mm.onnx");
  for (const std::string d : {"mm_calib", "mm_ref"}) {
    fs::create_directories(dir_ + "/" + d);
    Tensor t(DType::kF32, {3, 16});
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i % (d == "mm_calib" ? 7 : 5)) - 3;
    write_npy(dir_ + "/" + d + "/x.npy", t);
  }
  expect_user_error("build " + dir_ + "/mm.onnx -o " + out_ + " --int8 --calib " + dir_ + "/mm_calib --accuracy-budget labels:99 --ref-data " +
                        dir_ + "/mm_ref",
                    "the first output 'y' (3x4) holds no class scores [N, C, ...] to take labels from; give l2:X");
}

}  // namespace
}  // namespace kiln::test
