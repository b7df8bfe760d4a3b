#include "runtime/cuda/cuda_session.h"

#include <cuda_runtime_api.h>

#include "runtime/cuda/library_check.h"

namespace kiln {

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

CudaSession::CudaSession() {
  if (cuda_device_count() == 0)
    fail(ErrorCode::kUnsupported, "no CUDA GPU is visible to this process (run with --device cpu)");
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  CUBLAS_CHECK(cublasLtCreate(&cublas_));
  CUDNN_CHECK(cudnnCreate(&cudnn_));
  CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
}

CudaSession::~CudaSession() {
  workspace_.reset();
  if (stream_) cudaStreamSynchronize(stream_);
  if (cudnn_) cudnnDestroy(cudnn_);
  if (cublas_) cublasLtDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

void* CudaSession::workspace(size_t bytes) {
  if (!workspace_ || workspace_->bytes() < bytes) {
    workspace_.reset();
    size_t grow = std::max(bytes, size_t(32) << 20);
    workspace_ = std::make_unique<DeviceBuffer>(grow, stream_);
  }
  return workspace_->data();
}

}  // namespace kiln
