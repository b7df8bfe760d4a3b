// GroupNorm (domain "kiln"): GroupNorm as PyTorch defines it, with what follows it in
// Mask2Former's pixel decoder written by the same pass over Y — put in the graph by
// passes/fuse_group_norm from the exported Reshape → InstanceNormalization → Reshape → Mul → Add:
//
//   Y = act(normalize(X) · scale[c] + B[c] [+ Z])
//
// X [N, C, ...]; statistics per (n, group) over C / num_groups channels × the spatial dims;
// scale and B per CHANNEL (length C, X's type — unlike ONNX GroupNormalization-18's per-group
// ones); Z optional, Y's shape and type (a residual); activation = "none" | "relu" | "gelu" |
// "gelu_tanh", applied after the sum. CPU reference: statistics in double (two-pass variance),
// one rounding per output.
#pragma once

namespace kiln {
class OpRegistry;
}

namespace kiln::norm {

inline constexpr const char* kGroupNormOp = "GroupNorm";

void register_group_norm(OpRegistry& r);

}  // namespace kiln::norm
