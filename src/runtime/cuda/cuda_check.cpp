#include <string>

#include "kiln/status.h"
#include "runtime/cuda/library_check.h"

namespace kiln::cuda {
namespace {

std::string where(const char* stmt, const char* file, int line) {
  return std::string(" in `") + stmt + "` at " + file + ":" + std::to_string(line);
}

}  // namespace

void fail_cuda(cudaError_t err, const char* stmt, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so later calls report their own
  if (err == cudaErrorMemoryAllocation)
    fail(ErrorCode::kInternal, "out of GPU memory" + where(stmt, file, line) +
                                   " (use a smaller input or batch, or --device cpu)");
  if (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver)
    fail(ErrorCode::kUnsupported, std::string("no usable CUDA GPU: ") + cudaGetErrorString(err) +
                                   where(stmt, file, line) + " (run with --device cpu)");
  fail(ErrorCode::kInternal, std::string("internal error: CUDA error ") + cudaGetErrorName(err) + " (" +
                                 cudaGetErrorString(err) + ")" + where(stmt, file, line));
}

void fail_cublas(cublasStatus_t status, const char* stmt, const char* file, int line) {
  if (status == CUBLAS_STATUS_ALLOC_FAILED)
    fail(ErrorCode::kInternal, "out of GPU memory (cuBLASLt)" + where(stmt, file, line));
  fail(ErrorCode::kInternal, std::string("internal error: cuBLASLt status ") + cublasLtGetStatusName(status) +
                                 " (" + cublasLtGetStatusString(status) + ")" + where(stmt, file, line));
}

void fail_cudnn(cudnnStatus_t status, const char* stmt, const char* file, int line) {
  if (status == CUDNN_STATUS_ALLOC_FAILED)
    fail(ErrorCode::kInternal, "out of GPU memory (cuDNN)" + where(stmt, file, line));
  fail(ErrorCode::kInternal, std::string("internal error: cuDNN status ") + cudnnGetErrorString(status) +
                                 where(stmt, file, line));
}

}  // namespace kiln::cuda
