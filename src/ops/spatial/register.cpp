#include "ops/registry.h"
#include "ops/spatial/spatial_ops.h"

namespace kiln {

void register_spatial_ops(OpRegistry& r) {
  spatial::register_resize(r);
  spatial::register_grid_sample(r);
}

}  // namespace kiln
