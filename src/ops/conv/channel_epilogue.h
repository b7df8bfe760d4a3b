// What follows a conv's GEMM or cuDNN call over NCHW, in place, in one pass: the per-channel
// bias (cuBLASLt's bias epilogue runs along the other axis of our row-major-as-column-major
// GEMMs), kiln.FusedConv's shortcut Z and its activation. Plain data for channel_epilogue.cu.
#pragma once
#include <cstdint>

#include "ir/dtype.h"
#include "ops/linear/epilogue.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::conv {

// y [planes = N*C, plane] = act(y + b[plane index % channels] + z) with b and z optional
// (nullptr), z shaped as y; fp32 math. plane < 2^31.
void launch_channel_epilogue(DType dt, void* y, const void* b, const void* z, linear::EpilogueActivation act,
                             int64_t planes, int64_t channels, int64_t plane, CudaStream stream);

}  // namespace kiln::conv
