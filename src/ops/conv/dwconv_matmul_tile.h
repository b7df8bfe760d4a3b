// DwConvMatMul's output tile (dwconv_matmul_wgmma.cu: a block each, one block an SM), plain
// constants for both the kernel and fuse_dwconv_matmul's grid-size check.
#pragma once
#include <cstdint>

namespace kiln::conv {

inline constexpr int64_t kDwConvMatMulTileH = 8, kDwConvMatMulTileW = 16;

inline constexpr int64_t dwconv_matmul_tiles(int64_t batch, int64_t height, int64_t width) {
  return batch * ((height + kDwConvMatMulTileH - 1) / kDwConvMatMulTileH) *
         ((width + kDwConvMatMulTileW - 1) / kDwConvMatMulTileW);
}

}  // namespace kiln::conv
