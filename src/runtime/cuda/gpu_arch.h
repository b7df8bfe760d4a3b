// The architecture of the GPU this process runs on, as engine files record it ("sm_90"), and its
// multiprocessor count, which kernels size their grids by.
#pragma once
#include <string>

namespace kiln {

// Whether an architecture as engines record it is Hopper's (compute capability 9.0), where the
// sm_90a kernels (wgmma, TMA) and NVRTC's sm_90a target apply. Host code, no GPU needed.
inline bool is_hopper_arch(const std::string& arch) { return arch == "sm_90"; }

// Whether `blocks` blocks of `bytes` dynamic shared memory each fit one sm_90 multiprocessor:
// 228 KB, of which the driver keeps 1 KB a block. The Hopper kernels' static_asserts.
constexpr bool sm90_smem_fits(unsigned long long bytes, int blocks) {
  return blocks * (bytes + 1024) <= 228ull * 1024;
}

// Device 0's compute capability as "sm_<major><minor>"; kUnsupported when no GPU is visible.
std::string cuda_gpu_arch();
// The current device's multiprocessor count (read once per process).
int cuda_sm_count();
// Whether device 0 is compute capability 9.0, where the sm_90a kernels (wgmma, TMA) run (read
// once per process).
bool cuda_hopper();

}  // namespace kiln
