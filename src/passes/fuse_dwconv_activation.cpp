#include "passes/fuse_dwconv_activation.h"

#include <optional>
#include <set>
#include <string>

#include "ops/conv/depthwise_nhwc.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* conv = nullptr;
  const Node* act = nullptr;
  std::string kind;  // DepthwiseConvNHWC's activation attribute
};

std::optional<Match> match(const GraphIndex& idx, const Node& conv) {
  if (!is_kiln_op(&conv, conv::kDepthwiseNhwcOp) || conv.outputs.size() != 1) return std::nullopt;
  if (conv.attrs.get_string("activation", "none") != "none") return std::nullopt;
  const Node* act = idx.sole_consumer(conv.outputs[0]);
  if (!act || act->outputs.size() != 1) return std::nullopt;
  Match m{&conv, act, fused_activation(act)};
  if (m.kind.empty()) return std::nullopt;
  return m;
}

}  // namespace

int fuse_dwconv_activation(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(idx, n); });
  if (found.empty()) return 0;
  std::set<const Node*> replaced;
  std::vector<Node> fused;
  for (const Match& m : found) {
    Node n = *m.conv;
    n.name = m.act->name;
    n.outputs = {m.act->outputs[0]};
    n.attrs.set("activation", m.kind);
    replaced.insert(m.conv);
    replaced.insert(m.act);
    fused.push_back(std::move(n));
  }
  return replace_nodes(g, replaced, std::move(fused));
}

}  // namespace kiln
