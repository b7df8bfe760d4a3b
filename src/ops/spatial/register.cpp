#include "ops/registry.h"
#include "ops/spatial/mask_position_embedding.h"
#include "ops/spatial/ms_deform_attn.h"
#include "ops/spatial/resize_sum.h"
#include "ops/spatial/resize_sum_conv.h"
#include "ops/spatial/spatial_ops.h"
#ifdef KILN_WITH_CUDA
#include "ops/spatial/spatial_cuda.h"
#endif

namespace kiln {

void register_spatial_ops(OpRegistry& r) {
  spatial::register_resize(r);
  spatial::register_grid_sample(r);
  spatial::register_resize_sum(r);
  spatial::register_resize_sum_conv(r);
  spatial::register_ms_deform_attn(r);
  spatial::register_mask_position_embedding(r);
#ifdef KILN_WITH_CUDA
  r.set_cuda("Resize", spatial::resize_cuda);
  r.set_cuda("GridSample", spatial::grid_sample_cuda);
  r.set_cuda(spatial::kResizeSumOp, spatial::resize_sum_cuda, kKilnDomain);
  r.set_cuda(spatial::kResizeSumConvOp, spatial::resize_sum_conv_cuda, kKilnDomain);
  r.set_cuda(spatial::kMsDeformAttnOp, spatial::ms_deform_attn_cuda, kKilnDomain);
  r.set_cuda(spatial::kMaskPositionEmbeddingOp, spatial::mask_position_embedding_cuda, kKilnDomain);
#endif
}

}  // namespace kiln
