// Registration entry points of the conv family's files (register.cpp calls them all).
#pragma once
#include "ops/conv/window.h"
#include "ops/registry.h"

namespace kiln::conv {

void register_conv(OpRegistry& r);            // Conv
void register_conv_transpose(OpRegistry& r);  // ConvTranspose
void register_pools(OpRegistry& r);           // MaxPool, AveragePool, LpPool
void register_global_pools(OpRegistry& r);    // GlobalAveragePool, GlobalMaxPool, GlobalLpPool
void register_depthwise_nhwc(OpRegistry& r);  // DepthwiseConvNHWC (kiln domain)
void register_fused_conv(OpRegistry& r);      // FusedConv (kiln domain)
void register_im2col_tokens(OpRegistry& r);   // Im2ColTokens (kiln domain)
void register_token_conv(OpRegistry& r);      // TokenConv (kiln domain)
void register_patch_embed_tokens(OpRegistry& r);  // PatchEmbedTokens (kiln domain)
void register_mix_ffn(OpRegistry& r);             // MixFFN (kiln domain)
void register_dwconv_matmul(OpRegistry& r);       // DwConvMatMul (kiln domain)

// Conv's shape rule (conv.cpp), shared with the quantized convolutions: checks X/W/B shapes as
// far as known and returns Y's; `axes` receives the geometry when every needed dim is known.
Shape conv_shape(const OpContextBase& ctx, const Shape& x, const Shape& w, const Shape* b,
                 std::vector<Axis>* axes);

}  // namespace kiln::conv
