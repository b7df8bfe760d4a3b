#include "passes/fuse_int8_conv.h"

#include "ops/conv/fused_conv.h"
#include "ops/quantize/int8_conv.h"
#include "passes/pattern.h"
#include "passes/qdq_match.h"

namespace kiln {
namespace {

using quant::kInt8ConvOp;
using quant::kInt8MaxK;

struct Match {
  const Node* conv = nullptr;
  QuantizedActivation x;
  QuantizedWeight w;
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& n) {
  const bool fused = is_kiln_op(&n, conv::kFusedConvOp);
  if (!(is_op(&n, "Conv") || fused) || n.outputs.size() != 1 || !n.has_input(0) || !n.has_input(1))
    return std::nullopt;
  if (n.attrs.get_int("group", 1) != 1) return std::nullopt;
  for (size_t i = 2; i < n.inputs.size(); ++i)
    if (n.has_input(i) && g.value(n.inputs[i]).type.dtype != DType::kF32) return std::nullopt;
  const auto x = match_quantized_activation(g, idx, n.inputs[0]);
  const auto w = match_quantized_weight(g, idx, n.inputs[1], 4, 0);
  if (!x || !w) return std::nullopt;
  const Tensor& wt = *g.value(w->w).constant;
  if (wt.dim(1) * wt.dim(2) * wt.dim(3) > kInt8MaxK) return std::nullopt;
  return Match{&n, *x, *w};
}

}  // namespace

int fuse_int8_conv(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::set<const Node*> replaced;
  std::vector<Node> fused;
  for (const Match& m : found) {
    Node n;
    n.op_type = kInt8ConvOp;
    n.domain = kKilnDomain;
    n.opset = 1;
    n.name = m.conv->name;
    n.attrs = m.conv->attrs;  // the window, and FusedConv's activation
    n.inputs = {m.x.x, m.x.scale, m.w.w, m.w.scale};
    for (size_t i = 2; i < m.conv->inputs.size(); ++i) n.inputs.push_back(m.conv->inputs[i]);
    while (!n.inputs.empty() && n.inputs.back().empty()) n.inputs.pop_back();
    n.outputs = m.conv->outputs;
    replaced.insert(m.conv);
    fused.push_back(std::move(n));
  }
  return replace_nodes(g, replaced, std::move(fused));
}

}  // namespace kiln
