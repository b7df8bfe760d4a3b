// What CUDA kernels share while a graph runs: the stream, the cuBLASLt and cuDNN handles and
// one scratch workspace for them. One session per executor.
#pragma once
#include <cublasLt.h>
#include <cudnn.h>

#include "runtime/cuda/device_tensor.h"

namespace kiln {

class CudaSession {
 public:
  CudaSession();  // picks the current device; no GPU is an error saying so
  ~CudaSession();
  CudaSession(const CudaSession&) = delete;
  CudaSession& operator=(const CudaSession&) = delete;

  CudaStream stream() const { return stream_; }
  cublasLtHandle_t cublas() const { return cublas_; }
  cudnnHandle_t cudnn() const { return cudnn_; }
  // Scratch memory of at least bytes, valid until the next call (stream order keeps it safe).
  void* workspace(size_t bytes);
  size_t workspace_bytes() const { return workspace_ ? workspace_->bytes() : 0; }
  // float32 matrix work may use TF32 tensor cores (off unless asked: --tf32).
  bool allow_tf32 = false;

 private:
  CudaStream stream_ = nullptr;
  cublasLtHandle_t cublas_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  std::unique_ptr<DeviceBuffer> workspace_;
};

// Number of CUDA devices the driver reports (0 when there is no GPU or driver).
int cuda_device_count();

}  // namespace kiln
