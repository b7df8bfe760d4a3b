// The example plugin's CUDA kernel (Example.ScaledSwish, loaded from its shared library) against
// its CPU kernel, fp32 and fp16, through the plugin trampolines on kiln's stream.
#include "gpu_compare.h"
#include "ops/plugin/plugin_ops.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuPlugin, ScaledSwish) {
  load_plugin(KILN_PLUGIN_SCALED_SWISH);
  uint64_t seed = 900;
  for (DType dt : {DType::kF32, DType::kF16})
    for (Dims dims : {Dims{17}, Dims{2, 3, 1025}}) {
      GpuCase c{"ScaledSwish", {random_tensor(dt, dims, seed, -6.0, 6.0)}};
      c.domain = "Example";
      c.opset = 1;
      c.attrs.set("alpha", 1.5f);
      c.attrs.set("beta", 0.7f);
      c.seed = seed++;
      if (dt == DType::kF16) f16_tolerance(c);
      else c.atol = c.rtol = 1e-5;  // __expf against expf
      expect_gpu_matches_cpu(c);
    }
}

}  // namespace
}  // namespace kiln::gpu_test
