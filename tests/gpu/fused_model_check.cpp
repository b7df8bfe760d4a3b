#include "fused_model_check.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "gpu_compare.h"
#include "onnx/importer.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cuda/cuda_executor.h"

namespace kiln::gpu_test {

Tensor run_gpu_planned(const Graph& g, const TensorMap& feeds, const std::string& output) {
  CudaExecutor exec(g);
  exec.run(feeds);
  return exec.run(feeds).at(output);
}

double rel_l2(const Tensor& got, const Tensor& want) { return test::compare_to_golden(got, want).rel_l2; }

void expect_fusion_on_gpu(const std::string& model, const std::string& pass, int fires,
                          const std::vector<std::string>& outputs) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(test_dir()) / "models" / model;
  ImportOptions import;
  const TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  ASSERT_EQ(run_passes(g).fused.at(pass), fires);
  run_passes(plain, {pass});
  for (const std::string& out : outputs) {
    SCOPED_TRACE(out);
    const Tensor gpu = run_gpu_planned(g, feeds, out), gpu_unfused = run_gpu_planned(plain, feeds, out);
    const Tensor cpu = CpuExecutor(g).run(feeds).at(out);
    EXPECT_LE(rel_l2(gpu, cpu), 1e-4) << "fp32, GPU vs CPU";
    EXPECT_LE(rel_l2(gpu, gpu_unfused), 1e-5) << "fp32, fused vs unfused on the GPU";
  }
  const TensorMap fp32 = CpuExecutor(g).run(feeds);
  convert_to_fp16(g);
  convert_to_fp16(plain);
  for (const std::string& out : outputs) {
    SCOPED_TRACE(out);
    const Tensor h = run_gpu_planned(g, feeds, out), h_unfused = run_gpu_planned(plain, feeds, out);
    EXPECT_LE(rel_l2(h, fp32.at(out)), 1e-2) << "fp16 fused on the GPU vs fp32";
    EXPECT_LE(rel_l2(h_unfused, fp32.at(out)), 1e-2) << "fp16 unfused on the GPU vs fp32";
  }
}

}  // namespace kiln::gpu_test
