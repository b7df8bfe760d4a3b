// kiln.Remap (domain "kiln"): a chain of data-movement ops — Reshape, Transpose, Slice, Pad
// (constant), Concat of Slices of one tensor (torch.roll) — as one node, so the GPU reads each
// element once and writes it once instead of once per op. passes/fuse_data_movement puts it in
// place of such chains (Swin's pad + roll + window partition and back); models may name it too.
//
//   X       any dtype, rank ≤ 8
//   fill    optional one-element tensor of X's dtype: what `pad` stages write (zero if absent)
//   Y       X's dtype; dims from applying the stages to X's dims
//   stages  strings, at least one, applied to X in order (remap_stages.h)
//
// The CPU reference applies the stages one after another, each as its own copy. The CUDA kernel
// runs the composed index map (remap_program.h) in one pass.
#pragma once
#include <vector>

#include "ops/op.h"
#include "ops/tensor/remap_stages.h"

namespace kiln {
class OpRegistry;
}

namespace kiln::tensor_ops {

inline constexpr const char* kRemapOp = "Remap";

void register_remap_op(OpRegistry& r);

// The node's stages, parsed; a malformed or missing attribute is a model error naming the node.
std::vector<RemapStage> remap_stages(const OpContextBase& ctx);
// Y's dims for X's dims; a stage that does not fit its input is a model error naming the node.
Dims remap_output_dims(const OpContextBase& ctx, const std::vector<RemapStage>& stages, const Dims& x);
// The fill value's bytes (zeros when the input is absent), checked against X's dtype.
std::vector<unsigned char> remap_fill_bytes(const OpContextBase& ctx, DType x, const Tensor* fill);

// The reference: the stages applied one by one to x.
Tensor apply_remap_stages(const Tensor& x, const std::vector<RemapStage>& stages, const unsigned char* fill);

}  // namespace kiln::tensor_ops
