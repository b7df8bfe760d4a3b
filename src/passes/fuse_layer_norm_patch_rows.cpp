#include "passes/fuse_layer_norm_patch_rows.h"

#include <set>

#include "ops/norm/layer_norm_patch_rows.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node *ln = nullptr, *windows = nullptr, *gather = nullptr, *rows = nullptr;
  int64_t height = 0, width = 0, patch = 0;
  bool y_read_elsewhere = false;
};

// The gather chain read from the LayerNorm output y [B, N, C]: Reshape → Transpose → Reshape,
// checked against the dims the gather must have for window side p.
std::optional<Match> match_chain(const Graph& g, const GraphIndex& idx, const Node& windows, const Dims& y) {
  if (!is_op(&windows, "Reshape") || windows.outputs.size() != 1) return std::nullopt;
  const auto w = static_dims(g, windows.outputs[0]);
  if (!w || w->size() != 6) return std::nullopt;
  const int64_t B = y[0], N = y[1], C = y[2], wh = (*w)[1], p = (*w)[2], ww = (*w)[3];
  if ((*w)[0] != B || (*w)[4] != p || (*w)[5] != C || p < 1 || wh * p * ww * p != N) return std::nullopt;
  const Node* gather = idx.sole_consumer(windows.outputs[0]);
  if (!is_op(gather, "Transpose") || gather->outputs.size() != 1 ||
      gather->attrs.get_ints("perm", {}) != Dims{0, 1, 3, 2, 4, 5})
    return std::nullopt;
  const Node* rows = idx.sole_consumer(gather->outputs[0]);
  if (!is_op(rows, "Reshape") || rows->outputs.size() != 1 ||
      static_dims(g, rows->outputs[0]) != Dims{B, wh * ww, p * p * C})
    return std::nullopt;
  const DType t = g.value(windows.inputs[0]).type.dtype;
  for (const Node* n : {gather, rows})
    if (g.value(n->outputs[0]).type.dtype != t) return std::nullopt;
  return Match{nullptr, &windows, gather, rows, wh * p, ww * p, p, false};
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& ln) {
  if (!is_token_layer_norm(&ln, false)) return std::nullopt;
  const auto x = static_dims(g, ln.inputs[0]);
  if (!x || x->size() != 3) return std::nullopt;
  const int64_t C = (*x)[2];
  if (static_dims(g, ln.inputs[1]) != Dims{C} || (ln.has_input(2) && static_dims(g, ln.inputs[2]) != Dims{C}))
    return std::nullopt;
  if ((*x)[0] * (*x)[1] > 0x7fffffff) return std::nullopt;
  const std::string& y = ln.outputs[0];
  for (const Node* reader : idx.consumers(y)) {
    if (reader->inputs.empty() || reader->inputs[0] != y) continue;
    auto m = match_chain(g, idx, *reader, *x);
    if (!m) continue;
    m->ln = &ln;
    m->y_read_elsewhere = !idx.used_only_by(y, *reader);
    return m;
  }
  return std::nullopt;
}

Node rewrite(const Match& m) {
  const Node& ln = *m.ln;
  std::vector<std::string> inputs = ln.inputs;
  if (inputs.size() == 3 && inputs[2].empty()) inputs.pop_back();  // no B
  Node n = kiln_node(m.rows->name, norm::kLayerNormPatchRowsOp, std::move(inputs), m.rows->outputs[0]);
  n.outputs.insert(n.outputs.begin(), m.y_read_elsewhere ? ln.outputs[0] : std::string());
  n.attrs.set("epsilon", ln.attrs.get_float("epsilon", 1e-5f));
  n.attrs.set("height", m.height);
  n.attrs.set("width", m.width);
  n.attrs.set("patch", m.patch);
  return n;
}

}  // namespace

int fuse_layer_norm_patch_rows(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> removed;
  for (const Match& m : found) {
    added.push_back(rewrite(m));
    removed.insert({m.ln, m.windows, m.gather, m.rows});
  }
  replace_nodes(g, removed, std::move(added));
  return int(found.size());
}

}  // namespace kiln
