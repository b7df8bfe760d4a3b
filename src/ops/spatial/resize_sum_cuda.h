// The host side ResizeSum's two CUDA ops share (resize_sum_cuda.cpp): ResizeSum itself, and
// ResizeSumConv, whose kernel sums the same way before its 1x1 conv.
#pragma once
#include "ops/spatial/resize_sum.h"
#include "ops/spatial/resize_sum_launch.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::spatial {

// The summed inputs' part of the kernel parameters for ctx's first plan.inputs.size() inputs:
// pointers, taps (uploaded on the node's first run), each input's path (identity copy, staged,
// tap by tap) and their shared memory, laid out from smem_base on (the caller's own part comes
// first) within smem_budget bytes. Checks the 32-bit limits the kernels' offsets rely on.
ResizeSumParams resize_sum_inputs(CudaKernelContext& ctx, const ResizeSumPlan& plan, int64_t smem_base,
                                  int64_t smem_budget);

}  // namespace kiln::spatial
