// The quantized semantics as an explicit Q/DQ graph, the form ONNX Runtime's static quantizer
// writes: from calibrated amax values, every target of quant_targets.h gets
//
//   x ──QuantizeLinear(s_x, 0:int8)──DequantizeLinear(s_x, 0)──▶ GEMM/conv      s_x = amax_x / 127
//   W_int8 ──DequantizeLinear(s_w[c], 0, axis = out channel)──▶ GEMM/conv        s_w[c] = max|W[c]| / 127
//
// symmetric int8 (zero points 0), activations per tensor, weights per output channel with
// W_int8 = round_half_even(W / s_w) in [−127, 127]. The CPU reference runs the result as is, so
// its outputs are what an INT8 kernel computing exactly these products must give; a fused INT8
// kernel replaces each DQ → op pair. Consumers that are not quantized keep reading float x.
// One Q/DQ pair per activation serves all its quantized readers.
//
// keep_float (the accuracy guard's choice, quant/accuracy_guard.h) names targets left in float:
// by their consumer's output value (unique, unlike node names). Such a consumer keeps its float
// input and weight, so the int8 fusions pass it by; an activation only kept consumers read gets
// no Q/DQ and needs no range.
#pragma once
#include <map>
#include <set>
#include <string>

#include "ir/graph.h"

namespace kiln::quant {

struct QdqReport {
  int activations = 0, weights = 0, nodes_added = 0;
};

// Symmetric int8 step for amax (1 when amax is 0: an all-zero tensor quantizes exactly anyway).
float int8_scale(double amax);

// amax: by activation name. A target activation missing from it is kInvalidArgument naming the
// tensor (a calibration cache made for other passes or another model). A keep_float name that is
// no target's is kInvalidArgument naming it.
QdqReport insert_qdq_int8(Graph& g, const std::map<std::string, double>& amax,
                          const std::set<std::string>& keep_float = {});

}  // namespace kiln::quant
