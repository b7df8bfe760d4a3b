// DwConvMatMul on the GPU (ops/conv/dwconv_matmul.h has the op): plain data for the launcher in
// dwconv_matmul_wgmma.cu, so nvcc never sees the op headers.
#pragma once
#include "runtime/cuda/device_tensor.h"

namespace kiln::conv {

// Every pointer is 16-byte aligned (the host checks); x, b2 and y are float32 when x_f32, else
// float16; h, wd, bd and w2 float16. The host checks channels and hidden with dwconv_matmul_fits
// and that every extent fits in 32 bits. Kept small: a kernel's parameters past ~100 bytes are
// read through a pointer (mix_ffn_launch.h).
struct DwConvMatMulParams {
  const void* h = nullptr;   // [batch, height*width, hidden]
  const void* wd = nullptr;  // [hidden, 9]: the 3x3 depthwise taps, row-major
  const void* bd = nullptr;  // [hidden]
  const void* w2 = nullptr;  // [hidden, channels]
  const void* b2 = nullptr;  // [channels]
  const void* x = nullptr;   // [batch, height*width, channels], the residual
  void* y = nullptr;         // [batch, height*width, channels]
  bool x_f32 = true;
  int batch = 0, height = 0, width = 0, channels = 0, hidden = 0;
  int activation = 0;  // linear::EpilogueActivation
};

// Hopper only (wgmma); the host checks cuda_hopper() first.
void launch_dwconv_matmul(const DwConvMatMulParams& p, CudaStream stream);

}  // namespace kiln::conv
