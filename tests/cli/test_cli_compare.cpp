// kiln compare through the real binary. The acceptance test of per-layer comparison: a copy of
// segformer_tiny with ONE layer's weights scaled by 1.05, built into an engine, is compared with
// the original ONNX model, and --per-layer must name that layer (or the fused node holding it)
// as the first jump; the unperturbed engine has no jump and exits 0. Then the user errors.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_fixture.h"

namespace kiln::test {
namespace {

const std::string kTiny = std::string(KILN_TEST_DIR) + "/models/segformer_tiny";
const std::string kModel = kTiny + "/model.onnx";
const std::string kInput = "--input pixel_values=" + kTiny + "/inputs/pixel_values.npy";
const std::string kFc1 = "/model/segformer/stages.1/blocks.0/mlp/fc1/MatMul";
const std::string kConv = "/model/segformer/stages.2/patch_embeddings/proj/Conv";

// Writes model.onnx with the float initializer that node `node_name` reads as input 1 (its
// weights) scaled by `scale`; fails the test if there is no such node or initializer.
void write_perturbed(const std::string& path, const std::string& node_name, float scale) {
  onnx::ModelProto m;
  std::ifstream in(kModel, std::ios::binary);
  ASSERT_TRUE(m.ParseFromIstream(&in));
  std::string weight;
  for (const auto& n : m.graph().node())
    if (n.name() == node_name) weight = n.input(1);
  ASSERT_FALSE(weight.empty()) << node_name;
  bool found = false;
  for (auto& init : *m.mutable_graph()->mutable_initializer()) {
    if (init.name() != weight) continue;
    ASSERT_EQ(init.data_type(), onnx::TensorProto::FLOAT);
    found = true;
    if (init.float_data_size()) {
      for (int i = 0; i < init.float_data_size(); ++i) init.set_float_data(i, init.float_data(i) * scale);
      continue;
    }
    std::string raw = init.raw_data();
    ASSERT_GT(raw.size(), 0u);
    for (size_t i = 0; i + 4 <= raw.size(); i += 4) {
      float v;
      std::memcpy(&v, raw.data() + i, 4);
      v *= scale;
      std::memcpy(raw.data() + i, &v, 4);
    }
    init.set_raw_data(raw);
  }
  ASSERT_TRUE(found) << weight;
  std::ofstream out(path, std::ios::binary);
  ASSERT_TRUE(m.SerializeToOstream(&out));
}

bool covers(const nlohmann::json& tensor, const std::string& node_name) {
  for (const auto& r : tensor["covers"])
    if (r["name"] == node_name) return true;
  return false;
}

class CompareCli : public CliTest {
 protected:
  void SetUp() override { make_dirs("compare_cli"); }

  // Builds `onnx` into an engine beside it (CPU) and returns the engine's path.
  std::string build(const std::string& onnx, const std::string& name) {
    std::string engine = dir_ + "/" + name + ".kiln";
    CliResult r = kiln("build " + onnx + " -o " + engine);
    EXPECT_EQ(r.code, 0) << r.err;
    return engine;
  }

  nlohmann::json compare_json(const std::string& args, int want_code) {
    CliResult r = kiln("compare " + args + " --json");
    EXPECT_EQ(r.code, want_code) << args << "\n" << r.err;
    EXPECT_EQ(r.err, "");
    return nlohmann::json::parse(r.out);
  }

  // Every tensor before the first jump is within tolerance: nothing upstream was blamed.
  static void expect_clean_before_jump(const nlohmann::json& j) {
    for (const auto& t : j["tensors"]) {
      if (t["jump"].get<bool>()) break;
      EXPECT_EQ(t["status"], "within") << t["name"];
    }
  }
};

TEST_F(CompareCli, UnperturbedEngineHasNoJumpAndExitsZero) {
  std::string engine = build(kModel, "tiny");
  CliResult r = kiln("compare " + engine + " " + kModel + " " + kInput + " --per-layer");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("first jump: none"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("result: PASS"), std::string::npos);
  EXPECT_NE(r.out.find("tolerance: rel_l2 <= 0.0001 or max_abs <= 1e-06"), std::string::npos);

  nlohmann::json j = compare_json(engine + " " + kModel + " " + kInput + " --per-layer", 0);
  EXPECT_TRUE(j["first_jump"].is_null());
  EXPECT_EQ(j["mismatches"], 0);
  EXPECT_EQ(j["result"], "pass");
  EXPECT_GE(j["tensors"].size(), 59u);  // every unfused layer of the engine is compared (59 at this writing: 60
                                        // before fuse_patch_embed_layer_norm took the embedding's norm in)
  EXPECT_GT(j["not_in_reference"].get<int>(), 0);
  for (const auto& t : j["tensors"]) EXPECT_LE(t["rel_l2"].get<double>(), 1e-6) << t["name"];
  const auto& logits = j["tensors"].back();
  EXPECT_EQ(logits["name"], "logits");
  EXPECT_TRUE(logits["graph_output"].get<bool>());
  EXPECT_EQ(logits["label_agreement"], 1.0);
}

TEST_F(CompareCli, PlantedMatMulErrorIsLocalizedToTheFusedNodeThatHoldsIt) {
  std::string perturbed = dir_ + "/fc1.onnx";
  write_perturbed(perturbed, kFc1, 1.05f);
  std::string engine = build(perturbed, "fc1");
  nlohmann::json j = compare_json(engine + " " + kModel + " " + kInput + " --per-layer", 3);
  ASSERT_FALSE(j["first_jump"].is_null());
  const auto& jump = j["first_jump"];
  // fc1's MatMul and its bias Add are one kiln.FusedMatMul in the engine, writing the Add's output.
  EXPECT_EQ(jump["name"], "/model/segformer/stages.1/blocks.0/mlp/fc1/Add_output_0");
  EXPECT_EQ(jump["producer"]["op"], "kiln.FusedMatMul");
  EXPECT_EQ(jump["made_by"], "fuse_matmul_epilogue");
  EXPECT_TRUE(covers(jump, kFc1)) << jump.dump();
  EXPECT_EQ(jump["covers"].size(), 2u) << jump.dump();  // the MatMul and the bias Add, nothing else
  EXPECT_GT(jump["rel_l2"].get<double>(), 1e-2);
  EXPECT_EQ(j["result"], "mismatch");
  expect_clean_before_jump(j);
  int jumps = 0;
  for (const auto& t : j["tensors"]) jumps += t["jump"].get<bool>();
  EXPECT_EQ(jumps, 1);  // everything downstream only carries it

  CliResult r = kiln("compare " + engine + " " + kModel + " " + kInput + " --per-layer");
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.out.find("first jump: /model/segformer/stages.1/blocks.0/mlp/fc1/Add_output_0 from kiln.FusedMatMul"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("MatMul '" + kFc1 + "'"), std::string::npos);
  EXPECT_NE(r.out.find("result: MISMATCH (exit 3)"), std::string::npos);
}

TEST_F(CompareCli, PlantedConvErrorNamesTheConvItself) {
  std::string perturbed = dir_ + "/conv.onnx";
  write_perturbed(perturbed, kConv, 1.05f);
  std::string engine = build(perturbed, "conv");
  nlohmann::json j = compare_json(engine + " " + kModel + " " + kInput + " --per-layer", 3);
  ASSERT_FALSE(j["first_jump"].is_null());
  const auto& jump = j["first_jump"];
  EXPECT_EQ(jump["producer"]["name"], kConv);
  // fuse_token_im2col_conv made the patch embedding a window gather and a GEMM that keeps the
  // conv's name; the GEMM covers the conv (and the token round trips it replaced).
  EXPECT_EQ(jump["producer"]["op"], "kiln.FusedMatMul");
  EXPECT_TRUE(covers(jump, kConv)) << jump.dump();
  expect_clean_before_jump(j);

  // An ONNX model as A runs with every pass, like an engine build: the same layer.
  j = compare_json(perturbed + " " + kModel + " " + kInput + " --per-layer", 3);
  EXPECT_EQ(j["first_jump"]["producer"]["name"], kConv);
}

TEST_F(CompareCli, WithoutPerLayerOnlyOutputsAreComparedAndAMismatchExitsThree) {
  std::string classifier = dir_ + "/classifier.onnx";
  write_perturbed(classifier, "/model/decode_head/classifier/Conv", 1.05f);
  nlohmann::json j = compare_json(classifier + " " + kModel + " " + kInput, 3);
  ASSERT_EQ(j["tensors"].size(), 1u);
  EXPECT_EQ(j["tensors"][0]["name"], "logits");
  EXPECT_EQ(j["tensors"][0]["status"], "out_of_tolerance");
  EXPECT_TRUE(j["first_jump"].is_null());
  EXPECT_FALSE(j.contains("not_in_reference"));
  EXPECT_TRUE(j["tensors"][0].contains("label_agreement"));
  // The same pair passes under a tolerance loose enough for a 5% weight error.
  j = compare_json(classifier + " " + kModel + " " + kInput + " --rtol 0.5", 0);
  EXPECT_EQ(j["tolerance"]["rtol"], 0.5);

  // fc1's 5% error fades to rel L2 3e-6 by the logits (the MLP adds little to SegFormer's
  // residual stream here): the outputs pass, and only --per-layer finds the layer.
  std::string fc1 = dir_ + "/fc1.onnx";
  write_perturbed(fc1, kFc1, 1.05f);
  j = compare_json(fc1 + " " + kModel + " " + kInput, 0);
  EXPECT_LT(j["tensors"][0]["rel_l2"].get<double>(), 1e-4);
  EXPECT_EQ(compare_json(fc1 + " " + kModel + " " + kInput + " --per-layer", 3)["first_jump"]["producer"]["name"],
            "/model/segformer/stages.1/blocks.0/mlp/fc1/Add");

  // The model against itself, on seeded random inputs, passes and prints the seed.
  CliResult r = kiln("compare " + kModel + " " + kModel + " --input pixel_values=random --seed 7");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("random inputs: seed 7"), std::string::npos) << r.out;
}

TEST_F(CompareCli, ShapesThatDifferByNameAreReportedNotACrash) {
  // Both compute t and y = ReduceSum(t), but t is x in one and its transpose in the other.
  auto save = [&](const std::string& path, bool transpose) {
    ModelBuilder b;
    b.input("x", DType::kF32, {2, 3}).output("y", DType::kF32);
    b.node(transpose ? "Transpose" : "Identity", {"x"}, {"t"});
    set_int_attr(b.node("ReduceSum", {"t"}, {"y"}), "keepdims", 0);
    b.save(path);
  };
  save(dir_ + "/a.onnx", true);
  save(dir_ + "/b.onnx", false);
  CliResult r = kiln("compare " + dir_ + "/a.onnx " + dir_ + "/b.onnx --input x=random --seed 3 --per-layer");
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.out.find("3x2 vs 2x3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("first jump: t from Transpose"), std::string::npos) << r.out;
}

TEST_F(CompareCli, UserErrorsExitTwoWithOneLine) {
  const std::string pair = kModel + " " + kModel + " ";
  expect_user_error("compare " + dir_ + "/missing.onnx " + kModel + " " + kInput, "missing.onnx");
  expect_user_error("compare " + kModel + " " + dir_ + "/missing.onnx " + kInput, "missing.onnx");
  expect_user_error("compare " + pair + "--input nope=random", "no input named 'nope'");
  expect_user_error("compare " + pair + "--input pixel_values=" + dir_ + "/none.npy", "none.npy");
  expect_user_error("compare " + pair + kInput + " --bogus", "bogus");
  expect_user_error("compare " + pair + kInput + " --criterion fp8", "fp8");
  expect_user_error("compare " + pair + kInput + " --rtol -1", "rtol");
  expect_user_error("compare " + pair + kInput + " --min-labels 2", "min-labels");
  expect_user_error("compare " + kModel, "reference");
  expect_user_error("compare " + pair + kInput + " --device tpu", "tpu");
  // Models with other outputs cannot be compared.
  ModelBuilder b;
  b.input("pixel_values", DType::kF32, {1, 3, 128, 128}).output("other", DType::kF32);
  b.node("Relu", {"pixel_values"}, {"other"});
  b.save(dir_ + "/other.onnx");
  expect_user_error("compare " + dir_ + "/other.onnx " + kModel + " " + kInput, "'other'");
}

TEST_F(CompareCli, HelpStatesTheJumpRuleAndExitCodes) {
  CliResult r = kiln("compare --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("first JUMP"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 a tensor out of tolerance"), std::string::npos);
  EXPECT_NE(r.out.find("--per-layer"), std::string::npos);
}

}  // namespace
}  // namespace kiln::test
