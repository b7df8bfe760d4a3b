// CUDA kernels of the conv family: Conv (1-D and 2-D, groups, strides, pads, dilations) through
// cuDNN 9, fp32 (FMA math unless TF32 is allowed) and fp16 (tensor cores, fp32 accumulation).
#pragma once
#include "ops/op.h"

namespace kiln::conv {

void conv_cuda(CudaKernelContext& ctx);

}  // namespace kiln::conv
