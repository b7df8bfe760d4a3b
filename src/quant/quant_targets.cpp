#include "quant/quant_targets.h"

#include <set>

namespace kiln::quant {
namespace {

bool float32(const Graph& g, const std::string& v) { return g.value(v).type.dtype == DType::kF32; }

// The output-channel axis of node's constant weight at input 1, or -1 when the node is not
// quantized.
int weight_axis(const Graph& g, const Node& n) {
  if (n.inputs.size() < 2 || !n.has_input(0) || !n.has_input(1)) return -1;
  const std::string& w = n.inputs[1];
  if (g.is_constant(n.inputs[0]) || !g.is_constant(w) || !float32(g, n.inputs[0]) || !float32(g, w)) return -1;
  const int rank = g.value(w).constant->rank();
  const bool kiln_op = n.domain == "kiln";
  if ((n.op_type == "MatMul" && n.domain.empty()) || (kiln_op && n.op_type == "FusedMatMul"))
    return rank == 2 ? 1 : -1;  // [K, N]
  if (n.op_type == "Gemm" && n.domain.empty()) {
    return rank == 2 ? (n.attrs.get_int("transB", 0) != 0 ? 0 : 1) : -1;
  }
  if ((n.op_type == "Conv" && n.domain.empty()) || (kiln_op && n.op_type == "FusedConv"))
    return rank >= 3 ? 0 : -1;  // [M, C/group, k...]
  return -1;
}

}  // namespace

QuantTargets find_quant_targets(const Graph& g) {
  QuantTargets t;
  std::set<std::string> seen;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const int axis = weight_axis(g, n);
    if (axis < 0) continue;
    if (n.op_type == "Gemm" && n.domain.empty() && n.attrs.get_int("transA", 0) != 0)
      continue;  // a transposed A's rows are not its tokens; rare enough to leave float
    t.consumers.push_back(i);
    t.weights.push_back({i, 1, axis});
    if (seen.insert(n.inputs[0]).second) t.activations.push_back(n.inputs[0]);
  }
  return t;
}

}  // namespace kiln::quant
