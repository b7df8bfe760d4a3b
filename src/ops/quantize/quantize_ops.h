// Registration entry points of the quantize family's files (register.cpp calls them all).
#pragma once
#include "ops/registry.h"

namespace kiln::quant {

void register_quantize_linear(OpRegistry& r);    // QuantizeLinear, DequantizeLinear
void register_dynamic_quantize(OpRegistry& r);   // DynamicQuantizeLinear
void register_integer_matmul(OpRegistry& r);     // MatMulInteger, QLinearMatMul
void register_integer_conv(OpRegistry& r);       // ConvInteger, QLinearConv
void register_int8_matmul(OpRegistry& r);        // kiln.Int8MatMul
void register_int8_conv(OpRegistry& r);          // kiln.Int8Conv

}  // namespace kiln::quant
