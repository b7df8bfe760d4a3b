// What the pass tests on the reference models share: a model of tests/models imported twice and
// optimized with different passes left out, and the check that both compute the same logits.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "../model/model_compare.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln::test {

struct ModelPassRun {
  std::filesystem::path dir;
  TensorMap feeds;
  Graph plain, fused;
  PassReport report;  // fused's
};

// `plain` without plain_skip's passes, `fused` without fused_skip's.
inline ModelPassRun run_model_passes(const std::string& name, const std::set<std::string>& plain_skip,
                                     const std::set<std::string>& fused_skip = {}) {
  ModelPassRun r;
  r.dir = std::filesystem::path(KILN_TEST_DIR) / "models" / name;
  ImportOptions import;
  r.feeds = reference_inputs(r.dir, &import);
  r.plain = import_onnx_file((r.dir / "model.onnx").string(), import);
  run_passes(r.plain, plain_skip);
  r.fused = import_onnx_file((r.dir / "model.onnx").string(), import);
  r.report = run_passes(r.fused, fused_skip);
  return r;
}

// fused's logits within 1e-6 of plain's (CPU reference) and, with `golden`, within 1e-5 of the
// model's golden logits.
inline void expect_logits_kept(const ModelPassRun& r, bool golden) {
  const Tensor got = CpuExecutor(r.fused).run(r.feeds).at("logits");
  EXPECT_LE(compare_to_golden(got, CpuExecutor(r.plain).run(r.feeds).at("logits")).rel_l2, 1e-6);
  if (golden) {
    EXPECT_LE(compare_to_golden(got, read_npy((r.dir / "golden" / "logits.npy").string())).rel_l2, 1e-5);
  }
}

}  // namespace kiln::test
