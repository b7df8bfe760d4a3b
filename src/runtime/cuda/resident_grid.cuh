// The grid of a kernel that loops over its work: as many blocks as the GPU holds at once.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::cuda {

// Blocks of `kernel` resident at once on the current device: its occupancy per multiprocessor
// at this block size and dynamic shared memory (at least one) times the multiprocessors.
template <class Kernel> int64_t resident_blocks(Kernel kernel, int threads, size_t smem_bytes) {
  int per_sm = 0;
  CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, smem_bytes));
  return int64_t(per_sm < 1 ? 1 : per_sm) * cuda_sm_count();
}

}  // namespace kiln::cuda
