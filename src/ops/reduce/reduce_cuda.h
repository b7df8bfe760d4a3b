// CUDA kernels of the reduce family: Softmax and LogSoftmax along one axis (fp32/fp16 storage,
// fp32 max/sum), kernel in softmax.cu; CumSum (cumsum.cu).
#pragma once
#include "ir/dtype.h"
#include "ops/op.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::reduce {

// x viewed as [outer, n, inner]; softmax over n.
void launch_softmax(DType dt, bool log, const void* x, void* y, int64_t outer, int64_t n,
                    int64_t inner, CudaStream stream);

// x viewed as [outer, n, inner]; running sum over n.
void launch_cumsum(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool exclusive,
                   bool reverse, CudaStream stream);

void softmax_cuda(CudaKernelContext& ctx);
void cumsum_cuda(CudaKernelContext& ctx);
void log_softmax_cuda(CudaKernelContext& ctx);

}  // namespace kiln::reduce
