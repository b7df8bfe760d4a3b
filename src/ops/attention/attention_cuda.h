// The CUDA kernel of kiln.Attention (host side in attention_cuda.cpp; device code in
// attention.cu and attention_generic.cu).
#pragma once
#include "ops/op.h"

namespace kiln::attention {

void attention_cuda(CudaKernelContext& ctx);

}  // namespace kiln::attention
