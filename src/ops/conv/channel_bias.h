// Per-channel bias over NCHW, added in place after the GEMM and cuDNN conv paths (cuBLASLt's
// bias epilogue runs along the other axis of our row-major-as-column-major GEMMs). Plain data
// for channel_bias.cu.
#pragma once
#include <cstdint>

#include "ir/dtype.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::conv {

// y [planes = N*C, plane] += b[plane index % channels]; plane < 2^31.
void launch_add_channel_bias(DType dt, void* y, const void* b, int64_t planes, int64_t channels, int64_t plane,
                             CudaStream stream);

}  // namespace kiln::conv
