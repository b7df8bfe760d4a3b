#include "ops/registry.h"
#include "ops/tensor/tensor_groups.h"

namespace kiln {

// Shape and data-movement ops, one file per group of closely related ops.
void register_tensor_ops(OpRegistry& r) {
  tensor_ops::register_reshape_ops(r);    // Reshape, Squeeze, Unsqueeze, Flatten, Identity, Dropout
  tensor_ops::register_transpose_ops(r);  // Transpose, DepthToSpace, SpaceToDepth
  tensor_ops::register_concat_split_ops(r);  // Concat, Split
  tensor_ops::register_slice_ops(r);      // Slice
  tensor_ops::register_gather_ops(r);     // Gather, GatherElements, GatherND
  tensor_ops::register_scatter_ops(r);    // ScatterElements, ScatterND
  tensor_ops::register_expand_tile_ops(r);  // Expand, Tile
  tensor_ops::register_pad_ops(r);        // Pad
  tensor_ops::register_shape_ops(r);      // Shape, Size, ConstantOfShape, Range, NonZero
  tensor_ops::register_matrix_ops(r);     // Trilu, EyeLike, OneHot
}

}  // namespace kiln
