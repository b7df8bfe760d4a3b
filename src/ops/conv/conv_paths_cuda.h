// The Conv implementations conv_cuda.cpp dispatches to besides cuDNN and the 1x1 GEMM (the
// rules are conv_path.h's). Each checks its own index limits and reports what it cannot run
// as unsupported.
#pragma once
#include <vector>

#include "ops/conv/window.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::conv {

// Depthwise (group == C_in == C_out): y = conv(x, w) + b in one kernel (depthwise_conv.cu).
// axes: H then W (1-D as H = 1). b may be nullptr.
void depthwise_conv_forward(CudaKernelContext& ctx, const DeviceTensor& x, const DeviceTensor& w,
                            const DeviceTensor* b, DeviceTensor& y, const std::vector<Axis>& axes);

// Y[n] (C_out x patches) = W (C_out x k, its [C_out, C, kh, kw] storage) · cols[n] (k x patches)
// for every image n: one strided-batched cuBLASLt GEMM, no copies.
void conv_as_gemm(CudaKernelContext& ctx, const DeviceTensor& w, const void* cols, int64_t k, int64_t patches,
                  int64_t batch, DeviceTensor& y);

// Groups 1: windows rearranged into scratch columns (im2col, patchify.cu), then one
// strided-batched GEMM. The caller adds the bias. The columns take im2col_bytes of the node's
// scratch, or of `col` when given (candidate timing).
size_t im2col_bytes(const DeviceTensor& x, const DeviceTensor& w, const std::vector<Axis>& axes);
void patchify_conv_forward(CudaKernelContext& ctx, const DeviceTensor& x, const DeviceTensor& w, DeviceTensor& y,
                           const std::vector<Axis>& axes, const DeviceTensor* col = nullptr);

}  // namespace kiln::conv
