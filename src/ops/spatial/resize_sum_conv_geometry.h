// ResizeSumConv's fp16 CUDA kernel (resize_sum_conv.cu), as plain numbers: its tile and what
// fits it. The op decides from them which plans the kernel takes (resize_sum_conv_layout, which
// fuse_resize_sum_conv also asks); the host side and the kernel share the resulting layout.
#pragma once
#include <cstdint>

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

}  // namespace kiln::spatial
