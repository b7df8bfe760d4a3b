// NVRTC: CUDA source to a cubin for one GPU architecture, in process (CUDA builds only). Used for
// the generated Pointwise kernels at engine build time (or on a graph's first plan without one).
#pragma once
#include <string>

namespace kiln::ew {

// The NVRTC target for a GPU as engines record it: "sm_90" → "sm_90a" (Hopper's full feature
// set; the cubin runs only there, as the engine does), other architectures as they are.
std::string nvrtc_arch(const std::string& gpu_arch);
// "nvrtc13.0": part of the cache key, so a cubin from another compiler is never reused.
std::string nvrtc_version_tag();
// The cubin of `source` for `arch` ("sm_90a"), compiled without FMA contraction (the kernels
// round each operation as the CPU reference does). A compile failure is kInternal naming
// `what` with NVRTC's log: the source is kiln's own.
std::string nvrtc_compile_cubin(const std::string& source, const std::string& arch, const std::string& what);

}  // namespace kiln::ew
