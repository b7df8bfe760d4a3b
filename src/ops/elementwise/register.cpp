#include "ops/elementwise/elementwise_ops.h"

namespace kiln {

void register_elementwise_ops(OpRegistry& r) {
  ew::register_unary_math_ops(r);
  ew::register_activation_ops(r);
  ew::register_clip_prelu_ops(r);
  ew::register_arithmetic_ops(r);
  ew::register_pow_op(r);
  ew::register_variadic_ops(r);
  ew::register_compare_logic_ops(r);
  ew::register_cast_ops(r);
}

}  // namespace kiln
