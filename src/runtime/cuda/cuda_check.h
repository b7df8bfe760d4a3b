// CUDA_CHECK(stmt): a failing CUDA runtime call is an internal error (exit 1) naming the
// statement, file and line; running out of GPU memory says so plainly. Light enough for .cu
// files (cuda_runtime_api.h only); library_check.h has the cuBLASLt and cuDNN variants.
#pragma once
#include <cuda_runtime_api.h>

namespace kiln::cuda {

[[noreturn]] void fail_cuda(cudaError_t err, const char* stmt, const char* file, int line);

}  // namespace kiln::cuda

#define CUDA_CHECK(stmt)                                                     \
  do {                                                                       \
    cudaError_t kiln_err_ = (stmt);                                          \
    if (kiln_err_ != cudaSuccess)                                            \
      ::kiln::cuda::fail_cuda(kiln_err_, #stmt, __FILE__, __LINE__);         \
  } while (0)

// After a kernel launch: reports a bad launch configuration at the launch site.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
