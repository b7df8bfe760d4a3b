// An INT8 graph converted to fp16 storage (what `kiln build --fp16` does to a quantizer's Q/DQ
// model once the int8 fusions have run): the int8 nodes read float16 X and keep float32 scales,
// and precision_islands treats them as the GEMMs they replace — residual Int8MatMuls carry the
// float32 residual stream, the Int8MatMul starting a stream (a patch embedding, made a GEMM by
// fuse_token_im2col_conv) and the Int8Conv writing the logits write float32. segformer_tiny stays
// within fp16's noise of the float32 int8 graph.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/npy.h"
#include "onnx/importer.h"
#include "passes/convert_precision.h"
#include "passes/fuse_int8_conv.h"
#include "passes/fuse_int8_matmul.h"
#include "passes/pipeline.h"
#include "quant/collect_ranges.h"
#include "quant/insert_qdq.h"
#include "quant/quant_targets.h"
#include "runtime/cpu_executor.h"
#include "runtime/output_compare.h"

namespace kiln::quant {
namespace {

TEST(Int8Fp16, SegformerTinyKeepsItsFloat32Islands) {
  const std::filesystem::path dir = std::filesystem::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  Graph g = import_onnx_file((dir / "model.onnx").string());
  run_passes(g);
  const TensorMap feeds = {{"pixel_values", read_npy((dir / "inputs" / "pixel_values.npy").string())}};
  // The float graph's islands: how many of its GEMMs and convs write float32 in fp16 storage.
  Graph plain = g;
  convert_to_fp16(plain);
  int plain_streams = 0, plain_f32_out = 0;  // residual FusedMatMuls; every GEMM and conv writing float32
  for (const Node& n : plain.nodes) {
    if (n.op_type != "FusedMatMul" && n.op_type != "Conv") continue;
    const bool f32 = plain.value(n.outputs[0]).type.dtype == DType::kF32;
    plain_f32_out += f32;
    if (n.op_type == "FusedMatMul" && n.has_input(3)) plain_streams += f32;
  }
  RangeCollector c(find_quant_targets(g).activations);
  c.add_run(g, feeds);
  insert_qdq_int8(g, c.amax(Calibrator::kMinMax, 100));
  ASSERT_EQ(fuse_int8_matmul(g), 30);  // 3 patch embeddings among them, K and V one per block; the picture's stays float
  ASSERT_EQ(fuse_int8_conv(g), 1);
  const Tensor want = CpuExecutor(g).run(feeds).at("logits");
  Graph h = g;
  convert_to_fp16(h);
  int f16_in = 0, streams = 0, f32_out = 0, int8_nodes = 0;
  bool logits_f32 = false;
  for (const Node& n : h.nodes) {
    if (n.op_type != "Int8MatMul" && n.op_type != "Int8Conv") continue;
    ++int8_nodes;
    f16_in += h.value(n.inputs[0]).type.dtype == DType::kF16;
    const bool f32 = h.value(n.outputs[0]).type.dtype == DType::kF32;
    f32_out += f32;
    if (n.op_type == "Int8MatMul" && n.has_input(5)) streams += f32;
    if (n.outputs[0] == "logits") logits_f32 = f32;
    EXPECT_EQ(h.value(n.inputs[1]).type.dtype, DType::kF32) << n.name;
    EXPECT_EQ(h.value(n.inputs[3]).type.dtype, DType::kF32) << n.name;
  }
  EXPECT_EQ(int8_nodes, 31);
  // The float graph's islands, node for node: the residual stream, the patch-embedding GEMMs that
  // start each stream, and the classifier writing the logits in float32 itself.
  std::printf("[ int8 fp16 ] %d of %d int8 nodes read float16, %d write float32 (%d of them the residual stream); "
              "float graph: %d (%d)\n", f16_in, int8_nodes, f32_out, streams, plain_f32_out, plain_streams);
  EXPECT_EQ(f16_in, int8_nodes);
  EXPECT_GT(plain_streams, 0);
  EXPECT_EQ(streams, plain_streams);
  EXPECT_EQ(f32_out, plain_f32_out);
  EXPECT_TRUE(logits_f32);
  const OutputComparison cmp = compare_output(CpuExecutor(h).run(feeds).at("logits"), want, "logits");
  std::printf("[ int8 fp16 ] segformer_tiny fp16 int8 vs fp32 int8: rel L2 %.3g, labels %.5f\n", cmp.rel_l2,
              cmp.label_agreement.value_or(-1));
  // fp16 rounding moves some activations across int8 boundaries: the int8 noise again at most
  // (the int8 graph is 0.4% from fp32, test_insert_qdq.cpp).
  EXPECT_LT(cmp.rel_l2, 1e-2);
  EXPECT_GE(cmp.label_agreement.value_or(0), 0.99);
}

}  // namespace
}  // namespace kiln::quant
