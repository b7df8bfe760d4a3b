// The reference models converted to fp16 storage (convert_to_fp16) on the CPU reference
// backend, whose fp16 kernels compute in float and round once per op as the CUDA kernels do:
// the converted graph must still match the PyTorch fp32 goldens to fp16 precision.
#include <gtest/gtest.h>

#include "model_compare.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

constexpr double kMaxRelL2 = 1e-2;
constexpr double kMinLabelAgreement = 0.99;  // SegFormer's per-pixel argmax

class Fp16ModelGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(Fp16ModelGolden, MatchesPyTorchFp32WithinFp16Precision) {
  fs::path dir = fs::path(KILN_TEST_DIR) / "models" / GetParam();
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(g);
  PrecisionReport r = convert_to_fp16(g);
  std::printf("%s: %s\n", GetParam().c_str(), describe(r).c_str());
  EXPECT_GT(r.values_converted, 0);
  TensorMap got = CpuExecutor(g).run(feeds);
  test::expect_goldens(dir, GetParam(), got, {kMaxRelL2, kMinLabelAgreement, "", " fp16", ""});
}

INSTANTIATE_TEST_SUITE_P(Models, Fp16ModelGolden,
                         ::testing::ValuesIn(test::reference_models(KILN_TEST_DIR)),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiln
