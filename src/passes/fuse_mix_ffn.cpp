#include "passes/fuse_mix_ffn.h"

#include <set>

#include "ops/conv/mix_ffn.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node *ln = nullptr, *fc1 = nullptr, *dw = nullptr, *fc2 = nullptr;
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& fc2) {
  if (!is_plain_fused_matmul(&fc2, 4)) return std::nullopt;
  const Node* dw = idx.producer(fc2.inputs[0]);
  if (!is_same_3x3_dwconv(dw) || !idx.used_only_by(fc2.inputs[0], fc2)) return std::nullopt;
  const Node* fc1 = idx.producer(dw->inputs[0]);
  if (!is_plain_fused_matmul(fc1, 3) || !idx.used_only_by(dw->inputs[0], *dw)) return std::nullopt;
  const Node* ln = idx.producer(fc1->inputs[0]);
  if (!is_token_layer_norm(ln, true) || !idx.used_only_by(fc1->inputs[0], *fc1)) return std::nullopt;
  const std::string& x = ln->inputs[0];
  if (fc2.inputs[3] != x) return std::nullopt;
  const auto xd = static_dims(g, x);
  if (!xd || xd->size() != 3) return std::nullopt;
  const auto w1 = static_dims(g, fc1->inputs[1]);
  if (!w1 || w1->size() != 2) return std::nullopt;
  const int64_t B = (*xd)[0], N = (*xd)[1], C = (*xd)[2], Hd = (*w1)[1];
  if ((*w1)[0] != C || !conv::mix_ffn_fits(C, Hd)) return std::nullopt;
  if (!dw->attrs.has("height") || !dw->attrs.has("width") ||
      dw->attrs.get_int("height") * dw->attrs.get_int("width") != N)
    return std::nullopt;
  const DType xt = g.value(x).type.dtype, h = DType::kF16;
  if (xt != DType::kF32 && xt != DType::kF16) return std::nullopt;
  const bool typed = has_static_type(g, ln->inputs[1], {C}, h) && has_static_type(g, ln->inputs[2], {C}, h) &&
                     has_static_type(g, ln->outputs[0], {B, N, C}, h) && has_static_type(g, fc1->inputs[1], {C, Hd}, h) &&
                     has_static_type(g, fc1->inputs[2], {Hd}, h) && has_static_type(g, fc1->outputs[0], {B, N, Hd}, h) &&
                     has_static_type(g, dw->inputs[1], {Hd, 1, 3, 3}, h) && has_static_type(g, dw->inputs[2], {Hd}, h) &&
                     has_static_type(g, dw->outputs[0], {B, N, Hd}, h) && has_static_type(g, fc2.inputs[1], {Hd, C}, h) &&
                     has_static_type(g, fc2.inputs[2], {C}, xt) && has_static_type(g, fc2.outputs[0], {B, N, C}, xt);
  if (!typed) return std::nullopt;
  return Match{ln, fc1, dw, &fc2};
}

}  // namespace

int fuse_mix_ffn(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> removed;
  for (const Match& m : found) {
    Node n = kiln_node(m.fc2->name, conv::kMixFfnOp,
                       {m.ln->inputs[0], m.ln->inputs[1], m.ln->inputs[2], m.fc1->inputs[1], m.fc1->inputs[2],
                        m.dw->inputs[1], m.dw->inputs[2], m.fc2->inputs[1], m.fc2->inputs[2]},
                       m.fc2->outputs[0]);
    n.attrs.set("height", m.dw->attrs.get_int("height"));
    n.attrs.set("width", m.dw->attrs.get_int("width"));
    n.attrs.set("epsilon", m.ln->attrs.get_float("epsilon", 1e-5f));
    n.attrs.set("activation", m.dw->attrs.get_string("activation", "none"));
    added.push_back(std::move(n));
    removed.insert({m.ln, m.fc1, m.dw, m.fc2});
  }
  replace_nodes(g, removed, std::move(added));
  return int(found.size());
}

}  // namespace kiln
