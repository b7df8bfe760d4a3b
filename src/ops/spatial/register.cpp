#include "ops/registry.h"

namespace kiln {

void register_spatial_ops(OpRegistry& r) { (void)r; }  // placeholder until the family lands

}  // namespace kiln
