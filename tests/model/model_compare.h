// Loading a reference model's fixed inputs and comparing its outputs with the PyTorch goldens:
// shared by the fp16 model tests on the CPU (tests/model) and on the GPU (tests/gpu).
#pragma once
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "io/npy.h"
#include "onnx/importer.h"
#include "runtime/cpu_executor.h"
#include "runtime/output_compare.h"

namespace kiln::test {

// tests/models/<name> directories that hold a model.onnx, sorted.
inline std::vector<std::string> reference_models(const std::string& test_dir) {
  std::vector<std::string> dirs;
  std::filesystem::path root = std::filesystem::path(test_dir) / "models";
  if (std::filesystem::is_directory(root))
    for (const auto& e : std::filesystem::directory_iterator(root))
      if (std::filesystem::exists(e.path() / "model.onnx")) dirs.push_back(e.path().filename().string());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

// The model's inputs/<name>.npy, and import options that fix the graph to their shapes.
inline TensorMap reference_inputs(const std::filesystem::path& dir, ImportOptions* import) {
  TensorMap feeds;
  for (const auto& e : std::filesystem::directory_iterator(dir / "inputs")) {
    std::string name = e.path().stem().string();
    feeds[name] = read_npy(e.path().string());
    import->input_shapes[name] = feeds[name].dims();
  }
  return feeds;
}

// The engine's own comparison (runtime/output_compare.h), so tests and `kiln bench --ref` measure
// alike.
using Agreement = OutputComparison;
inline Agreement compare_to_golden(const Tensor& got, const Tensor& want) {
  return compare_output(got, want, "golden");
}

// Fraction of positions of [N, C, ...] scores whose argmax over C (the label) agrees.
inline double label_agreement(const Tensor& got, const Tensor& want) {
  return compare_output(got, want, "golden").label_agreement.value_or(1.0);
}

}  // namespace kiln::test
