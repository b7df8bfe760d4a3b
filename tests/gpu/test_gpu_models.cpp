// The reference models (tests/models/<name>) on the GPU against their PyTorch fp32 goldens, and
// the executor's contract for ops without CUDA kernels.
#include <chrono>
#include <cmath>
#include <filesystem>

#include "../model/model_compare.h"
#include "gpu_compare.h"
#include "io/npy.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cuda/cuda_executor.h"

namespace kiln::gpu_test {
namespace {
namespace fs = std::filesystem;

// fp32 without TF32 on the GPU against PyTorch fp32 (TF32 off): summation order only.
constexpr double kMaxRelL2 = 1e-4;

class GpuModelGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(GpuModelGolden, MatchesPyTorchFp32) {
  fs::path dir = fs::path(test_dir()) / "models" / GetParam();
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(g);
  std::vector<std::string> missing = ops_without_cuda_kernel(g);
  if (!missing.empty()) {
    std::string list;
    for (const auto& op : missing) list += " " + op;
    // The executor must refuse such a graph with an error naming the ops.
    try {
      CudaExecutor exec(g);
      ADD_FAILURE() << "CudaExecutor accepted a graph with ops lacking CUDA kernels";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
      EXPECT_NE(std::string(e.what()).find("no CUDA kernel for " + missing[0]), std::string::npos) << e.what();
    }
    GTEST_SKIP() << GetParam() << ": no CUDA kernel yet for:" << list;
  }
  CudaExecutor exec(g);
  exec.run(feeds);  // warm-up: cuDNN/cuBLASLt heuristics, allocator pool
  auto t0 = std::chrono::steady_clock::now();
  TensorMap got = exec.run(feeds);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  char detail[96];
  std::snprintf(detail, sizeof detail, ", %d nodes, run %.2f ms (host copies included)", int(g.nodes.size()), ms);
  test::expect_goldens(dir, GetParam(), got, {kMaxRelL2, 0, "model ", "", detail});
}

INSTANTIATE_TEST_SUITE_P(Models, GpuModelGolden, ::testing::ValuesIn(test::reference_models(test_dir())),
                         [](const auto& info) { return info.param; });

TEST(GpuExecutor, OpWithoutKernelIsAnErrorNamingIt) {
  // TopK has a CPU kernel and (for now) no CUDA kernel.
  GpuCase c{"TopK", {random_tensor(DType::kF32, {3, 17}, 1), int64_tensor({2})}, {1}};
  c.num_outputs = 2;
  try {
    expect_gpu_matches_cpu(c);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("no CUDA kernel for TopK; run with --device cpu"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace kiln::gpu_test
