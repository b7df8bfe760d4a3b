// The groups of the tensor family; register.cpp adds them all to the registry.
#pragma once
#include "ops/registry.h"

namespace kiln::tensor_ops {

void register_reshape_ops(OpRegistry& r);
void register_transpose_ops(OpRegistry& r);
void register_concat_split_ops(OpRegistry& r);
void register_slice_ops(OpRegistry& r);
void register_gather_ops(OpRegistry& r);
void register_scatter_ops(OpRegistry& r);
void register_expand_tile_ops(OpRegistry& r);
void register_pad_ops(OpRegistry& r);
void register_shape_ops(OpRegistry& r);
void register_matrix_ops(OpRegistry& r);

}  // namespace kiln::tensor_ops
