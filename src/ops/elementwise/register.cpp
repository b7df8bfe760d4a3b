#include "ops/elementwise/elementwise_ops.h"
#include "ops/elementwise/pointwise.h"
#include "ops/elementwise/pointwise_program.h"
#ifdef KILN_WITH_CUDA
#include "ops/elementwise/elementwise_cuda.h"
#endif

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
  ew::register_pointwise_op(r);
#ifdef KILN_WITH_CUDA
  r.set_cuda("Add", ew::add_cuda);
  r.set_cuda("Sub", ew::sub_cuda);
  r.set_cuda("Mul", ew::mul_cuda);
  r.set_cuda("Div", ew::div_cuda);
  r.set_cuda("Pow", ew::pow_cuda);
  r.set_cuda("Relu", ew::relu_cuda);
  r.set_cuda("Sqrt", ew::sqrt_cuda);
  r.set_cuda("Erf", ew::erf_cuda);
  r.set_cuda("Sigmoid", ew::sigmoid_cuda);
  r.set_cuda("Tanh", ew::tanh_cuda);
  r.set_cuda("Exp", ew::exp_cuda);
  r.set_cuda("Log", ew::log_cuda);
  r.set_cuda("Neg", ew::neg_cuda);
  r.set_cuda("Abs", ew::abs_cuda);
  r.set_cuda("Sin", ew::sin_cuda);
  r.set_cuda("Cos", ew::cos_cuda);
  r.set_cuda("Reciprocal", ew::reciprocal_cuda);
  r.set_cuda("Floor", ew::floor_cuda);
  r.set_cuda("Ceil", ew::ceil_cuda);
  r.set_cuda("Gelu", ew::gelu_cuda);
  r.set_cuda("Cast", ew::cast_cuda);
  r.set_cuda("Equal", ew::equal_cuda);
  r.set_cuda("Less", ew::less_cuda);
  r.set_cuda("Greater", ew::greater_cuda);
  r.set_cuda("LessOrEqual", ew::less_or_equal_cuda);
  r.set_cuda("GreaterOrEqual", ew::greater_or_equal_cuda);
  r.set_cuda("And", ew::and_cuda);
  r.set_cuda("Or", ew::or_cuda);
  r.set_cuda("Xor", ew::xor_cuda);
  r.set_cuda("Not", ew::not_cuda);
  r.set_cuda("Where", ew::where_cuda);
  r.set_cuda(ew::kPointwiseOp, ew::pointwise_cuda, kKilnDomain);
#endif
}

}  // namespace kiln
