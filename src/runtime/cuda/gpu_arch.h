// The architecture of the GPU this process runs on, as engine files record it ("sm_90").
#pragma once
#include <string>

namespace kiln {

// Device 0's compute capability as "sm_<major><minor>"; kUnsupported when no GPU is visible.
std::string cuda_gpu_arch();

}  // namespace kiln
