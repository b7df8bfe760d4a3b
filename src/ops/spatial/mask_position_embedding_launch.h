// What the MaskPositionEmbedding kernel (mask_position_embedding.cu) takes: plain data only, so
// nvcc compiles it without kiln's host headers.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::spatial {

struct MaskPositionArgs {
  const bool* mask = nullptr;      // [batch, H, W]
  const float* divisors = nullptr;  // [K], on the device
  float* out = nullptr;            // [batch, n, 2K]
  int64_t batch = 0;
  int n = 0;      // positions: H (axis 1) or W (axis 2)
  int step = 0;   // mask elements from one position to the next: W (axis 1) or 1 (axis 2)
  int64_t plane = 0;  // H·W
  int k = 0;      // K
  float offset = 0.f, scale = 1.f;
};

// Positions one block keeps in shared memory; longer rows or columns are refused on the host.
inline constexpr int kMaskPositionMaxN = 8192;

void launch_mask_position_embedding(const MaskPositionArgs& a, cudaStream_t stream);

}  // namespace kiln::spatial
