// ResizeSumConv (domain "kiln"): kiln.ResizeSum and the 1x1 Conv that alone reads it, in one
// node, so the summed [B, C, H, W] map never reaches memory (SegFormer's decode head ends in its
// classifier that way; passes/fuse_resize_sum_conv makes it on fp16 engines):
//
//   X_0 ... X_{n-1}   ResizeSum's inputs (1 <= n <= kResizeSumMaxInputs), all float32 or all float16
//   W  [K, C, 1, 1]   X's type
//   B  [K]            float32 or X's type (required)
//   Wp [Cin, C], Bp [C]  X's type; only with projected_input = p >= 0
//   Y  [B, K, height, width], B's type
//
//   S = ResizeSum(X_0 ... X_{n-1}) stored in X's type   Y = Conv1x1(S, W, B)
//
// Projected (p >= 0; SegFormer's identity branch, so its C-channel projection never reaches
// memory): X_p is tokens [batch, h_p*w_p, Cin] (layout "tokens") and the sum reads
// X_p' = FusedMatMul(X_p, Wp, Bp) (no activation, stored in X's type) in its place.
//
// Attributes: ResizeSum's (resize_sum.h) and projected_input (default -1). S and X_p' are
// rounded where the unfused graph rounds them, and the CPU reference runs FusedMatMul's,
// ResizeSum's and Conv's own references in turn, so fused and unfused graphs give the same bits.
// Y takes B's type as the mixed Conv of fp16 engines does (float16 X and W, float32 B and Y:
// convert_precision.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/op.h"
#include "ops/spatial/resize_sum.h"
#include "ops/spatial/resize_sum_conv_geometry.h"

namespace kiln::spatial {

inline constexpr const char* kResizeSumConvOp = "ResizeSumConv";

// Whether the fp16 CUDA kernel takes this sum and conv, and how it lays them out: C in whole
// 64-channel chunks; at most 160 classes; token inputs only, at most one of them at the output
// size with taps 1, 0 (the identity) and at most kRscMaxBanded others whose column taps never
// decrease and stay, for each group of 16 output pixels, within 16 columns of the group's first
// tap (bilinear upsampling; not downsampling); and the whole in shared memory. With
// `projected` >= 0 (that input given as FusedMatMul source tokens of `projected_channels`), also
// that input is the identity and has 64 source channels. Otherwise nothing, with the reason in
// *why. fuse_resize_sum_conv fuses nothing else.
std::optional<RscLayout> resize_sum_conv_layout(const ResizeSumPlan& plan, int64_t classes, int projected = -1,
                                                int64_t projected_channels = 0, std::string* why = nullptr);

// The wgmma kernel's layout (rsc_wgmma_layout) of `l`, made for `plan`: each banded input's window
// is the most source rows (columns) the nonzero taps of any kRscWinTile consecutive output rows
// (columns) reach from the first one's first tap; nothing where a tap runs below that.
std::optional<RscWgmmaLayout> resize_sum_conv_wgmma_layout(const ResizeSumPlan& plan, const RscLayout& l,
                                                           int64_t classes);

// Checks the inputs' types and shapes (as far as known) and the attributes; returns Y's type.
ValueType resize_sum_conv_type(const OpContextBase& ctx, const std::vector<ValueType>& in);

// Where a node's inputs lie: `maps` feature maps, then W and B at maps and maps + 1, then Wp and
// Bp when feature map `projected` (>= 0) is given before its projection. Checks the count and the
// attribute (invalid model).
struct ResizeSumConvInputs {
  size_t maps = 0;
  int projected = -1;
};
ResizeSumConvInputs resize_sum_conv_inputs(const OpContextBase& ctx, size_t inputs);

// ResizeSum's plan of the feature maps (X_p' [B, N, C] for a projected X_p), with W [K, C, 1, 1]
// and B [K] checked against its channel count (and Wp, Bp against X_p). K is W's first dim.
ResizeSumPlan plan_resize_sum_conv(const OpContextBase& ctx, const std::vector<Dims>& input_dims);

}  // namespace kiln::spatial
