#include "ops/conv/conv_ops.h"

namespace kiln {

void register_conv_ops(OpRegistry& r) {
  conv::register_conv(r);
  conv::register_conv_transpose(r);
  conv::register_pools(r);
  conv::register_global_pools(r);
}

}  // namespace kiln
