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

#if defined(__CUDACC__)
// The grid coordinates of the block `ahead` blocks after this one in launch order (x fastest,
// then y, then z); false past the grid's end or for ahead <= 0. With `ahead` the resident count
// it is the block likely to take the next slot that frees up: the one whose first reads a block
// may ask L2 for (AttentionBlock, MixFFN).
__device__ __forceinline__ bool block_ahead(int64_t ahead, uint3& at) {
  const int64_t plane = int64_t(gridDim.x) * gridDim.y;
  const int64_t id = int64_t(blockIdx.z) * plane + int64_t(blockIdx.y) * gridDim.x + blockIdx.x + ahead;
  if (ahead <= 0 || id >= plane * gridDim.z) return false;
  const int64_t z = id / plane, r = id - z * plane;
  at = make_uint3(unsigned(r % gridDim.x), unsigned(r / gridDim.x), unsigned(z));
  return true;
}
#endif

}  // namespace kiln::cuda
