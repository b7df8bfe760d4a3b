// CUBLAS_CHECK / CUDNN_CHECK: like CUDA_CHECK for cuBLASLt and cuDNN status codes.
#pragma once
#include <cublasLt.h>
#include <cudnn.h>

#include "runtime/cuda/cuda_check.h"

namespace kiln::cuda {

[[noreturn]] void fail_cublas(cublasStatus_t status, const char* stmt, const char* file, int line);
[[noreturn]] void fail_cudnn(cudnnStatus_t status, const char* stmt, const char* file, int line);

}  // namespace kiln::cuda

#define CUBLAS_CHECK(stmt)                                                   \
  do {                                                                       \
    cublasStatus_t kiln_st_ = (stmt);                                        \
    if (kiln_st_ != CUBLAS_STATUS_SUCCESS)                                   \
      ::kiln::cuda::fail_cublas(kiln_st_, #stmt, __FILE__, __LINE__);        \
  } while (0)

#define CUDNN_CHECK(stmt)                                                    \
  do {                                                                       \
    cudnnStatus_t kiln_st_ = (stmt);                                         \
    if (kiln_st_ != CUDNN_STATUS_SUCCESS)                                    \
      ::kiln::cuda::fail_cudnn(kiln_st_, #stmt, __FILE__, __LINE__);         \
  } while (0)
