// What ResizeSum's two CUDA ops share (resize_sum_cuda.cpp): the plan's taps on the device.
#pragma once
#include <vector>

#include "ops/spatial/resize_sum.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::spatial {

struct DeviceAxis {
  DeviceTensor index, weight;  // int32 [out][2], fp32 [out][2]
};

// Every input's row and column taps, per input. They depend only on shapes and attributes, so
// they are uploaded on the node's first run and kept in its kernel state.
struct ResizeSumTaps : KernelState {
  std::vector<DeviceAxis> rows, cols;
};
const ResizeSumTaps& resize_sum_taps(CudaKernelContext& ctx, const ResizeSumPlan& plan);

}  // namespace kiln::spatial
