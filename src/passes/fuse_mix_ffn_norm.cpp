#include "passes/fuse_mix_ffn_norm.h"

#include <set>

#include "ops/conv/mix_ffn.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node *mix = nullptr, *ln = nullptr;
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& ln) {
  if (!is_token_layer_norm(&ln, true)) return std::nullopt;
  const Node* mix = idx.producer(ln.inputs[0]);
  if (!is_kiln_op(mix, conv::kMixFfnOp) || mix->inputs.size() != conv::kMixInputs ||
      !idx.used_only_by(ln.inputs[0], ln))
    return std::nullopt;
  const auto yd = static_dims(g, ln.inputs[0]);
  if (!yd || yd->size() != 3 || !conv::mix_ffn_norm_fits((*yd)[2])) return std::nullopt;
  const int64_t C = (*yd)[2];
  const DType h = DType::kF16;
  if (!has_static_type(g, ln.inputs[1], {C}, h) || !has_static_type(g, ln.inputs[2], {C}, h) ||
      !has_static_type(g, ln.outputs[0], *yd, h))
    return std::nullopt;
  return Match{mix, &ln};
}

}  // namespace

int fuse_mix_ffn_norm(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> removed;
  for (const Match& m : found) {
    Node n = *m.mix;
    n.inputs.push_back(m.ln->inputs[1]);
    n.inputs.push_back(m.ln->inputs[2]);
    n.outputs = {m.ln->outputs[0]};
    n.attrs.set("norm_epsilon", m.ln->attrs.get_float("epsilon", 1e-5f));
    added.push_back(std::move(n));
    removed.insert({m.mix, m.ln});
  }
  replace_nodes(g, removed, std::move(added));
  return int(found.size());
}

}  // namespace kiln
