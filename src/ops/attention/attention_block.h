// AttentionBlock (domain "kiln"): the attention half of a SegFormer block around its efficient
// self-attention in one node — LayerNorm, the query projection, attention over the reduced
// keys and values, the output projection and the residual add — which passes/fuse_attention_block
// makes on fp16 engines, so that neither the normalized tokens, the queries nor the attention
// output reach memory:
//
//   X   [B, N, C]          the residual stream, float32 (an fp16 engine's island) or float16
//   S, Bn [C]              LayerNorm's Scale and B, float16
//   Wq  [C, C], Bq [C]     the query projection, float16
//   KV  [B, Nk, 2H, D]     keys and values as fuse_kv_projection packs them (heads [0, H) K's,
//                          [H, 2H) V's), float16, H·D = C
//   Wo  [C, C]             the output projection, float16
//   Bo  [C]                its bias, X's type
//   Y   [B, N, C]          X's type
//
//   L = LayerNorm(X)·S + Bn   Q = L·Wq + Bq   O = softmax(scale · Q_h K_hᵀ) V_h per head h
//   Y = O·Wo + Bo + X
//
// L, Q and O are float16, rounded where the nodes it replaces round them (LayerNormalization or
// kiln.LayerNormPatchRows, kiln.FusedMatMul, kiln.Attention, kiln.FusedMatMul with X as its
// residual); the CPU reference runs those references in turn, so the fused node computes exactly
// what they did. Attributes: epsilon (LayerNorm's, default 1e-5), scale (attention's, > 0; default
// 1/sqrt(D)).
#pragma once
#include <cstdint>

#include "ops/op.h"

namespace kiln {
class OpRegistry;
}

namespace kiln::attention {

inline constexpr const char* kAttentionBlockOp = "AttentionBlock";

// Input slots.
enum AttentionBlockInput : int { kAbX = 0, kAbScale, kAbShift, kAbWq, kAbBq, kAbKv, kAbWo, kAbBo, kAbInputs };

// Whether the CUDA kernel (attention_block_wgmma.cu) takes these widths: one or two heads of 64
// channels (SegFormer-B1…B5's first two stages) on a Hopper GPU's warpgroup MMAs.
// fuse_attention_block checks the widths only (it may run where no GPU is); a build for another
// GPU leaves the pass out (disable_passes_for_target, runtime/specialize.h), and a node made by
// hand is refused there (naming the pass to disable) rather than run another way.
bool attention_block_fits(int64_t channels, int64_t heads);

// Checks the inputs' types and shapes (as far as known) and the attributes; returns Y's type.
ValueType attention_block_type(const OpContextBase& ctx, const std::vector<ValueType>& inputs);

void register_attention_block(OpRegistry& r);

}  // namespace kiln::attention
