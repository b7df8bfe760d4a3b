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
  int compared = 0;
  for (const auto& e : fs::directory_iterator(dir / "golden")) {
    std::string name = e.path().stem().string();
    ASSERT_TRUE(got.count(name)) << "no output named " << name;
    Tensor want = read_npy(e.path().string());
    const Tensor& out = got.at(name);
    EXPECT_EQ(out.dtype(), want.dtype()) << name;
    ASSERT_EQ(dims_to_string(out.dims()), dims_to_string(want.dims())) << name;
    test::Agreement a = test::compare_to_golden(out, want);
    std::printf("model %s/%s fp16: rel L2 %.3g, max abs %.3g, %d nodes, run %.2f ms (host copies included)\n",
                GetParam().c_str(), name.c_str(), a.rel_l2, a.max_abs, int(g.nodes.size()), ms);
    EXPECT_TRUE(a.finite) << name << " has NaN/Inf";
    EXPECT_LE(a.rel_l2, kMaxRelL2) << name;
    if (GetParam().rfind("segformer", 0) == 0) {
      double labels = test::label_agreement(out, want);
      std::printf("model %s/%s fp16: labels agree at %.4f of pixels\n", GetParam().c_str(), name.c_str(),
                  labels);
      EXPECT_GE(labels, kMinLabelAgreement) << name;
    }
    ++compared;
  }
  EXPECT_GT(compared, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, GpuFp16ModelGolden, ::testing::ValuesIn(test::reference_models(test_dir())),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiln::gpu_test
