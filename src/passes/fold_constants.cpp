#include "passes/fold_constants.h"

#include <algorithm>

#include "passes/infer_shapes.h"

namespace kiln {
namespace {

// Larger results stay as runtime nodes: folding must not bloat the model.
constexpr int64_t kMaxFoldedElements = int64_t(1) << 24;

// Shape and Size need only the input's shape, not its data.
std::optional<Tensor> fold_from_shape(const Graph& g, const Node& n) {
  if (!n.domain.empty() || (n.op_type != "Shape" && n.op_type != "Size")) return std::nullopt;
  const ValueType& t = g.value(n.inputs[0]).type;
  if (!t.shape || !shape_known(*t.shape)) return std::nullopt;
  Dims dims = shape_dims(*t.shape);
  if (n.op_type == "Size") return Tensor::scalar<int64_t>(numel_of(dims));
  int64_t rank = int64_t(dims.size());
  auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t(0), rank); };
  int64_t start = clamp(n.attrs.get_int("start", 0));
  int64_t end = clamp(n.attrs.get_int("end", rank));
  std::vector<int64_t> slice;
  for (int64_t i = start; i < end; ++i) slice.push_back(dims[size_t(i)]);
  return Tensor::from_vector<int64_t>({int64_t(slice.size())}, slice);
}

bool outputs_small(const Graph& g, const Node& n) {
  for (const auto& o : n.outputs) {
    if (o.empty()) continue;
    const ValueType& t = g.value(o).type;
    if (t.shape && shape_known(*t.shape) && numel_of(shape_dims(*t.shape)) > kMaxFoldedElements)
      return false;
  }
  return true;
}

}  // namespace

FoldStats fold_constants(Graph& g, bool (*keep)(const Graph&, const Node&)) {
  FoldStats stats;
  std::vector<Node> kept;
  for (Node& n : g.nodes) {
    const OpSchema& schema = infer_node(g, n);
    if (auto t = fold_from_shape(g, n)) {
      g.value(n.outputs[0]).constant = *t;
      ++stats.folded_nodes;
      continue;
    }
    bool all_const = schema.deterministic;
    for (const auto& in : n.inputs) all_const = all_const && (in.empty() || g.is_constant(in));
    if (!all_const || !outputs_small(g, n) || (keep && keep(g, n))) {
      kept.push_back(std::move(n));
      continue;
    }
    KernelContext ctx{{n}, {}};
    for (const auto& in : n.inputs) ctx.inputs.push_back(in.empty() ? nullptr : &*g.value(in).constant);
    std::vector<Tensor> out = schema.cpu(ctx);
    KILN_ASSERT(out.size() >= n.outputs.size());
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i].empty()) continue;
      Value& v = g.value(n.outputs[i]);
      v.constant = out[i];
      v.type = {out[i].dtype(), shape_of(out[i].dims())};
    }
    ++stats.folded_nodes;
  }
  g.nodes = std::move(kept);
  return stats;
}

}  // namespace kiln
