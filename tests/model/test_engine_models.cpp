// Every reference model under tests/models/ saved as a CPU engine and loaded back runs to
// outputs bit-identical to the graph the ONNX path gives.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/npy.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> engine_model_dirs() {
  std::vector<std::string> dirs;
  fs::path root = fs::path(KILN_TEST_DIR) / "models";
  if (fs::is_directory(root))
    for (const auto& e : fs::directory_iterator(root))
      if (fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path().filename().string());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

class EngineModels : public ::testing::TestWithParam<std::string> {};

TEST_P(EngineModels, SavedEngineRunsBitIdentical) {
  fs::path dir = fs::path(KILN_TEST_DIR) / "models" / GetParam();
  TensorMap feeds;
  ImportOptions import;
  for (const auto& e : fs::directory_iterator(dir / "inputs")) {
    std::string name = e.path().stem().string();
    feeds[name] = read_npy(e.path().string());
    import.input_shapes[name] = feeds[name].dims();
  }
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(g);
  std::string path = ::testing::TempDir() + "/" + GetParam() + ".kiln";
  save_engine(path, g, {});
  Engine e = load_engine(path);
  std::remove(path.c_str());
  ASSERT_EQ(e.graph.nodes.size(), g.nodes.size());

  TensorMap want = CpuExecutor(g).run(feeds);
  TensorMap got = CpuExecutor(e.graph).run(feeds);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, t] : want) {
    ASSERT_TRUE(got.count(name)) << name;
    EXPECT_EQ(got.at(name).dtype(), t.dtype()) << name;
    EXPECT_EQ(got.at(name).dims(), t.dims()) << name;
    EXPECT_TRUE(got.at(name).same_bytes(t)) << name << " differs after the engine round trip";
  }
}

INSTANTIATE_TEST_SUITE_P(EngineRoundTrip, EngineModels, ::testing::ValuesIn(engine_model_dirs()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiln
