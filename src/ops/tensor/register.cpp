#include "ops/registry.h"
#include "ops/tensor/remap.h"
#include "ops/tensor/tensor_groups.h"
#ifdef KILN_WITH_CUDA
#include "ops/tensor/tensor_cuda.h"
#endif

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
  tensor_ops::register_remap_op(r);       // kiln.Remap
#ifdef KILN_WITH_CUDA
  for (const char* name : {"Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity"})
    r.set_cuda(name, tensor_ops::alias_cuda);
  r.set_cuda("Transpose", tensor_ops::transpose_cuda);
  r.set_cuda("Slice", tensor_ops::slice_cuda);
  r.set_cuda("Concat", tensor_ops::concat_cuda);
  r.set_cuda("Expand", tensor_ops::expand_cuda);
  r.set_cuda("Tile", tensor_ops::tile_cuda);
  r.set_cuda("Gather", tensor_ops::gather_cuda);
  r.set_cuda("Pad", tensor_ops::pad_cuda);
  r.set_cuda("ConstantOfShape", tensor_ops::constant_of_shape_cuda);
  r.set_cuda(tensor_ops::kRemapOp, tensor_ops::remap_cuda, kKilnDomain);
#endif
}

}  // namespace kiln
