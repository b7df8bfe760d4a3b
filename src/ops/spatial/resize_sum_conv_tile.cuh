// The tiles of ResizeSumConv's mma.sync kernel (resize_sum_conv.cu) and how one thread stages a
// tile's 64-channel chunk by TMA: 64-pixel pieces of an output row, each banded input's source
// rows as boxes (the offsets in ResizeSumConvParams). The wgmma kernel (resize_sum_conv_wgmma.cu)
// tiles 8 x 8 and stages windows of its own; it shares swz and kCk.
#pragma once
#include <cuda_fp16.h>

#include "ops/spatial/resize_sum_conv_launch.h"
#include "runtime/cuda/tensor_map.cuh"

namespace kiln::spatial::rsc {

constexpr int kTx = kRscTileX, kCk = kRscChunk;
static_assert(kTx == 64 && kCk == 64 && kRscBand == 16);

// Halves from the start of a swizzled tile to 16-byte chunk j of row r.
__device__ __forceinline__ int swz(int r, int j) { return r * kCk + ((j ^ (r & 7)) << 3); }

struct Tile {
  int b, oy, x0;
};
__device__ __forceinline__ Tile tile_at(const ResizeSumConvParams& p, int t, int x_tiles) {
  const int row = t / x_tiles, b = row / p.height;
  return {b, row - b * p.height, (t - row * x_tiles) * kTx};
}

// What a tile's copies need from the tables in global memory: per banded input which of its two
// source rows have nonzero weight (only those are copied; A's weights for the others are 0 and
// the buffer keeps earlier, finite values), their row indices and the window's first column;
// the expected bytes of one chunk's boxes. Made once a tile by the issuing thread, ahead of
// time: read per chunk, these dependent global loads sat on warp 0's path to the sum, and the
// other warps waited for it at the barrier (30% of the kernel's stall samples, c114).
struct TilePlan {
  int2 row[kRscMaxBanded];  // source rows (x, y); -1 where the row has weight 0
  int lo[kRscMaxBanded];
  int pixel;
  uint32_t bytes;  // without x0's box
};
template <int kNt>
__device__ __forceinline__ TilePlan plan_tile(const ResizeSumConvParams& p, const Tile& tl) {
  TilePlan pl;
  pl.pixel = (tl.b * p.height + tl.oy) * p.width + tl.x0;
  pl.bytes = 32 * kNt * kCk * 2 + (p.ident ? kTx * kCk * 2 : 0) + (p.projected ? kCk * kCk * 2 : 0);
#pragma unroll
  for (int i = 0; i < kRscMaxBanded; ++i) {
    pl.row[i] = make_int2(-1, -1), pl.lo[i] = 0;
    if (i >= p.banded) continue;
    const RscSource& s = p.in[i];
    const float2 wy = reinterpret_cast<const float2*>(s.row_weight)[tl.oy];
    const int2 iy = reinterpret_cast<const int2*>(s.row_index)[tl.oy];
    pl.row[i] = make_int2(wy.x != 0.f ? tl.b * s.in_h + iy.x : -1, wy.y != 0.f ? tl.b * s.in_h + iy.y : -1);
    pl.lo[i] = s.col_index[2 * tl.x0];
    pl.bytes += (int(wy.x != 0.f) + int(wy.y != 0.f)) * uint32_t(s.cols * kCk * 2);
  }
  return pl;
}

// One output row's (or column's) two taps, read from a banded input's tables; none past the
// output's extent (weight 0).
struct TapPair {
  int2 i = make_int2(-1, -1);
  float2 w = make_float2(0.f, 0.f);
  __device__ __forceinline__ TapPair(const int32_t* index, const float* weight, int o, int extent) {
    if (o < extent) i = reinterpret_cast<const int2*>(index)[o], w = reinterpret_cast<const float2*>(weight)[o];
  }
  // The weight of source row (column) s: both taps where they coincide, at the border.
  __device__ __forceinline__ float at(int s) const { return (s == i.x ? w.x : 0.f) + (s == i.y ? w.y : 0.f); }
};

// A banded input's column taps for this lane's two pixels of an m16 group whose first output
// column is m0: pixel m0 + g + 8 h (g = lane / 4).
struct ColumnTaps {
  TapPair px[2];
  __device__ __forceinline__ ColumnTaps(const RscSource& s, int m0, int width)
      : px{TapPair(s.col_index, s.col_weight, m0 + int(threadIdx.x % 32) / 4, width),
           TapPair(s.col_index, s.col_weight, m0 + int(threadIdx.x % 32) / 4 + 8, width)} {}
  // Pixel h's weight at source column c.
  __device__ __forceinline__ float at(int h, int c) const { return px[h].at(c); }
};

// One thread: starts the TMA copies of a tile's chunk ch into one buffer of each kind, all
// completing `bar` (its expected bytes count exactly the boxes issued, or the waits never end);
// x0 (the projected identity's source tokens, a whole tile's) only when given (nonzero).
template <int kNt>
__device__ __forceinline__ void issue_chunk(const ResizeSumConvParams& p, const RscMaps& maps, const TilePlan& pl,
                                            int ch, uint32_t stage, uint32_t ident, uint32_t w, uint32_t x0,
                                            uint32_t wp, uint32_t bar) {
  namespace tma = cuda::tma;
  const int c = ch * kCk;
  tma::arrive_expect_tx(bar, pl.bytes + (p.projected && x0 ? kTx * kCk * 2 : 0));
#pragma unroll
  for (int i = 0; i < kRscMaxBanded; ++i) {
    if (i >= p.banded) break;
    const uint32_t dst = stage + p.in[i].off;
    if (pl.row[i].x >= 0) tma::load_4d(dst, &maps.in[i], bar, c, pl.lo[i], pl.row[i].x, 0);
    if (pl.row[i].y >= 0) tma::load_4d(dst + p.in[i].cols * kCk * 2, &maps.in[i], bar, c, pl.lo[i], pl.row[i].y, 0);
  }
  if (p.ident) tma::load_4d(ident, &maps.ident, bar, c, pl.pixel, 0, 0);
  tma::load_4d(w, &maps.w, bar, c, 0, 0, 0);
  if (p.projected) {
    tma::load_4d(wp, &maps.wp, bar, c, 0, 0, 0);
    if (x0) tma::load_4d(x0, &maps.x0, bar, 0, pl.pixel, 0, 0);
  }
}

}  // namespace kiln::spatial::rsc
