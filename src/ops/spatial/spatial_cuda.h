// CUDA kernels of the spatial family: Resize (nearest, linear, cubic) over the last two axes,
// from the CPU reference's per-axis tap tables (resize_taps.h), so both backends sample alike;
// GridSample (4-D, bilinear/nearest), in grid_sample.cu.
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

struct GridSampleArgs {
  int64_t batch = 0, channels = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  bool align_corners = false;
  bool nearest = false;  // else bilinear
  int padding = 0;       // 0 zeros, 1 border, 2 reflection
};
// x [N, C, H, W], grid [N, Ho, Wo, 2] (x then y, normalized to [-1, 1]) → y [N, C, Ho, Wo].
void launch_grid_sample(DType dt, DType grid_dt, const void* x, const void* grid, void* y, const GridSampleArgs& a,
                        CudaStream stream);
void grid_sample_cuda(CudaKernelContext& ctx);

// kiln.ResizeSum (resize_sum.h): resized inputs summed in one kernel (resize_sum.cu).
void resize_sum_cuda(CudaKernelContext& ctx);
// kiln.ResizeSumConv (resize_sum_conv.h): the same sum fed to a 1x1 conv in one kernel
// (resize_sum_conv.cu).
void resize_sum_conv_cuda(CudaKernelContext& ctx);

// kiln.MSDeformAttn (ms_deform_attn.h): every level's bilinear samples weighted and summed in one
// kernel (ms_deform_attn.cu).
void ms_deform_attn_cuda(CudaKernelContext& ctx);
void mask_position_embedding_cuda(CudaKernelContext& ctx);  // kiln.MaskPositionEmbedding

}  // namespace kiln::spatial
