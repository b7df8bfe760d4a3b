// An fp16 engine with symbolic inputs, at one of its shapes, computes what a static fp16 engine
// built for that shape computes (the same graph, tests/unit/test_specialize_fp16.cpp; on the GPU
// within fp16's compare criterion, since the two builds time their kernel choices apart), however
// it is run: `kiln run` (which specializes the engine's graph itself,
// tools/kiln/model_source.cpp) and a CudaExecutor on the loaded engine (its plans' specialize:
// kiln bench, profile, Python). Before this, `kiln run` skipped the conversion and ran fp32:
// within 1e-6 of the fp32 golden, which an fp16 run is not.
#include <cstdio>
#include <memory>

#include "../cli/cli_fixture.h"
#include "io/npy.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/output_compare.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

const std::string kDir = std::string(KILN_TEST_DIR) + "/models/anchor_detr_tiny";
const std::string kInputs = " --input image=" + kDir + "/inputs/image.npy --input padding_mask=" + kDir +
                            "/inputs/padding_mask.npy";

class GpuDynamicFp16 : public test::CliTest {
 protected:
  void SetUp() override { make_dirs("gpu_dynamic_fp16"); }
  void build(const std::string& engine, const std::string& shapes) {
    test::CliResult r = kiln("build " + kDir + "/model.onnx -o " + dir_ + "/" + engine + " --device cuda --fp16 " + shapes);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  void run(const std::string& engine, const std::string& out) {
    test::CliResult r = kiln("run " + dir_ + "/" + engine + kInputs + " --device cuda -o " + dir_ + "/" + out);
    ASSERT_EQ(r.code, 0) << r.err;
  }
};

TEST_F(GpuDynamicFp16, RunsTheStaticEnginesGraphAtItsShape) {
  // The committed inputs: 1x3x128x160.
  build("static.kiln", "--shape image=1x3x128x160 --shape padding_mask=1x128x160");
  build("dynamic.kiln",
        "--min image=1x3x64x64 --min padding_mask=1x64x64 --opt image=1x3x96x96 --opt padding_mask=1x96x96 "
        "--max image=1x3x160x192 --max padding_mask=1x160x192");
  run("static.kiln", "s");
  run("dynamic.kiln", "d");
  auto expect_fp16_like_static = [&](const Tensor& d, const Tensor& s, const std::string& name) {
    const Tensor golden = read_npy(kDir + "/golden/" + name + ".npy");
    const double to_static = compare_output(d, s, name).rel_l2, to_golden = compare_output(d, golden, name).rel_l2;
    std::printf("%s: dynamic vs static fp16 rel L2 %.3g, vs the fp32 golden %.3g\n", name.c_str(), to_static, to_golden);
    EXPECT_LE(to_static, 1e-2) << name;
    EXPECT_GT(to_golden, 1e-5) << name << ": fp32 accuracy from an fp16 engine";
  };
  for (const char* name : {"pred_logits", "pred_boxes"})
    expect_fp16_like_static(read_npy(dir_ + "/d/" + name + ".npy"), read_npy(dir_ + "/s/" + name + ".npy"), name);
  // The CUDA plans' own specialization, as kiln bench runs the engine.
  const TensorMap feeds{{"image", read_npy(kDir + "/inputs/image.npy")},
                        {"padding_mask", read_npy(kDir + "/inputs/padding_mask.npy")}};
  auto outputs = [&](const std::string& engine) {
    Engine e = load_engine(dir_ + "/" + engine);
    CudaExecutor exec(std::make_shared<CudaModel>(e.graph, e.build));
    return exec.run(feeds);
  };
  const TensorMap s = outputs("static.kiln"), d = outputs("dynamic.kiln");
  for (const auto& [name, t] : s) expect_fp16_like_static(d.at(name), t, name);
}

}  // namespace
}  // namespace kiln
