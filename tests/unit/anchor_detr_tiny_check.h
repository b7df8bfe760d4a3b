// What the AnchorDETR pass tests share: anchor_detr_tiny at its reference input set and its
// batch-2 set (also/96x128_b2) through the pipeline, whole and without `skip`; `counts` checks
// the op counts of both graphs, then the outputs must agree with the unfused graph within `tol`
// and with the PyTorch goldens within 1e-5 relative L2.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "io/npy.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln::test {

inline void expect_pass_keeps_anchor_detr_tiny(
    const std::set<std::string>& skip, double tol,
    const std::function<void(const Graph& unfused, const Graph& fused, const PassReport& report)>& counts) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "anchor_detr_tiny";
  for (const fs::path& set : {dir, dir / "also" / "96x128_b2"}) {
    SCOPED_TRACE(set.string());
    ImportOptions import;
    const TensorMap feeds = reference_inputs(set, &import);
    Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
    Graph g = import_onnx_file((dir / "model.onnx").string(), import);
    run_passes(plain, skip);
    counts(plain, g, run_passes(g));
    const TensorMap fused = CpuExecutor(g).run(feeds), unfused = CpuExecutor(plain).run(feeds);
    for (const char* name : {"pred_logits", "pred_boxes"}) {
      SCOPED_TRACE(name);
      expect_close(fused.at(name), to_doubles(unfused.at(name)), tol, tol);
      const Tensor want = read_npy((set / "golden" / (std::string(name) + ".npy")).string());
      EXPECT_LE(compare_to_golden(fused.at(name), want).rel_l2, 1e-5);
    }
  }
}

}  // namespace kiln::test
