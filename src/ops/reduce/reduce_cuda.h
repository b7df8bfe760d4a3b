// CUDA kernels of the reduce family: Softmax and LogSoftmax along one axis (fp32/fp16 storage,
// fp32 max/sum), kernel in softmax.cu; CumSum (cumsum.cu);
// ReduceSum/Mean/Max/Min (reduce_kernel.cu).
#pragma once
#include "ir/dtype.h"
#include "ops/op.h"
#include "runtime/cuda/device_tensor.h"
#include "runtime/cuda/strided_layout.h"

namespace kiln::reduce {

// x viewed as [outer, n, inner]; softmax over n.
void launch_softmax(DType dt, bool log, const void* x, void* y, int64_t outer, int64_t n,
                    int64_t inner, CudaStream stream);

// kiln.MaskedSoftmax: x viewed as [rows, n]; element i of row r is masked when
// mask[strided_offset(lead, r) + i * mask_step] (lead: x's leading dims with the mask's strides).
void launch_masked_softmax(DType dt, const void* x, const bool* mask, const cuda::StridedLayout& lead,
                           int64_t mask_step, void* y, int64_t rows, int64_t n, CudaStream stream);

// x viewed as [outer, n, inner]; running sum over n.
void launch_cumsum(DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool exclusive,
                   bool reverse, CudaStream stream);

// op: 0 sum, 1 mean, 2 max, 3 min. Output element i reads x at kept(i) + red(j), j < n_red.
void launch_reduce(int op, DType dt, const void* x, void* y, const cuda::StridedLayout& kept,
                   const cuda::StridedLayout& red, int64_t n_out, int64_t n_red, CudaStream stream);

// The same ops where the reduced axes are one run of a contiguous x viewed as [outer, n, inner]
// (reduce_runs.cu: the n terms of each output split over threads).
void launch_reduce_run(int op, DType dt, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                       CudaStream stream);

void softmax_cuda(CudaKernelContext& ctx);
void reduce_sum_cuda(CudaKernelContext& ctx);
void reduce_mean_cuda(CudaKernelContext& ctx);
void reduce_max_cuda(CudaKernelContext& ctx);
void reduce_min_cuda(CudaKernelContext& ctx);
void cumsum_cuda(CudaKernelContext& ctx);
void log_softmax_cuda(CudaKernelContext& ctx);
void masked_softmax_cuda(CudaKernelContext& ctx);

}  // namespace kiln::reduce
