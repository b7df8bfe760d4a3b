// Every reference model under tests/models/<name>/ (exported by tools/export on the GPU
// machine) runs on the CPU reference backend and must match its PyTorch fp32 goldens.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "model_compare.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

// fp32 on a CPU against PyTorch fp32 on another machine: only summation order differs.
constexpr double kMaxRelL2 = 1e-5;

class ModelGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelGolden, MatchesPyTorchFp32) {
  fs::path dir = fs::path(KILN_TEST_DIR) / "models" / GetParam();
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  PassReport passes = run_passes(g);
  auto t0 = std::chrono::steady_clock::now();
  TensorMap got = CpuExecutor(g).run(feeds);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  char detail[64];
  std::snprintf(detail, sizeof detail, " (%d nodes, %.0f ms)", passes.nodes_after, ms);
  test::expect_goldens(dir, GetParam(), got, {kMaxRelL2, 0, "", "", detail});
}

INSTANTIATE_TEST_SUITE_P(Models, ModelGolden, ::testing::ValuesIn(test::reference_models(KILN_TEST_DIR)),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiln
