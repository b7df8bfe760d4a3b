// Host side shared by kiln.ResizeSum and kiln.ResizeSumPointwiseConv on the GPU: a plan's taps,
// uploaded once per node, and the kernel parameters of its images.
#pragma once
#include <vector>

#include "ops/spatial/resize_sum.h"
#include "ops/spatial/resize_sum_launch.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::spatial {

// The taps depend only on shapes and attributes: uploaded on the plan's first run.
struct ResizeSumTaps : KernelState {
  struct Axis {
    DeviceTensor index, weight;
  };
  std::vector<Axis> rows, cols;
};

// Checks the 32-bit limits the kernels' offsets rely on (output_elements included), then fills
// every field but y: images xs (the plan's inputs, in order), taps from `taps`.
ResizeSumParams resize_sum_params(CudaKernelContext& ctx, const ResizeSumPlan& plan,
                                  const std::vector<const DeviceTensor*>& xs, int64_t output_elements,
                                  ResizeSumTaps& taps);

}  // namespace kiln::spatial
