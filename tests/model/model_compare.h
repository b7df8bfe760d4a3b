// Loading a reference model's fixed inputs and comparing its outputs with the PyTorch goldens:
// shared by the fp16 model tests on the CPU (tests/model) and on the GPU (tests/gpu).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
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

// What expect_goldens checks and how it prints each output's line.
struct GoldenCheck {
  double max_rel_l2 = 1e-5;
  double min_labels = 0;  // > 0: SegFormer models' per-pixel label agreement at least this
  std::string prefix;     // before "<model>/<output>" ("model " for the GPU log's table)
  std::string tag;        // after it (" fp16")
  std::string detail;     // after the max abs figure (nodes, timing)
};

// Compares every DIR/golden/<output>.npy with got[output]: present, same dtype and dims, finite,
// relative L2 within bounds, labels where asked. One line per output (and per label check):
// "<prefix><model>/<output><tag>: rel L2 R, max abs A<detail>". Returns how many it compared.
inline int expect_goldens(const std::filesystem::path& dir, const std::string& model, const TensorMap& got,
                          const GoldenCheck& c) {
  int compared = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "golden")) {
    const std::string name = e.path().stem().string();
    EXPECT_TRUE(got.count(name)) << "no output named " << name;
    if (!got.count(name)) continue;
    const Tensor want = read_npy(e.path().string());
    const Tensor& out = got.at(name);
    EXPECT_EQ(out.dtype(), want.dtype()) << name;
    EXPECT_EQ(dims_to_string(out.dims()), dims_to_string(want.dims())) << name;
    if (out.dims() != want.dims()) continue;
    const Agreement a = compare_to_golden(out, want);
    const std::string label = c.prefix + model + "/" + name + c.tag;
    std::printf("%s: rel L2 %.3g, max abs %.3g%s\n", label.c_str(), a.rel_l2, a.max_abs, c.detail.c_str());
    EXPECT_TRUE(a.finite) << name << " has NaN/Inf";
    EXPECT_LE(a.rel_l2, c.max_rel_l2) << name;
    if (c.min_labels > 0 && model.rfind("segformer", 0) == 0) {
      const double labels = label_agreement(out, want);
      std::printf("%s: labels agree at %.4f of pixels\n", label.c_str(), labels);
      EXPECT_GE(labels, c.min_labels) << name;
    }
    ++compared;
  }
  EXPECT_GT(compared, 0);
  return compared;
}

}  // namespace kiln::test
