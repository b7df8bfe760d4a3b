// ResizeSumConv's fp16 CUDA kernel (resize_sum_conv.cu), as plain numbers: its tile and what
// fits it. The op decides from them which plans the kernel takes (resize_sum_conv_layout, which
// fuse_resize_sum_conv also asks); the host side and the kernel share the resulting layout.
#pragma once
#include <cstdint>
#include <optional>

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

// The wgmma kernel (resize_sum_conv_wgmma.cu), where it applies: one warpgroup a block, two
// blocks an SM, the sum and the classifier as m64 products over whole 64-pixel tiles, so each
// banded input's source row is a k16 step per 16 columns of the tile's window, and the
// classifier one m64n32 accumulator. The products' count is compiled in (so that no product is
// conditional and the accumulators never move while one runs): the kernel is built for
// SegFormer's heads — three banded inputs in the exported order (8x, 4x, 2x: windows of 1, 2 and
// 3 steps, for spans of 10, 18 and 34 columns) — with or without the projected identity.
// Shared memory, every buffer on a 1024-byte boundary: kRscWgmmaStages stages, each a chunk's
// copies (each banded input's two rows of 16 steps columns, Wp's chunk when projected or else
// the identity's, W's 32 rows); the tile's interpolation weights (the sum's A operand: [64
// pixels][16 columns] a step, four steps to a [64][64] swizzled tile); the projected identity's
// source tokens.
inline constexpr int kRscWgmmaStages = 2;
inline constexpr int kRscWgmmaMaxClasses = 32;
inline constexpr int kRscWgmmaSteps[kRscMaxBanded] = {1, 2, 3};
struct RscWgmmaLayout {
  int steps[kRscMaxBanded] = {};  // k16 steps a source row (kRscWgmmaSteps)
  int off[kRscMaxBanded] = {};    // in a stage: input i's two rows of 16 steps columns
  int64_t wp_off = 0, ident_off = 0, w_off = 0, stage_bytes = 0;  // in a stage; its size
  int64_t wt_off = 0, wt_bytes = 0, x0_off = 0, smem_bytes = 0;   // the weights' buffer, x0's
};

// The wgmma kernel's layout of what the mma.sync kernel's layout `l` takes, or nothing: more than
// 32 classes, other inputs or spans, past the shared memory.
inline std::optional<RscWgmmaLayout> rsc_wgmma_layout(const RscLayout& l, int64_t classes) {
  if (classes > kRscWgmmaMaxClasses || l.banded != kRscMaxBanded) return std::nullopt;
  RscWgmmaLayout w;
  for (int i = 0; i < kRscMaxBanded; ++i)
    if ((l.cols[i] + 15) / 16 > kRscWgmmaSteps[i]) return std::nullopt;
  int64_t at = 0, steps = 0;
  for (int i = 0; i < l.banded; ++i) {
    w.steps[i] = kRscWgmmaSteps[i];
    w.off[i] = int(at);
    at += 2 * 16 * w.steps[i] * kRscPixelBytes;
    steps += 2 * w.steps[i];
  }
  const int64_t tile = kRscTileX * kRscPixelBytes;  // 8 KB
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
