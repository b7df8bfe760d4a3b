// PatchEmbedTokens (domain "kiln"): a dense 2-D Conv of an NCHW image written straight in the
// token layout — SegFormer's first patch embedding (7×7 stride 4 pad 3 on the 3-channel
// picture), which passes/fuse_patch_embed_tokens makes of Im2ColTokens → FusedMatMul:
//
//   X  [B, C, H, W]       the image
//   W  [kh·kw·C, Co]      W[(i·kw + j)·C + c, o] = the Conv's weight[o, c, i, j] (Im2ColTokens'
//                         row order, the FusedMatMul's weight as it was)
//   B  [Co]               optional bias
//   Y  [B, OH·OW, Co]     Y[b, oy·OW + ox, o] = B[o] + Σ_{i,j,c} W[(i·kw + j)·C + c, o] ·
//                         X[b, c, oy·s_h − pad_top + i·d_h, ox·s_w − pad_left + j·d_w] (0 outside)
//
//   Scale [Co], LB [Co]   optional (inputs 3 and 4): a LayerNormalization over Co after the conv,
//                         Y[b, p, :] = (v - mean) / sqrt(var + epsilon) · Scale + LB, v the row
//                         above as Y's type stores it (the unfused graph's intermediate) and the
//                         statistics over its Co values (fuse_patch_embed_layer_norm: SegFormer's
//                         stage-0 embedding norm, whose tokens never reach memory unnormalized)
//
// Attributes: kernel_shape (required), strides, dilations, pads, auto_pad with Conv's meaning;
// epsilon (LayerNormalization's, default 1e-5) with Scale.
// Types: W's type is the compute type; X is W's type or float32 (the fp16 engine reads the
// float32 picture directly: X is rounded to W's type first, as the Cast it replaces did); B is
// W's type or float32 with float16 W; Y is B's type (W's without B); Scale and LB are Y's type.
// The CPU reference sums in double and rounds once (then normalizes in double, as
// LayerNormalization's reference does, and rounds again).
#pragma once
#include <vector>

#include "ops/conv/window.h"

namespace kiln::conv {

inline constexpr const char* kPatchEmbedTokensOp = "PatchEmbedTokens";

// Checks the shapes (as far as known), dtypes and attributes; returns Y's type. `axes` receives
// the H then W geometry when X's image size is known.
ValueType patch_embed_tokens_type(const OpContextBase& ctx, DType x, DType w, const DType* b, const Shape* xs,
                                  const Shape* ws, const Shape* bs, std::vector<Axis>* axes);
// With the LayerNorm inputs: checks Scale (and LB, when given) are [Co] of Y's type.
void patch_embed_norm_check(const OpContextBase& ctx, DType y, const Shape* ws, const ValueType& scale,
                            const ValueType* lb);
// Shape inference's check of the LayerNorm inputs (3: Scale, 4: LB) of an embedding whose Y has
// type y: patch_embed_norm_check when Scale is given; LB without Scale is an invalid model.
void patch_embed_norm_infer(const InferContext& ctx, DType y);
// The CPU reference's LayerNorm epilogue (kiln.PatchEmbedTokens', kiln.TokenConv's): Y itself
// without input 3, else Y normalized over its last axis by Scale (input 3), LB (input 4, when
// given) and epsilon, after patch_embed_norm_check. ws: W's shape.
Tensor patch_embed_norm_epilogue(const KernelContext& ctx, const Tensor& y, const Shape& ws);

}  // namespace kiln::conv
