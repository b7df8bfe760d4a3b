// The elementwise family's parts; register.cpp adds them all to the registry.
#pragma once
#include "ops/registry.h"

namespace kiln::ew {

void register_unary_math_ops(OpRegistry& r);  // Exp, Log, Sqrt, trig, Abs, Neg, Erf, IsNaN, Not...
void register_activation_ops(OpRegistry& r);  // Relu, LeakyRelu, Elu, Gelu, Softplus, ...
void register_clip_prelu_ops(OpRegistry& r);  // Clip, PRelu: activations with tensor operands
void register_arithmetic_ops(OpRegistry& r);  // Add, Sub, Mul, Div, Mod
void register_pow_op(OpRegistry& r);          // Pow (base and exponent types differ)
void register_variadic_ops(OpRegistry& r);    // Max, Min, Sum, Mean
void register_compare_logic_ops(OpRegistry& r);  // Equal, Less, ..., And, Or, Xor, Where
void register_cast_ops(OpRegistry& r);        // Cast, CastLike

}  // namespace kiln::ew
