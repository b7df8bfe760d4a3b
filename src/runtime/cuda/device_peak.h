// The rates a layer's achieved fraction is measured against, measured on this GPU rather than
// taken from a datasheet: a large cuBLASLt GEMM in fp16 (tensor cores), in fp32 (FMA, or TF32
// when the session allows it), and a large device-to-device copy (bytes read + written).
#pragma once
#include "runtime/cuda/cuda_session.h"

namespace kiln {

struct MeasuredPeak {
  double fp16_flops_per_s = 0;
  double fp32_flops_per_s = 0;
  double bytes_per_s = 0;
};

MeasuredPeak measure_device_peak(CudaSession& session);

}  // namespace kiln
