// kiln compare --per-layer on the GPU: segformer_tiny built as `kiln build --device cuda` builds
// it (every rewrite pass), run node by node with every node output copied back
// (CudaExecutor::run_keeping), against its ONNX on the CPU reference with no rewrite pass. An
// fp32 CUDA engine has no layer that jumps; an fp16 one is compared in fp32 with fp16 tolerances.
#include <algorithm>
#include <filesystem>

#include "../model/model_compare.h"
#include "gpu_compare.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/layer_compare.h"

namespace kiln::gpu_test {
namespace {
namespace fs = std::filesystem;

struct Runs {
  LayerReport report;
  TensorMap graph_run;  // the same executor's outputs from its ordinary (CUDA Graph) run
  TensorMap keeping_run;
};

Runs compare_segformer_tiny(const std::string& precision) {
  fs::path dir = fs::path(test_dir()) / "models" / "segformer_tiny";
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);

  Graph ref = import_onnx_file((dir / "model.onnx").string(), import);
  const auto& passes = rewrite_pass_names();
  run_passes(ref, std::set<std::string>(passes.begin(), passes.end()));
  TensorMap ref_values;
  CpuExecutor cpu(ref);
  TensorMap ref_outs = cpu.run(feeds, {}, [&](const std::string& name, const Tensor& t) { ref_values[name] = t; });

  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(g);
  EngineBuild build;
  build.precision = precision;
  if (precision == "fp16") convert_to_fp16(g);
  CudaExecutor exec(std::make_shared<CudaModel>(std::move(g), build));
  Runs r;
  r.graph_run = exec.run(feeds);
  TensorMap values;
  r.keeping_run = exec.run_keeping(feeds, [&](const std::string& name, const Tensor& t) { values[name] = t; });
  std::map<std::string, Dims> dims;
  for (const auto& [name, t] : feeds) dims[name] = t.dims();
  r.report = compare_layers(exec.plan_graph(dims), values, ref, ref_values, default_tolerance(precision), true);
  return r;
}

double worst_rel_l2(const LayerReport& rep) {
  double worst = 0;
  for (const auto& c : rep.tensors) worst = std::max(worst, c.stats.rel_l2);
  return worst;
}

TEST(GpuCompareLayers, Fp32CudaSegformerTinyHasNoJump) {
  Runs r = compare_segformer_tiny("fp32");
  const LayerReport& rep = r.report;
  std::printf("segformer_tiny fp32 cuda vs cpu: %zu tensors compared, worst rel L2 %.3g\n", rep.tensors.size(),
              worst_rel_l2(rep));
  // The unfused layers are all there: 97 before fuse_token_im2col_conv, which takes 20 of them
  // (the CPU engine's count went 96 -> 76, test_cli_compare.cpp), and fuse_kv_projection's 16
  // (4 blocks' K and V projections and head splits: 76 -> 60).
  EXPECT_GE(rep.tensors.size(), 60u);
  EXPECT_FALSE(rep.first_jump) << rep.tensors[*rep.first_jump].name;
  EXPECT_EQ(rep.mismatches, 0);
  for (const auto& c : rep.tensors) {
    EXPECT_EQ(c.status, TensorStatus::kWithin) << c.name << " rel L2 " << c.stats.rel_l2;
    EXPECT_LE(c.stats.rel_l2, 1e-4) << c.name;
  }
  // Node by node with copies computes what the CUDA Graph replay computes.
  for (const auto& [name, t] : r.graph_run) {
    OutputComparison c = compare_output(r.keeping_run.at(name), t, name);
    EXPECT_LE(c.rel_l2, 1e-6) << name;
  }
}

TEST(GpuCompareLayers, Fp16CudaSegformerTinyComparesInFp32) {
  Runs r = compare_segformer_tiny("fp16");
  const LayerReport& rep = r.report;
  std::printf("segformer_tiny fp16 cuda vs cpu fp32: %zu tensors, worst rel L2 %.3g, first jump %s\n",
              rep.tensors.size(), worst_rel_l2(rep),
              rep.first_jump ? rep.tensors[*rep.first_jump].name.c_str() : "none");
  EXPECT_GE(rep.tensors.size(), 60u);
  int fp16_tensors = 0;
  for (const auto& c : rep.tensors) fp16_tensors += c.dtype == "float16" && c.ref_dtype == "float32";
  // The comparison casts them, it does not skip them (the CPU reference's fp16 graph: 47 of 64;
  // 16 fewer of both since fuse_kv_projection).
  EXPECT_GT(fp16_tensors, 34);
  const auto logits = std::find_if(rep.tensors.begin(), rep.tensors.end(), [](const auto& c) { return c.graph_output; });
  ASSERT_NE(logits, rep.tensors.end());
  EXPECT_EQ(logits->status, TensorStatus::kWithin) << "logits rel L2 " << logits->stats.rel_l2;
  ASSERT_TRUE(logits->stats.label_agreement);
  EXPECT_GE(*logits->stats.label_agreement, 0.99);
}

}  // namespace
}  // namespace kiln::gpu_test
