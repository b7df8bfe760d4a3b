// Loading a reference model's fixed inputs and comparing its outputs with the PyTorch goldens:
// shared by the fp16 model tests on the CPU (tests/model) and on the GPU (tests/gpu).
#pragma once
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "io/npy.h"
#include "onnx/importer.h"
#include "runtime/cpu_executor.h"

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

struct Agreement {
  double rel_l2 = 0, max_abs = 0;
  bool finite = true;
};

inline Agreement compare_to_golden(const Tensor& got, const Tensor& want) {
  Agreement a;
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.at_double(i), w = want.at_double(i);
    a.finite = a.finite && std::isfinite(g);
    num += (g - w) * (g - w);
    den += w * w;
    a.max_abs = std::max(a.max_abs, std::abs(g - w));
  }
  a.rel_l2 = a.finite ? std::sqrt(num / std::max(den, 1e-300)) : INFINITY;
  return a;
}

// Fraction of positions of [N, C, ...] scores whose argmax over C (the label) agrees.
inline double label_agreement(const Tensor& got, const Tensor& want) {
  int64_t n = want.dim(0), c = want.dim(1), inner = want.numel() / std::max<int64_t>(n * c, 1);
  auto label = [&](const Tensor& t, int64_t b, int64_t p) {
    int64_t best = 0;
    for (int64_t k = 1; k < c; ++k)
      if (t.at_double((b * c + k) * inner + p) > t.at_double((b * c + best) * inner + p)) best = k;
    return best;
  };
  int64_t same = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < inner; ++p) same += label(got, b, p) == label(want, b, p);
  return double(same) / double(std::max<int64_t>(n * inner, 1));
}

}  // namespace kiln::test
