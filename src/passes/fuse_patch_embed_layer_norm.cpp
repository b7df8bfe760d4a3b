#include "passes/fuse_patch_embed_layer_norm.h"

#include <set>

#include "ops/conv/patch_embed_tokens.h"
#include "ops/conv/token_conv.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* embed = nullptr;
  const Node* ln = nullptr;
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& ln) {
  if (!is_token_layer_norm(&ln, false)) return std::nullopt;
  const Node* embed = idx.producer(ln.inputs[0]);
  const bool token_conv = is_kiln_op(embed, conv::kTokenConvOp);
  if ((!is_kiln_op(embed, conv::kPatchEmbedTokensOp) && !token_conv) || embed->inputs.size() > 3 ||
      embed->outputs.size() != 1)
    return std::nullopt;
  if (!idx.used_only_by(ln.inputs[0], ln)) return std::nullopt;
  const auto t = static_dims(g, ln.inputs[0]);
  if (!t || t->size() != 3) return std::nullopt;
  const int64_t co = (*t)[2];
  if (token_conv && !conv::token_conv_norm_fits(co)) return std::nullopt;
  const DType dt = g.value(ln.inputs[0]).type.dtype;
  if (dt != DType::kF32 && dt != DType::kF16) return std::nullopt;
  for (size_t i = 1; i < ln.inputs.size(); ++i) {
    if (ln.inputs[i].empty()) continue;
    if (!g.is_constant(ln.inputs[i]) || !has_static_type(g, ln.inputs[i], {co}, dt)) return std::nullopt;
  }
  if (g.value(ln.outputs[0]).type.dtype != dt) return std::nullopt;
  return Match{embed, &ln};
}

}  // namespace

int fuse_patch_embed_layer_norm(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> removed;
  for (const Match& m : found) {
    std::vector<std::string> in = m.embed->inputs;
    in.resize(3);  // "" where the embedding has no bias
    in.push_back(m.ln->inputs[1]);
    if (m.ln->has_input(2)) in.push_back(m.ln->inputs[2]);
    Node n = kiln_node(m.embed->name, m.embed->op_type.c_str(), std::move(in), m.ln->outputs[0]);
    n.attrs = m.embed->attrs;
    n.attrs.set("epsilon", m.ln->attrs.get_float("epsilon", 1e-5f));
    added.push_back(std::move(n));
    removed.insert({m.embed, m.ln});
  }
  replace_nodes(g, removed, std::move(added));
  return int(found.size());
}

}  // namespace kiln
