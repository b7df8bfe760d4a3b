#include "ops/registry.h"
#include "ops/spatial/spatial_ops.h"
#ifdef KILN_WITH_CUDA
#include "ops/spatial/spatial_cuda.h"
#endif

namespace kiln {

void register_spatial_ops(OpRegistry& r) {
  spatial::register_resize(r);
  spatial::register_grid_sample(r);
#ifdef KILN_WITH_CUDA
  r.set_cuda("Resize", spatial::resize_cuda);
  r.set_cuda("GridSample", spatial::grid_sample_cuda);
#endif
}

}  // namespace kiln
