// The reference models converted to fp16 storage (convert_to_fp16, what `kiln build --fp16`
// runs) on the GPU: fp16 storage with fp32 math must stay within fp16 precision of the PyTorch
// fp32 goldens, keep SegFormer's labels, and produce no NaN/Inf.
#include <chrono>
#include <filesystem>

#include "../model/model_compare.h"
#include "gpu_compare.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cuda/cuda_executor.h"

namespace kiln::gpu_test {
namespace {
namespace fs = std::filesystem;

constexpr double kMaxRelL2 = 1e-2;
constexpr double kMinLabelAgreement = 0.99;  // SegFormer's per-pixel argmax over axis 1

class GpuFp16ModelGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(GpuFp16ModelGolden, MatchesPyTorchFp32WithinFp16Precision) {
  fs::path dir = fs::path(test_dir()) / "models" / GetParam();
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(g);
  PrecisionReport r = convert_to_fp16(g);
  std::printf("model %s fp16: %s\n", GetParam().c_str(), describe(r).c_str());
  std::vector<std::string> missing = ops_without_cuda_kernel(g);
  if (!missing.empty()) {
    std::string list;
    for (const auto& op : missing) list += " " + op;
    GTEST_SKIP() << GetParam() << ": no CUDA kernel yet for:" << list;
  }
  CudaExecutor exec(g);
  exec.run(feeds);  // warm-up: cuDNN/cuBLASLt heuristics, allocator pool
  auto t0 = std::chrono::steady_clock::now();
  TensorMap got = exec.run(feeds);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  char detail[96];
  std::snprintf(detail, sizeof detail, ", %d nodes, run %.2f ms (host copies included)", int(g.nodes.size()), ms);
  test::expect_goldens(dir, GetParam(), got, {kMaxRelL2, kMinLabelAgreement, "model ", " fp16", detail});
}

INSTANTIATE_TEST_SUITE_P(Models, GpuFp16ModelGolden, ::testing::ValuesIn(test::reference_models(test_dir())),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiln::gpu_test
