// Reference models exported with dynamic dims carry more input/golden sets made from the same
// weights at other shapes (tests/models/<name>/also/<set>/{inputs,golden}, written by the
// exporter's --also). The one model file, imported for each set's shapes, must match each.
#include <gtest/gtest.h>

#include <filesystem>

#include "model_compare.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

constexpr double kMaxRelL2 = 1e-5;  // as the main goldens: only summation order differs

// "<model>/<set>" for every also-set of every reference model, sorted.
std::vector<std::string> shape_sets() {
  std::vector<std::string> sets;
  for (const std::string& model : test::reference_models(KILN_TEST_DIR)) {
    fs::path also = fs::path(KILN_TEST_DIR) / "models" / model / "also";
    if (!fs::is_directory(also)) continue;
    for (const auto& e : fs::directory_iterator(also))
      if (fs::is_directory(e.path() / "inputs")) sets.push_back(model + "/" + e.path().filename().string());
  }
  std::sort(sets.begin(), sets.end());
  return sets;
}

class ModelMoreShapes : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelMoreShapes, MatchesPyTorchFp32) {
  const std::string& set = GetParam();
  const std::string model = set.substr(0, set.find('/'));
  fs::path models = fs::path(KILN_TEST_DIR) / "models";
  fs::path dir = models / model / "also" / set.substr(set.find('/') + 1);
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((models / model / "model.onnx").string(), import);
  run_passes(g);
  TensorMap got = CpuExecutor(g).run(feeds);
  test::expect_goldens(dir, set, got, {kMaxRelL2, 0, "", "", ""});
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Models, ModelMoreShapes, ::testing::ValuesIn(shape_sets()), test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ModelMoreShapes);

}  // namespace
}  // namespace kiln
