// What the INT8 GEMM fusions (fuse_int8_matmul, fuse_int8_conv) match on both operands: the
// symmetric int8 Q/DQ pair of an activation and the DequantizeLinear of an int8 weight.
#pragma once
#include <optional>
#include <string>

#include "passes/pattern.h"

namespace kiln {

struct QuantizedActivation {
  std::string x, scale;  // the float32 tensor quantized and its one-element scale
};
// `value` = DequantizeLinear(QuantizeLinear(x, s, int8 0), s, [int8 0]) with x float32 and s one
// positive finite float32 constant, bitwise the same in Q and DQ; unblocked.
std::optional<QuantizedActivation> match_quantized_activation(const Graph& g, const GraphIndex& idx,
                                                              const std::string& value);

struct QuantizedWeight {
  std::string w, scale;  // the int8 constant and its float32 scale (one, or per output channel)
};
// `value` = DequantizeLinear(W, s, [zeros]) with W an int8 constant of `rank`, s positive finite
// float32 constants, one or along `out_axis` (the output channels), zero points all 0.
std::optional<QuantizedWeight> match_quantized_weight(const Graph& g, const GraphIndex& idx, const std::string& value,
                                                      int rank, int out_axis);

// A DequantizeLinear of an int8 constant: a quantized weight, which constant folding would turn
// into float32 before the int8 fusions could read it.
bool is_int8_weight_dequantize(const Graph& g, const Node& n);

}  // namespace kiln
