#include "runtime/cuda/cuda_session.h"

#include <cuda_runtime_api.h>

#include "runtime/cuda/gpu_arch.h"
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
  tuning_prefix_ = cuda_gpu_arch() + "/lt" + std::to_string(cublasLtGetVersion()) + "/dnn" +
                   std::to_string(cudnnGetVersion());
}

cudnnHandle_t CudaSession::cudnn() {
  if (!cudnn_) {
    CUDNN_CHECK(cudnnCreate(&cudnn_));
    CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
  }
  return cudnn_;
}

CudaSession::~CudaSession() {
  workspace_.reset();
  if (stream_) cudaStreamSynchronize(stream_);
  if (cudnn_) cudnnDestroy(cudnn_);
  if (cublas_) cublasLtDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

std::string CudaSession::device_name() const {
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  return prop.name;
}

void CudaSession::add_deferred_check(const int32_t* flag, std::string message) {
  for (const auto& c : checks_)
    if (c.flag == flag) return;
  checks_.push_back({flag, std::move(message)});
}

void* CudaSession::workspace(size_t bytes) {
  if (!workspace_ || workspace_->bytes() < bytes) {
    if (workspace_frozen)
      fail(ErrorCode::kInternal, "internal error: a kernel asked for " + std::to_string(bytes) +
                                     " bytes of workspace during CUDA Graph capture, more than when its plan was made");
    workspace_.reset();
    size_t grow = std::max(bytes, size_t(32) << 20);
    workspace_ = std::make_unique<DeviceBuffer>(grow, stream_);
  }
  return workspace_->data();
}

}  // namespace kiln
