// The rearrangement behind convolutions run as GEMMs (im2col): kernel == stride convolutions
// (SegFormer's sequence reduction, where it copies each input once) and, when timing chose it,
// other groups-1 convolutions (patch embeddings). Plain data for the launcher in patchify.cu, so
// nvcc never sees the op headers.
#pragma once
#include "ir/dtype.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::conv {

// The k_h x k_w windows of x [batch, channels, in_h, in_w] as columns:
//   col[n][(c*k_h + i)*k_w + j][oh*out_w + ow] = x[n][c][oh*s_h - pad_h + i*d_h][ow*s_w - pad_w + j*d_w]
// (0 outside the input). The host checks that indices within one image's plane and one column
// row fit in 31 bits.
struct PatchifyParams {
  const void* x = nullptr;
  void* col = nullptr;  // [batch, channels*k_h*k_w, out_h*out_w]
  int batch = 0, channels = 0;
  int in_h = 0, in_w = 0, k_h = 1, k_w = 1, out_h = 0, out_w = 0;
  int s_h = 1, s_w = 1, d_h = 1, d_w = 1, pad_h = 0, pad_w = 0;  // pads at the start of each axis
};
void launch_patchify(DType dt, const PatchifyParams& p, CudaStream stream);

}  // namespace kiln::conv
