// ResizeSumConv's fp16 CUDA kernel (resize_sum_conv.cu), as plain numbers: its tile and what
// fits it. The op decides from them which plans the kernel takes (resize_sum_conv_layout, which
// fuse_resize_sum_conv also asks); the host side and the kernel share the resulting layout.
#pragma once
#include <cstdint>
#include <optional>
#include <utility>

namespace kiln::spatial {

inline constexpr int kRscTileX = 64;      // output pixels of one row a tile
inline constexpr int kRscChunk = 64;      // channels a step: one 128-byte pixel row of fp16
inline constexpr int kRscBand = 16;       // source columns an m16 group of output pixels may read
inline constexpr int kRscMaxBanded = 3;   // resized inputs (every input but the identity)
inline constexpr int kRscMaxClasses = 160;
inline constexpr int64_t kRscPixelBytes = kRscChunk * 2;
// sm_90's opt-in shared memory a block, less the kernel's static shared memory (its mbarriers and
// the copies' tile plans: 112 bytes, asserted in resize_sum_conv.cu), which counts against it.
inline constexpr int64_t kRscStaticSmem = 128;
inline constexpr int64_t kRscSmemLimit = 227 * 1024 - kRscStaticSmem;
inline constexpr int64_t kRscAlignSlack = 1024;       // the kernel aligns its buffers to 1024 bytes (TMA's swizzle)

// n8 tiles a warp of the conv: 4 warp columns of 8 * nt output channels.
inline constexpr int rsc_nt(int64_t classes) { return int((classes + 31) / 32); }
// Up to this nt the conv takes the sum straight from the registers it was made in (each warp
// then holds 4 nt n8 tiles of sums); A's region holds the two channel halves' partial sums at
// a tile's end instead: 8 KB per nt.
inline constexpr int kRscRegisterNt = 2;
inline constexpr int64_t rsc_a_bytes(int nt) { return (nt <= kRscRegisterNt ? nt : 1) * int64_t(8192); }

// Dynamic shared memory, in bytes from its first 1024-byte boundary: the identity's two
// [kRscTileX] pixel buffers, the summed tile A [kRscTileX], W's two [32 nt] chunk buffers, then
// two stage buffers, each every banded input's two source rows of `cols` pixels (a multiple of
// 8) and kRscBand pixels of padding. Every buffer starts on a 1024-byte boundary.
struct RscLayout {
  int ident = -1;  // the input read at the output size (taps 1, 0), or -1
  int banded = 0;
  int input[kRscMaxBanded] = {};  // each banded input's index among the inputs
  int cols[kRscMaxBanded] = {};   // source columns staged a row: its widest tile's
  int off[kRscMaxBanded] = {};    // byte offset in a stage buffer (its two rows, then the next input's)
  int nt = 1;
  // The identity given as its 64-channel source tokens and a projection (Wp [64, C], Bp [C]):
  // the identity's buffers then hold those tokens (x0_off), Wp's two chunk buffers sit at wp_off.
  int projected = -1;
  int64_t ident_off = 0, a_off = 0, w_off = 0, stage_off = 0, stage_bytes = 0, smem_bytes = 0;
  int64_t x0_off = 0, wp_off = 0;
};

// The wgmma kernel (resize_sum_conv_wgmma.cu), where it applies: one warpgroup a block, an 8 x 8
// pixel output tile, the sum and the classifier as m64 products. Each banded input's window —
// the rows x cols source pixels any tile's taps reach, from the tile's first row's and first
// column's first taps — is one TMA box whose pixels are the products' k: ceil(rows cols / 16)
// k16 steps, against a window row's columns for a 64-pixel output row (SegFormer's 8x, 4x and
// 2x inputs: 1 + 1 + 3 steps instead of 2 + 4 + 6). The steps are compiled in, a pattern per
// slot (so that no product is conditional and the accumulators never move while one runs); the
// inputs take the slots fewest steps first. Shared memory, every buffer on a 1024-byte boundary:
// kRscWgmmaStages stages, each a chunk's copies (the windows, each padded to its slot's steps;
// Wp's chunk when projected or else the identity's; W's 32 rows); the tile's interpolation
// weights (the sum's A operand: [64 pixels][16 window pixels] a step, four steps to a [64][64]
// swizzled tile); the projected identity's source tokens.
inline constexpr int kRscWinTile = 8;
inline constexpr int kRscWgmmaStages = 2;
inline constexpr int kRscWgmmaMaxClasses = 32;
inline constexpr int kRscWgmmaPatterns = 2;
// Pattern 0 fits SegFormer's heads (windows of 3 x 3, 4 x 4 and 6 x 6 pixels); pattern 1 up to
// 32, 32 and 64 window pixels.
inline constexpr int kRscWgmmaSteps[kRscWgmmaPatterns][kRscMaxBanded] = {{1, 1, 3}, {2, 2, 4}};
struct RscWgmmaLayout {
  int pattern = 0;
  int input[kRscMaxBanded] = {};  // the RscLayout banded input in each slot
  int rows[kRscMaxBanded] = {}, cols[kRscMaxBanded] = {};  // its window
  int off[kRscMaxBanded] = {};    // in a stage: the slot's 16 steps pixels
  int64_t wp_off = 0, ident_off = 0, w_off = 0, stage_bytes = 0;  // in a stage; its size
  int64_t wt_off = 0, wt_bytes = 0, x0_off = 0, smem_bytes = 0;   // the weights' buffer, x0's
};

// The wgmma kernel's layout of what the mma.sync kernel's layout `l` takes, given each banded
// input's window (rows[i] x cols[i], 0 where the taps do not make one), or nothing: more than 32
// classes, other than three banded inputs, windows past every pattern.
inline std::optional<RscWgmmaLayout> rsc_wgmma_layout(const RscLayout& l, const int (&rows)[kRscMaxBanded],
                                                      const int (&cols)[kRscMaxBanded], int64_t classes) {
  if (classes > kRscWgmmaMaxClasses || l.banded != kRscMaxBanded) return std::nullopt;
  RscWgmmaLayout w;
  int need[kRscMaxBanded];
  for (int i = 0; i < kRscMaxBanded; ++i) {
    // (past 64 rows or columns no pattern fits, and rows · cols stays within int)
    if (rows[i] <= 0 || cols[i] <= 0 || rows[i] > 64 || cols[i] > 64) return std::nullopt;
    need[i] = (rows[i] * cols[i] + 15) / 16;
    w.input[i] = i;
  }
  for (int i = 1; i < kRscMaxBanded; ++i)  // fewest steps first, stable
    for (int j = i; j > 0 && need[w.input[j]] < need[w.input[j - 1]]; --j) std::swap(w.input[j], w.input[j - 1]);
  w.pattern = -1;
  for (int p = kRscWgmmaPatterns - 1; p >= 0; --p) {
    bool fits = true;
    for (int s = 0; s < kRscMaxBanded; ++s) fits = fits && need[w.input[s]] <= kRscWgmmaSteps[p][s];
    if (fits) w.pattern = p;
  }
  if (w.pattern < 0) return std::nullopt;
  int64_t at = 0, steps = 0;
  for (int s = 0; s < kRscMaxBanded; ++s) {
    w.rows[s] = rows[w.input[s]], w.cols[s] = cols[w.input[s]];
    w.off[s] = int(at);
    at += 16 * kRscWgmmaSteps[w.pattern][s] * kRscPixelBytes;
    steps += kRscWgmmaSteps[w.pattern][s];
  }
  const int64_t tile = 64 * kRscPixelBytes;  // 8 KB
  if (l.projected >= 0) w.wp_off = at, at += tile;
  else if (l.ident >= 0) w.ident_off = at, at += tile;
  w.w_off = at;
  w.stage_bytes = at + 32 * kRscPixelBytes;
  w.wt_off = kRscWgmmaStages * w.stage_bytes;
  w.wt_bytes = (steps + 3) / 4 * tile;
  w.x0_off = w.wt_off + w.wt_bytes;
  w.smem_bytes = w.x0_off + (l.projected >= 0 ? tile : 0) + kRscAlignSlack;
  if (w.smem_bytes > kRscSmemLimit) return std::nullopt;
  return w;
}

}  // namespace kiln::spatial
