// Every reference model under tests/models/<name>/ (exported by tools/export on the GPU
// machine) runs on the CPU reference backend and must match its PyTorch fp32 goldens.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "io/npy.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

// fp32 on a CPU against PyTorch fp32 on another machine: only summation order differs.
constexpr double kMaxRelL2 = 1e-5;

std::vector<std::string> model_dirs() {
  std::vector<std::string> dirs;
  fs::path root = fs::path(KILN_TEST_DIR) / "models";
  if (fs::is_directory(root))
    for (const auto& e : fs::directory_iterator(root))
      if (fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path().filename().string());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

double rel_l2(const Tensor& got, const Tensor& want, double* max_abs) {
  double num = 0, den = 0;
  *max_abs = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.at_double(i), w = want.at_double(i);
    if (!std::isfinite(g)) return INFINITY;
    num += (g - w) * (g - w);
    den += w * w;
    *max_abs = std::max(*max_abs, std::abs(g - w));
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

class ModelGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelGolden, MatchesPyTorchFp32) {
  fs::path dir = fs::path(KILN_TEST_DIR) / "models" / GetParam();
  TensorMap feeds;
  ImportOptions import;
  for (const auto& e : fs::directory_iterator(dir / "inputs")) {
    std::string name = e.path().stem().string();
    feeds[name] = read_npy(e.path().string());
    import.input_shapes[name] = feeds[name].dims();
  }
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  PassReport passes = run_passes(g);
  auto t0 = std::chrono::steady_clock::now();
  TensorMap got = CpuExecutor(g).run(feeds);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  int compared = 0;
  for (const auto& e : fs::directory_iterator(dir / "golden")) {
    std::string name = e.path().stem().string();
    ASSERT_TRUE(got.count(name)) << "no output named " << name;
    Tensor want = read_npy(e.path().string());
    const Tensor& out = got.at(name);
    ASSERT_EQ(dims_to_string(out.dims()), dims_to_string(want.dims())) << name;
    double max_abs = 0, err = rel_l2(out, want, &max_abs);
    std::printf("%s/%s: rel L2 %.3g, max abs %.3g (%d nodes, %.0f ms)\n", GetParam().c_str(),
                name.c_str(), err, max_abs, passes.nodes_after, ms);
    EXPECT_LE(err, kMaxRelL2) << name;
    ++compared;
  }
  EXPECT_GT(compared, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, ModelGolden, ::testing::ValuesIn(model_dirs()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiln
