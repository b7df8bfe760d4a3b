// kiln.Remap's stages composed into one index map (remap_program.h). Reshape, Transpose and
// Slice compose into factors with strides (a strided view); Pad and pieces make an axis
// piecewise, composed with whatever the axis already was. What does not compose is refused:
// pad or pieces on a dim that is not exactly one factor (an axis an earlier reshape split or
// merged), a slice across merged dims that is not a slice of the outer one, an empty tensor,
// or more factors, piecewise axes or segments than the program holds. fuse_data_movement fuses
// only chains that compile; the CUDA kernel refuses (kUnsupported) stages that do not.
#pragma once
#include <optional>
#include <vector>

#include "ops/tensor/remap_program.h"
#include "ops/tensor/remap_stages.h"

namespace kiln::tensor_ops {

// Stages must be valid for x (remap_stage_dims); invalid ones give nothing.
std::optional<RemapProgram> compile_remap(const std::vector<RemapStage>& stages, const Dims& x);

// Rewrites p for elements w times wider (w ≥ 2) and returns true when its innermost factor
// moves contiguous runs of a multiple of w elements, every other source step and offset is a
// multiple of w too; else leaves p alone and returns false.
bool widen_remap(RemapProgram& p, int64_t w);

}  // namespace kiln::tensor_ops
