// commute_mean_linear on the GPU: anchor_detr_tiny with its 8 RCDA key projections run over the
// averaged rows (ReduceMean before the FusedMatMul: both existing kernels, new shapes) against the
// CPU reference and the graph without the pass on the GPU, fp32 and fp16 engines.
#include <gtest/gtest.h>

#include "fused_model_check.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuCommuteMeanLinear, AnchorDetrTiny) {
  expect_fusion_on_gpu("anchor_detr_tiny", "commute_mean_linear", 8, {"pred_logits", "pred_boxes"});
}

}  // namespace
}  // namespace kiln::gpu_test
