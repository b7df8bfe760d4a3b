// kiln build + run/inspect on engine files through the real binary: an engine runs to the
// same bytes as the ONNX model; bad builds and bad engines exit 2 with one line and write
// nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../ops/harness.h"
#include "../unit/onnx_builder.h"
#include "io/npy.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class EngineCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("engine_cli");
    // y = Relu(x * w + b) with a symbolic batch: folding and constants both matter.
    test::ModelBuilder b;
    b.input("x", DType::kF32, {-1, 3}).output("y", DType::kF32);
    b.initializer("w", test::random_tensor(DType::kF32, {3}, 7));
    b.initializer("b", test::random_tensor(DType::kF32, {3}, 8));
    b.node("Mul", {"x", "w"}, {"xw"});
    b.node("Add", {"xw", "b"}, {"s"});
    b.node("Relu", {"s"}, {"y"});
    model_ = dir_ + "/affine.onnx";
    b.save(model_);
    x_ = dir_ + "/x.npy";
    write_npy(x_, test::random_tensor(DType::kF32, {4, 3}, 1));
    engine_ = dir_ + "/affine.kiln";
    out_ = dir_ + "/out";
  }
  void TearDown() override { fs::remove_all(dir_); }

  struct Result {
    int code;
    std::string out, err;
  };
  Result kiln(const std::string& args) {
    std::string cmd = std::string(KILN_BINARY) + " " + args + " >" + dir_ + "/stdout 2>" + dir_ + "/stderr";
    int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir_ + "/stdout"), slurp(dir_ + "/stderr")};
  }
  // Exit 2, one stderr line containing `fragment`, and neither `written` nor its .tmp exists.
  void expect_user_error(const std::string& args, const std::string& fragment, const std::string& written) {
    Result r = kiln(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << "want '" << fragment << "' in: " << r.err;
    EXPECT_FALSE(fs::exists(written)) << args << " wrote " << written;
    EXPECT_FALSE(fs::exists(written + ".tmp")) << args << " left " << written << ".tmp";
  }
  void build_engine(const std::string& extra = "") {
    Result r = kiln("build " + model_ + " -o " + engine_ + " " + extra);
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_TRUE(is_engine_file(engine_));
  }

  std::string dir_, model_, x_, engine_, out_;
};

TEST_F(EngineCli, BuildThenRunMatchesOnnxBitForBit) {
  build_engine("--shape x=4x3");
  Result onnx = kiln("run " + model_ + " --input x=" + x_ + " -o " + dir_ + "/from_onnx");
  ASSERT_EQ(onnx.code, 0) << onnx.err;
  Result engine = kiln("run " + engine_ + " --input x=" + x_ + " -o " + out_);
  ASSERT_EQ(engine.code, 0) << engine.err;
  EXPECT_EQ(slurp(out_ + "/y.npy"), slurp(dir_ + "/from_onnx/y.npy"));
  // The engine needs no ONNX file.
  fs::remove(model_);
  fs::remove_all(out_);
  ASSERT_EQ(kiln("run " + engine_ + " --input x=" + x_ + " -o " + out_).code, 0);
  EXPECT_EQ(slurp(out_ + "/y.npy"), slurp(dir_ + "/from_onnx/y.npy"));
}

TEST_F(EngineCli, SymbolicEngineTakesShapesAtRunTime) {
  build_engine();  // batch stays symbolic
  Result onnx = kiln("run " + model_ + " --input x=" + x_ + " -o " + dir_ + "/from_onnx");
  ASSERT_EQ(onnx.code, 0) << onnx.err;
  Result engine = kiln("run " + engine_ + " --input x=" + x_ + " -o " + out_);
  ASSERT_EQ(engine.code, 0) << engine.err;
  EXPECT_EQ(slurp(out_ + "/y.npy"), slurp(dir_ + "/from_onnx/y.npy"));
}

TEST_F(EngineCli, InspectAndJson) {
  Result b = kiln("build " + model_ + " -o " + engine_ + " --json");
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_NE(b.out.find("\"format_version\": " + std::to_string(kEngineFormatVersion)), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("\"device\": \"cpu\""), std::string::npos) << b.out;
  Result r = kiln("inspect " + engine_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("engine: format " + std::to_string(kEngineFormatVersion) + ", built for cpu"), std::string::npos)
      << r.out;
  // Told apart by content: an engine under a .onnx name still loads as an engine.
  fs::rename(engine_, dir_ + "/disguised.onnx");
  EXPECT_EQ(kiln("inspect " + dir_ + "/disguised.onnx").code, 0);
}

TEST_F(EngineCli, BadBuildsWriteNothing) {
  expect_user_error("build " + dir_ + "/missing.onnx -o " + engine_, "not found", engine_);
  expect_user_error("build " + model_ + " -o " + dir_ + "/no/such/dir/e.kiln", "cannot write",
                    dir_ + "/no/such/dir/e.kiln");
  expect_user_error("build " + model_ + " -o " + engine_ + " --device tpu", "tpu", engine_);
  expect_user_error("build " + model_ + " -o " + engine_ + " --shape q=1x3", "no input named 'q'", engine_);
  expect_user_error("build " + model_ + " -o " + engine_ + " --shape x=4x5", "4x5", engine_);
  expect_user_error("build " + model_, "--output", engine_);
  std::ofstream(dir_ + "/text.onnx") << "not a model\n";
  expect_user_error("build " + dir_ + "/text.onnx -o " + engine_, "not a valid ONNX model", engine_);
  build_engine();
  std::string second = dir_ + "/second.kiln";
  expect_user_error("build " + engine_ + " -o " + second, "already an engine file", second);
}

// The precision, profile, timing-cache, bench and profile flags: misuse is one line, exit 2,
// nothing written; a CPU engine with a profile records it and refuses shapes outside it.
TEST_F(EngineCli, BuildFlagsAndGpuCommandsRefuseMisuse) {
  expect_user_error("build " + model_ + " -o " + engine_ + " --fp16", "--fp16 needs --device cuda", engine_);
  expect_user_error("build " + model_ + " -o " + engine_ + " --tf32", "--tf32 needs --device cuda", engine_);
  expect_user_error("build " + model_ + " -o " + engine_ + " --fp32 --fp16 --device cpu", "one of --fp32", engine_);
  expect_user_error("build " + model_ + " -o " + engine_ + " --min x=1x3 --max x=8x3", "all three of --min", engine_);
  expect_user_error("build " + model_ + " -o " + engine_ + " --min x=4x3 --opt x=2x3 --max x=8x3",
                    "min <= opt <= max", engine_);
  expect_user_error("build " + model_ + " -o " + engine_ + " --min x=1x2 --opt x=2x2 --max x=8x2", "fixed dim 3",
                    engine_);
  expect_user_error("build " + model_ + " -o " + engine_ + " --shape x=2x3 --min x=1x3 --opt x=2x3 --max x=8x3",
                    "both --shape and", engine_);
  expect_user_error("build " + model_ + " -o " + engine_ + " --timing-cache " + dir_ + "/t.cache",
                    "--timing-cache needs --device cuda", engine_);
  expect_user_error("run " + model_ + " --input x=" + x_ + " --no-cuda-graph -o " + out_,
                    "--no-cuda-graph needs --device cuda", out_);
  build_engine("--min x=1x3 --opt x=4x3 --max x=8x3");
  Result ok = kiln("run " + engine_ + " --input x=" + x_ + " -o " + out_);
  EXPECT_EQ(ok.code, 0) << ok.err;
  fs::remove_all(out_);
  expect_user_error("run " + engine_ + " --input x=random --shape x=9x3 -o " + out_, "outside engine", out_);
  for (const char* cmd : {"bench", "profile"}) {
    Result r = kiln(std::string(cmd) + " " + engine_);
    EXPECT_EQ(r.code, 2) << cmd << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    Result onnx = kiln(std::string(cmd) + " " + model_);
    EXPECT_EQ(onnx.code, 2) << cmd << ": " << onnx.err;
  }
}

TEST_F(EngineCli, BadEnginesAreRefused) {
  build_engine("--shape x=4x3");
  std::string bytes = slurp(engine_);
  auto write = [&](const std::string& name, const std::string& b) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << b;
    return dir_ + "/" + name;
  };
  std::string run_tail = " --input x=" + x_ + " -o " + out_;
  expect_user_error("run " + write("cut.kiln", bytes.substr(0, bytes.size() - 3)) + run_tail,
                    "cut.kiln is truncated", out_);
  expect_user_error("run " + write("header.kiln", bytes.substr(0, 20)) + run_tail, "is truncated", out_);
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  expect_user_error("run " + write("flipped.kiln", flipped) + run_tail, "flipped.kiln is corrupt (checksum", out_);
  std::string next = bytes;  // a later format this kiln does not know
  next[8] = char(kEngineFormatVersion + 1);
  const std::string want = "format version " + std::to_string(kEngineFormatVersion + 1);
  expect_user_error("run " + write("next.kiln", next) + run_tail, want, out_);
  expect_user_error("inspect " + dir_ + "/next.kiln", want, out_);
  expect_user_error("run " + engine_ + " --input x=random --shape x=5x3 -o " + out_, "got 5x3; rebuild it", out_);
}

TEST_F(EngineCli, OtherDeviceIsRefused) {
  Graph g;  // a tiny graph saved as if built for an H100/H200
  g.values["x"] = Value{"x", {DType::kF32, shape_of({4, 3})}, {}};
  g.values["y"] = Value{"y", {DType::kF32, shape_of({4, 3})}, {}};
  Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.opset = 17;
  relu.inputs = {"x"};
  relu.outputs = {"y"};
  g.nodes.push_back(relu);
  g.inputs = {"x"};
  g.outputs = {"y"};
  g.opsets = {{"", 17}};
  std::string cuda_engine = dir_ + "/cuda.kiln";
  save_engine(cuda_engine, g, {"cuda", "sm_90"});
  expect_user_error("run " + cuda_engine + " --device cpu --input x=" + x_ + " -o " + out_,
                    "was built for cuda sm_90, not cpu: run it with --device cuda", out_);
  save_engine(cuda_engine, g, {"rocm", "gfx942"});  // a device this kiln does not know
  expect_user_error("run " + cuda_engine + " --input x=" + x_ + " -o " + out_,
                    "was built for rocm gfx942, which this kiln cannot run", out_);
  save_engine(cuda_engine, g, {"cpu", ""});  // the same graph as a cpu engine runs
  Result r = kiln("run " + cuda_engine + " --input x=" + x_ + " -o " + out_);
  EXPECT_EQ(r.code, 0) << r.err;
}

// Without a GPU (or without the CUDA backend) a cuda build is a user error that writes
// nothing; with one, the engine records the GPU's architecture, runs on it by default to the
// bytes the ONNX model gives there, and is refused on the cpu.
TEST_F(EngineCli, CudaTargetIsRecordedOrRefused) {
  Result r = kiln("build " + model_ + " -o " + engine_ + " --device cuda --shape x=4x3");
  if (r.code != 0) {
    expect_user_error("build " + model_ + " -o " + engine_ + " --device cuda --shape x=4x3", "cuda", engine_);
    return;
  }
  EngineTarget t = peek_engine_target(engine_);
  EXPECT_EQ(t.device, "cuda");
  EXPECT_EQ(t.arch.rfind("sm_", 0), 0u) << t.arch;
  ASSERT_EQ(kiln("run " + model_ + " --device cuda --input x=" + x_ + " -o " + dir_ + "/from_onnx").code, 0);
  Result engine = kiln("run " + engine_ + " --input x=" + x_ + " -o " + out_);
  ASSERT_EQ(engine.code, 0) << engine.err;
  EXPECT_EQ(slurp(out_ + "/y.npy"), slurp(dir_ + "/from_onnx/y.npy"));
  fs::remove_all(out_);
  expect_user_error("run " + engine_ + " --device cpu --input x=" + x_ + " -o " + out_, "was built for cuda", out_);
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// --disable-pass and --fusions on a real model: the engine remembers what its passes rewrote and
// what was left out, and a run of it keeps them out.
TEST_F(EngineCli, DisabledPassesAndTheFusionList) {
  const std::string tiny = std::string(KILN_TEST_DIR) + "/models/segformer_tiny/model.onnx";
  Result all = kiln("build " + tiny + " -o " + engine_);
  ASSERT_EQ(all.code, 0) << all.err;
  Result listed = kiln("inspect " + engine_ + " --fusions");
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_NE(listed.out.find("fuse_gelu: "), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("-> Gelu '"), std::string::npos) << listed.out;

  Result off = kiln("build " + tiny + " -o " + engine_ + " --disable-pass fuse_gelu --disable-pass fuse_attention --json");
  ASSERT_EQ(off.code, 0) << off.err;
  Result j = kiln("inspect " + engine_ + " --fusions --json");
  ASSERT_EQ(j.code, 0) << j.err;
  EXPECT_NE(j.out.find("\"disabled_passes\": [\n    \"fuse_attention\",\n    \"fuse_gelu\"\n  ]"), std::string::npos) << j.out;
  EXPECT_EQ(j.out.find("\"pass\": \"fuse_gelu\""), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"pass\": \"fuse_token_dwconv\""), std::string::npos) << j.out;
  Result ops = kiln("inspect " + engine_);
  EXPECT_EQ(ops.out.find("Gelu "), std::string::npos) << ops.out;  // the Erf form stays
  EXPECT_NE(ops.out.find("Erf "), std::string::npos) << ops.out;

  // The same outputs with and without the passes, run from the engines and from the model.
  const std::string in = std::string(KILN_TEST_DIR) + "/models/segformer_tiny/inputs/pixel_values.npy";
  ASSERT_EQ(kiln("run " + engine_ + " -i pixel_values=" + in + " -o " + out_ + "/off").code, 0);
  ASSERT_EQ(kiln("run " + tiny + " -i pixel_values=" + in + " -o " + out_ + "/on").code, 0);
  ASSERT_EQ(kiln("run " + tiny + " --disable-pass fuse_gelu -i pixel_values=" + in + " -o " + out_ + "/onnx_off").code, 0);
  Tensor on = read_npy(out_ + "/on/logits.npy");
  for (const char* other : {"/off/logits.npy", "/onnx_off/logits.npy"}) {
    Tensor t = read_npy(out_ + other);
    ASSERT_EQ(t.dims(), on.dims());
    const float* a = on.data<float>();
    const float* b = t.data<float>();
    for (int64_t i = 0; i < on.numel(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5f + 1e-4f * std::abs(a[i])) << other << " @" << i;
  }

  expect_user_error("build " + tiny + " -o " + dir_ + "/x.kiln --disable-pass fuse_everything",
                    "no rewrite pass is named 'fuse_everything'", dir_ + "/x.kiln");
  expect_user_error("run " + engine_ + " --disable-pass fuse_gelu -i pixel_values=" + in + " -o " + dir_ + "/never",
                    "--disable-pass applies to ONNX models", dir_ + "/never");
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// --layers lists what runs: every node of the engine's graph in order with its operands' dtypes
// and shapes (text and JSON), the same count as the engine holds; with --fusions it is refused.
TEST_F(EngineCli, InspectLayersListsTheEngineGraph) {
  const std::string tiny = std::string(KILN_TEST_DIR) + "/models/segformer_tiny/model.onnx";
  ASSERT_EQ(kiln("build " + tiny + " -o " + engine_).code, 0);
  Result text = kiln("inspect " + engine_ + " --layers");
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("layers\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("kiln.Attention '"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("pixel_values:float321x3x"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("(const)"), std::string::npos) << text.out;
  Result j = kiln("inspect " + engine_ + " --layers --json");
  ASSERT_EQ(j.code, 0) << j.err;
  const nlohmann::json layers = nlohmann::json::parse(j.out).at("layers");
  const size_t listed = std::stoul(text.out.substr(text.out.find(": ") + 2));
  EXPECT_EQ(layers.size(), listed);
  EXPECT_EQ(layers.at(0).at("inputs").at(0).at("name"), "pixel_values");
  expect_user_error("inspect " + engine_ + " --layers --fusions", "--layers", out_ + "/nothing");
}

}  // namespace
}  // namespace kiln
