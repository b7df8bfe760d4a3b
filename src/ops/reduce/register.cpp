#include "ops/reduce/reduce_common.h"

namespace kiln {

void register_reduce_ops(OpRegistry& r) {
  reduce::register_reduction_ops(r);
  reduce::register_arg_ops(r);
  reduce::register_softmax_ops(r);
  reduce::register_topk_op(r);
  reduce::register_cumsum_op(r);
}

}  // namespace kiln
