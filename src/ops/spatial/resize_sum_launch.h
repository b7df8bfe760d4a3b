// ResizeSum on the GPU (ops/spatial/resize_sum.h has the op): plain data for the launcher in
// resize_sum.cu, so nvcc never sees the op headers.
#pragma once
#include <cstdint>

#include "ir/dtype.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::spatial {

inline constexpr int kResizeSumSlots = 8;  // = kResizeSumMaxInputs (resize_sum.h)
// Output tile of one block iteration: kResizeSumTileX pixels of one output row x 128 bytes of
// channels (64 fp16 or 32 fp32 channels: eight 16-byte chunks per pixel).
inline constexpr int kResizeSumTileX = 128, kResizeSumTileBytes = 128;
inline constexpr int64_t resize_sum_tile_c(int64_t elem_bytes) { return kResizeSumTileBytes / elem_bytes; }
// Shared memory of a block: the output tile (pixels x 128 bytes), the identity input's two
// tile buffers (when there is one: kResizeSumOutTileBytes each), then per staged input its
// column taps (16 bytes a pixel) and its row-blended columns (fp32: 4 bytes a tile channel).
inline constexpr int64_t kResizeSumOutTileBytes = int64_t(kResizeSumTileX) * kResizeSumTileBytes;
inline constexpr int64_t kResizeSumTapBytes = int64_t(kResizeSumTileX) * 16;
inline constexpr int64_t resize_sum_column_bytes(int64_t elem_bytes) { return 4 * resize_sum_tile_c(elem_bytes); }
// At most this much shared memory a block, so that two blocks share an SM (228 KB on sm_90).
inline constexpr int64_t kResizeSumSmemBudget = 96 * 1024;

struct ResizeSumSource {
  const void* x = nullptr;  // [batch, channels, in_h, in_w] or tokens [batch, in_h*in_w, channels]
  const int32_t* row_index = nullptr;  // [height][2] source rows, clamped
  const float* row_weight = nullptr;   // [height][2]
  const int32_t* col_index = nullptr;  // [width][2] source columns, clamped
  const float* col_weight = nullptr;   // [width][2]
  int in_h = 0, in_w = 0;
  int tokens = 0;
  // Tokens read as 16-byte vectors along the channels: channels a multiple of 16 / element
  // size and x 16-byte aligned (else one element per load).
  int vec = 0;
  // Staged (vec tokens whose taps never decrease): byte offset of its taps and columns in the
  // block's shared memory; a tile's columns are col_index[2 * x0] onwards, at most `span`.
  // -1: read tap by tap from global memory (the direct path). stage_rank: its place among the
  // staged inputs; stage_first: its first item in their (column, chunk) list (span * 8 each).
  int stage = -1, span = 0, stage_rank = 0, stage_first = 0;
};

// The host checks every tensor holds fewer than 2^31 elements (32-bit element offsets), and
// that the tiles (resize_sum_tiles) number fewer than 2^31.
struct ResizeSumParams {
  ResizeSumSource in[kResizeSumSlots];
  int inputs = 0;
  // The input added as a plain copy (vec tokens at the output size, weights 1 and 0), loaded
  // one tile ahead; -1: none.
  int ident = -1;
  const void* ident_x = nullptr;
  int ident_off = 0;  // byte offset of its two tile buffers (2 x kResizeSumOutTileBytes)
  void* y = nullptr;  // [batch, channels, height, width]
  int batch = 0, channels = 0, height = 0, width = 0;
  int relu = 0;
  int vec_store = 0;  // width a multiple of 16 / element size and y 16-byte aligned
  int smem_bytes = int(kResizeSumOutTileBytes);  // dynamic shared memory a block
  int staged = 0, stage_items = 0;  // staged inputs, and their (column, chunk) items a tile
};

// One tile per (output row, kResizeSumTileX pixels, channel tile).
inline int64_t resize_sum_tiles(int64_t elem_bytes, int64_t batch, int64_t channels, int64_t height, int64_t width) {
  const int64_t tc = resize_sum_tile_c(elem_bytes);
  return (width + kResizeSumTileX - 1) / kResizeSumTileX * ((channels + tc - 1) / tc) * batch * height;
}

// fp32 or fp16 storage, fp32 sums.
void launch_resize_sum(DType dt, const ResizeSumParams& p, CudaStream stream);

}  // namespace kiln::spatial
