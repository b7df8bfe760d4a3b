// CUDA kernels of the spatial family: Resize (nearest, linear, cubic) over the last two axes,
// from the CPU reference's per-axis tap tables (resize_taps.h), so both backends sample alike.
#pragma once
#include "ir/dtype.h"
#include "ops/op.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::spatial {

// Per output row / column: `taps` input indices and weights each (device pointers).
struct ResizeTaps2D {
  const int32_t* h_index = nullptr;
  const float* h_weight = nullptr;
  int h_taps = 1;
  const int32_t* w_index = nullptr;
  const float* w_weight = nullptr;
  int w_taps = 1;
};
// y[p, oh, ow] = sum_i sum_j hw[oh,i] ww[ow,j] x[p, hi[oh,i], wi[ow,j]] over planes p.
void launch_resize_2d(DType dt, const void* x, void* y, int64_t planes, int64_t in_h, int64_t in_w,
                      int64_t out_h, int64_t out_w, const ResizeTaps2D& taps, CudaStream stream);

void resize_cuda(CudaKernelContext& ctx);

}  // namespace kiln::spatial
