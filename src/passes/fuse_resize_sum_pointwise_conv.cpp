#include "passes/fuse_resize_sum_pointwise_conv.h"

#include <optional>
#include <set>

#include "ops/spatial/resize_sum.h"
#include "ops/spatial/resize_sum_pointwise_conv.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* sum;
  const Node* conv;
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& conv) {
  if (!is_pointwise_conv(g, conv)) return std::nullopt;
  const std::string& h = conv.inputs[0];
  const Node* sum = idx.producer(h);
  if (!is_kiln_op(sum, spatial::kResizeSumOp) || sum->outputs.size() != 1 || !idx.used_only_by(h, conv))
    return std::nullopt;
  const auto hd = static_dims(g, h);
  if (!hd || hd->size() != 4) return std::nullopt;
  const DType dt = g.value(h).type.dtype;
  if (dt != DType::kF32 && dt != DType::kF16) return std::nullopt;
  const Tensor& w = *g.value(conv.inputs[1]).constant;
  if (w.dtype() != dt || w.dims()[1] != (*hd)[1]) return std::nullopt;
  if (conv.has_input(2)) {
    const Tensor& b = *g.value(conv.inputs[2]).constant;
    if (b.dtype() != dt || b.dims() != Dims{w.dims()[0]}) return std::nullopt;
  }
  return Match{sum, &conv};
}

Node fused_node(Graph& g, const Match& m) {
  const Node& conv = *m.conv;
  const Tensor& w = *g.value(conv.inputs[1]).constant;
  std::vector<std::string> in = {add_constant(g, conv.outputs[0] + "/weight", w.reshaped({w.dims()[0], w.dims()[1]})),
                                 conv.has_input(2) ? conv.inputs[2] : std::string()};
  in.insert(in.end(), m.sum->inputs.begin(), m.sum->inputs.end());
  Node n = kiln_node(conv.name, spatial::kResizeSumPointwiseConvOp, std::move(in), conv.outputs[0]);
  n.attrs = m.sum->attrs;
  return n;
}

}  // namespace

int fuse_resize_sum_pointwise_conv(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::set<const Node*> replaced;
  std::vector<Node> fused;
  for (const Match& m : found) {
    replaced.insert({m.sum, m.conv});
    fused.push_back(fused_node(g, m));
  }
  return replace_nodes(g, replaced, std::move(fused));
}

}  // namespace kiln
