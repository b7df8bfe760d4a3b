// The architecture of the GPU this process runs on, as engine files record it ("sm_90"), and its
// multiprocessor count, which kernels size their grids by.
#pragma once
#include <string>

namespace kiln {

// Device 0's compute capability as "sm_<major><minor>"; kUnsupported when no GPU is visible.
std::string cuda_gpu_arch();
// The current device's multiprocessor count (read once per process).
int cuda_sm_count();
// Whether device 0 is compute capability 9.0, where the sm_90a kernels (wgmma, TMA) run (read
// once per process).
bool cuda_hopper();

}  // namespace kiln
