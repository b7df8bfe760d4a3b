#include "passes/commute_mean_linear.h"

#include <optional>
#include <set>

#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* linear = nullptr;
  const Node* mean = nullptr;
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& mean) {
  if (!is_op(&mean, "ReduceMean") || !mean.has_input(0) || mean.outputs.size() != 1) return std::nullopt;
  const Node* linear = idx.producer(mean.inputs[0]);
  if (!is_kiln_op(linear, "FusedMatMul") || linear->outputs.size() != 1 || linear->inputs.size() != 3 ||
      linear->attrs.get_string("activation", "none") != "none" || !idx.used_only_by(mean.inputs[0], mean))
    return std::nullopt;
  const Shape* y = shape_of_value(g, linear->outputs[0]);
  const Shape* out = shape_of_value(g, mean.outputs[0]);
  const auto axes = axes_operand(g, mean);  // an input from opset 18, an attribute before
  // The averaged rows feed a FusedMatMul, which needs rank >= 2.
  if (!y || !out || !axes || axes->empty() || out->size() < 2) return std::nullopt;
  const int64_t rank = int64_t(y->size());
  for (int64_t a : *axes)
    if (a < -rank || a >= rank || (a + rank) % rank == rank - 1) return std::nullopt;  // the mapped axis
  return Match{linear, &mean};
}

}  // namespace

int commute_mean_linear(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::set<const Node*> replaced;
  std::vector<Node> added;
  for (const Match& m : found) {
    const std::string& x = m.linear->inputs[0];
    // X̄ has the mean's output shape with X's last dim (K for N).
    ValueType t = g.value(m.mean->outputs[0]).type;
    t.dtype = g.value(x).type.dtype;
    t.shape->back() = g.value(x).type.shape ? g.value(x).type.shape->back() : Dim();
    Node mean = *m.mean;
    Node linear = *m.linear;
    mean.inputs[0] = x;
    mean.outputs = {add_value(g, m.mean->outputs[0] + "/rows", t)};
    linear.inputs[0] = mean.outputs[0];
    linear.outputs = m.mean->outputs;
    replaced.insert(m.mean);
    replaced.insert(m.linear);
    added.push_back(std::move(mean));
    added.push_back(std::move(linear));
  }
  replace_nodes(g, replaced, std::move(added));
  return int(found.size());
}

}  // namespace kiln
