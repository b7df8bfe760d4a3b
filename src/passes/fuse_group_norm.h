// GroupNorm as PyTorch's exporter writes it (Mask2Former's pixel decoder, AnchorDETR's input
// projection) into one kiln.GroupNorm, with the residual Add and activation that follow:
//
//   X [N,C,...] ─Reshape [N,G,L]─▶ InstanceNormalization(s[G], b[G], eps) ─Reshape [N,C,...]─▶
//      [Mul(γ per channel)] ─▶ [Add(β per channel)] ─▶ [Add(Z, same shape)] ─▶ [Relu | Gelu] ─▶ Y
//                                      ⇒   kiln.GroupNorm(X, s′, b′, [Z]) ─▶ Y
//
// L = (C/G)·spatial, the second Reshape restores X's dims (static shapes: a symbolic graph is
// matched once specialized); s′_c = γ_c·s_g, b′_c = γ_c·b_g + β_c, folded in double (γ, β are
// constants broadcasting along the channel axis only; either Mul/Add order). Each link is read
// only by the next and is not a graph output; X is float32/float16. Statistics stay per group,
// so a per-channel InstanceNormalization (no Reshape around it) is left alone.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_group_norm(Graph& g);  // group norms fused

}  // namespace kiln
