// TMA tensor maps (Hopper's bulk tensor copies) for kernels that load 128-byte-swizzled tiles of
// fp16 rows, and unswizzled boxes of NCHW images (image_box_map): a stack of row-major matrices addressed like attention_launch.h's RowStrides — item
// b = (outer o, head h), row r at base + o·outer + h·head + r·row elements. The driver's encoder
// is fetched from the runtime (no link to libcuda). Host code.
#pragma once
#include <cuda.h>

#include <cstdint>

namespace kiln::cuda {

struct RowStack {
  const void* base = nullptr;
  int64_t width = 0;               // elements a row (the map reads [0, width); zeros past it)
  int64_t rows = 0, heads = 1, outers = 1;
  int64_t row = 0, head = 0, outer = 0;  // strides in elements
};

// One row-major [rows, width] fp16 matrix as a row stack of one item (head and outer strides past
// the matrix, so that the map keeps rows outside heads): a kernel's weights, or tokens read as rows.
inline RowStack matrix_rows(const void* base, int64_t rows, int64_t width) {
  RowStack s;
  s.base = base, s.width = width, s.rows = rows;
  s.row = width, s.head = s.outer = rows * width;
  return s;
}

// Whether tiled_rows_map can describe s: a 16-byte aligned base and strides, dims and strides in
// the encoder's ranges.
bool tiled_rows_fit(const RowStack& s);

// Whether tiled_rows_map puts s's heads before its rows: the encoder wants the dims' strides
// ascending, so a stack whose head stride is below its row stride ([B, S, H, D] read per head)
// is mapped (column, head, row, outer), any other (column, row, head, outer). A kernel gives the
// copy its coordinates in that order (tma::load_4d, tensor_map.cuh).
inline bool rows_head_inner(const RowStack& s) { return s.head < s.row; }

// A map of fp16 boxes of 64 columns × box_rows rows (one head, one outer item), 128-byte
// swizzled (the wgmma layout), with the dims in rows_head_inner's order; out-of-range rows and
// columns read as zeros. Fails with kInternal when the driver refuses (tiled_rows_fit said yes).
CUtensorMap tiled_rows_map(const RowStack& s, int box_rows);

// An NCHW stack of images [n, c, h, w] of 2- or 4-byte floats, in boxes of box[0] columns x
// box[1] rows x box[2] channels x 1 image, unswizzled (row-major in shared memory); every
// coordinate outside the images, negative ones too, reads as zero: a conv's padded input patch
// in one copy. image_box_fits: a 16-byte aligned base and row, dims and box in the encoder's
// ranges (box[0] · elem a multiple of 16 bytes).
bool image_box_fits(const void* base, int elem, const int64_t (&nchw)[4], const uint32_t (&box)[3]);
CUtensorMap image_box_map(const void* base, int elem, const int64_t (&nchw)[4], const uint32_t (&box)[3]);

// Float32 tokens [B, H·W, C] of H × W pictures, C a multiple of 32, seen as p × p patches: a box
// holds one tap (i, j) of bw × bh patches (a block of the patch grid), each tap's C floats as C/32
// 128-byte lines, 128-byte swizzled. Dims (32 floats, (C/32)·p [j, channel line], W/p, p [i],
// B·H/p); a box (32, C/32, bw, 1, bh) at (0, j·C/32, wx0, i, b·H/p + wy0) — patches past the grid
// read as zeros or as the next picture's (the caller drops them). patch_token_fits: a 16-byte
// aligned base, 2 ≤ p < W, p dividing H and W, the encoder's ranges.
struct PatchTokens {
  const void* base = nullptr;
  int64_t batch = 0, height = 0, width = 0, channels = 0, patch = 0;
  uint32_t box_w = 0, box_h = 0;  // patches a box
};
bool patch_token_fits(const PatchTokens& t);
CUtensorMap patch_token_map(const PatchTokens& t);
// Float16 tokens [B, H·W, C] of H × W pictures, C a multiple of 64, read as a strided conv's
// windows: a box holds 64 channels (one 128-byte line, 128-byte swizzled: the wgmma A layout) of
// box_h × box_w pixels taken every stride_h rows and stride_w columns from a corner that may lie
// outside the picture; pixels outside read as zeros. Dims (C, W, H, B); a box (64, box_w·stride_w,
// box_h·stride_h, 1) with those element strides, at (c0, x, y, b). token_window_fits: a 16-byte
// aligned base, strides 1..8, the encoder's ranges.
struct TokenWindows {
  const void* base = nullptr;
  int64_t batch = 0, height = 0, width = 0, channels = 0;
  uint32_t box_w = 0, box_h = 0, stride_w = 1, stride_h = 1;
};
bool token_window_fits(const TokenWindows& t);
CUtensorMap token_window_map(const TokenWindows& t);

}  // namespace kiln::cuda
