// An INT8 engine of segformer_tiny end to end on the GPU: the graph `kiln build --int8` makes
// (insert_qdq with min-max ranges of its input, then fuse_int8_matmul and fuse_int8_conv: 30
// kiln.Int8MatMul — 3 patch embeddings among them, fuse_token_im2col_conv; each block's K and V
// projections one, fuse_kv_projection — and 1
// kiln.Int8Conv, no Q/DQ left) run by the CUDA executor — first run, arena
// run, CUDA Graph replay — against the CPU reference running the same graph.
//
// Tolerance: the int8 GEMMs and convs agree bit for bit (test_gpu_int8_matmul.cpp,
// test_gpu_int8_conv.cpp), but LayerNorm, attention, GELU and the depthwise convs sum in another
// order on the GPU, so a few activations land on
// the other side of an int8 rounding boundary and move by one quantization step (1/127 of their
// range). The CPU int8 engine is itself 0.4% rel L2 from fp32 (test_insert_qdq.cpp): the GPU
// must stay within 0.5% of the CPU int8 logits — a wrong scale, a transposed or unpadded weight
// or a float GEMM in place of the int8 one is far outside — and agree on ≥ 99.5% of labels.
#include <filesystem>

#include "gpu_compare.h"
#include "io/npy.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "quant/collect_ranges.h"
#include "quant/cuda_coverage.h"
#include "passes/fuse_int8_conv.h"
#include "passes/fuse_int8_matmul.h"
#include "quant/insert_qdq.h"
#include "quant/quant_targets.h"
#include "runtime/cpu_executor.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/output_compare.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuInt8Engine, SegformerTinyMatchesCpuInt8) {
  const std::filesystem::path dir = std::filesystem::path(test_dir()) / "models" / "segformer_tiny";
  Graph g = import_onnx_file((dir / "model.onnx").string());
  run_passes(g);
  const TensorMap feeds = {{"pixel_values", read_npy((dir / "inputs" / "pixel_values.npy").string())}};
  quant::RangeCollector ranges(quant::find_quant_targets(g).activations);
  ranges.add_run(g, feeds);
  quant::insert_qdq_int8(g, ranges.amax(quant::Calibrator::kMinMax, 100));
  ASSERT_EQ(fuse_int8_matmul(g), 30);  // the picture's patch embedding stays float (PatchEmbedTokens)
  ASSERT_EQ(fuse_int8_conv(g), 1);
  ASSERT_TRUE(quant::ops_without_cuda_kernel_in(g).empty());
  const Tensor want = CpuExecutor(g).run(feeds).at("logits");
  CudaExecutor gpu(g);
  for (int run = 1; run <= 3; ++run) {
    const OutputComparison c = compare_output(gpu.run(feeds).at("logits"), want, "logits");
    std::printf("[ int8 gpu ] segformer_tiny run %d vs CPU int8: rel L2 %.3g, max abs %.3g, labels %.5f\n", run,
                c.rel_l2, c.max_abs, c.label_agreement.value_or(-1));
    EXPECT_LT(c.rel_l2, 5e-3) << "run " << run;
    EXPECT_GE(c.label_agreement.value_or(0), 0.995) << "run " << run;
  }
}

}  // namespace
}  // namespace kiln::gpu_test
