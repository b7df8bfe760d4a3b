// What the RowColumnRead kernels (row_column_read.cu, row_column_read_generic.cu) take: plain
// data only, so nvcc compiles them without kiln's host headers. a_col and a_row are contiguous
// (batch item n at n·L·H, n·L·W); V and out are read and written through strides (row_column_read.h's
// RowColumnDims): item n = b·heads + h reads V[y, x, d] at b·v_outer + h·v_inner + y·v_y + x·v_x + d
// and writes out[l, d] at b·o_outer + h·o_inner + l·o_row + d (the token layouts; contiguous
// [H, W, D] and [L, D] per item otherwise).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::attention {

struct RowColumnParams {
  const void* a_col = nullptr;  // [batch, L, H]
  const void* a_row = nullptr;  // [batch, L, W]
  const void* v = nullptr;      // [batch, H, W, D]
  void* out = nullptr;          // [batch, L, D]
  int64_t batch = 0;
  int rows = 0, height = 0, width = 0, head_dim = 0;  // L, H, W, D
  int64_t heads = 1;
  int64_t v_outer = 0, v_inner = 0, v_y = 0, v_x = 0;
  int64_t o_outer = 0, o_inner = 0, o_row = 0;
};

// fp16 on tensor cores (mma.sync m16n8k16, fp32 accumulation). Needs head_dim % 8 == 0,
// head_dim <= 64 and 16-byte aligned V (row_column_read_f16_fits).
void launch_row_column_read_f16(const RowColumnParams& p, cudaStream_t stream);
bool row_column_read_f16_fits(const RowColumnParams& p);
// CUDA cores, fp32 math; fp32 storage (f16 false) or fp16 storage; any shape.
void launch_row_column_read_generic(const RowColumnParams& p, bool f16, cudaStream_t stream);
// Whether the CUDA-core kernel has at least two blocks per multiprocessor (enough warps to hide
// its latency).
bool row_column_read_generic_fills(const RowColumnParams& p);

}  // namespace kiln::attention
