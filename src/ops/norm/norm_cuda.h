// CUDA kernels of the norm family: LayerNormalization (fp32/fp16 storage, fp32 statistics,
// two-pass variance), kernel in layer_norm.cu; InstanceNormalization in instance_norm.cu.
#pragma once
#include "ir/dtype.h"
#include "ops/op.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::norm {

struct LayerNormArgs {
  const void* x = nullptr;
  const void* scale = nullptr;  // inner elements
  const void* bias = nullptr;   // inner elements, or nullptr
  void* y = nullptr;
  float* mean = nullptr;        // rows, or nullptr
  float* inv_std = nullptr;     // rows, or nullptr
  int64_t rows = 0, inner = 0;
  float eps = 1e-5f;
};
// x: X's type; y: Y's, Scale's and B's (f32/f16 each).
void launch_layer_norm(DType x, DType y, const LayerNormArgs& args, CudaStream stream);

void layer_norm_cuda(CudaKernelContext& ctx);

// x viewed as [planes = N*C, spatial]; scale/bias per channel (plane % channels).
void launch_instance_norm(DType dt, const void* x, const void* scale, const void* bias, void* y, int64_t planes,
                          int64_t channels, int64_t spatial, float eps, CudaStream stream);
void instance_norm_cuda(CudaKernelContext& ctx);

}  // namespace kiln::norm
