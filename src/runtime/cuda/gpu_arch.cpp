#include "runtime/cuda/gpu_arch.h"

#include <cuda_runtime_api.h>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_session.h"

namespace kiln {

std::string cuda_gpu_arch() {
  if (cuda_device_count() == 0)
    fail(ErrorCode::kUnsupported, "no CUDA GPU is visible to this process: cuda engines are built "
                                  "and run on the machine with the GPU (or use --device cpu)");
  int major = 0, minor = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0));
  CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0));
  return "sm_" + std::to_string(major) + std::to_string(minor);
}

int cuda_sm_count() {
  static const int count = [] {
    int device = 0, n = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device));
    return n;
  }();
  return count;
}

bool cuda_hopper() {
  static const bool hopper = is_hopper_arch(cuda_gpu_arch());
  return hopper;
}

}  // namespace kiln
