// The rearrangement behind kernel == stride convolutions (SegFormer's sequence reduction): plain
// data for the launcher in patchify.cu, so nvcc never sees the op headers.
#pragma once
#include "ir/dtype.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::conv {

// Non-overlapping k_h x k_w windows of x [batch, channels, in_h, in_w] as columns:
//   col[n][(c*k_h + i)*k_w + j][oh*out_w + ow] = x[n][c][oh*k_h + i][ow*k_w + j]
// with out_h = in_h / k_h, out_w = in_w / k_w (trailing rows and columns are dropped, as a
// conv with kernel == stride and no padding does). The host checks that indices within one
// image's plane and one column row fit in 31 bits.
struct PatchifyParams {
  const void* x = nullptr;
  void* col = nullptr;  // [batch, channels*k_h*k_w, out_h*out_w]
  int batch = 0, channels = 0;
  int in_h = 0, in_w = 0, k_h = 1, k_w = 1, out_h = 0, out_w = 0;
};
void launch_patchify(DType dt, const PatchifyParams& p, CudaStream stream);

}  // namespace kiln::conv
