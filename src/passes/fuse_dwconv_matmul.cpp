#include "passes/fuse_dwconv_matmul.h"

#include <set>

#include "ops/conv/dwconv_matmul.h"
#include "ops/conv/dwconv_matmul_tile.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* dw = nullptr;
  const Node* fc2 = nullptr;
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& fc2) {
  if (!is_plain_fused_matmul(&fc2, 4)) return std::nullopt;
  const Node* dw = idx.producer(fc2.inputs[0]);
  if (!is_same_3x3_dwconv(dw) || !idx.used_only_by(fc2.inputs[0], fc2) || fc2.inputs[1] == fc2.inputs[0] ||
      fc2.inputs[3] == fc2.inputs[0])
    return std::nullopt;
  const auto h = static_dims(g, dw->inputs[0]), w2 = static_dims(g, fc2.inputs[1]);
  if (!h || h->size() != 3 || !w2 || w2->size() != 2 || !dw->attrs.has("height") || !dw->attrs.has("width"))
    return std::nullopt;
  const int64_t B = (*h)[0], N = (*h)[1], Hd = (*h)[2], C = (*w2)[1];
  const int64_t height = dw->attrs.get_int("height"), width = dw->attrs.get_int("width");
  if (height * width != N || (*w2)[0] != Hd || !conv::dwconv_matmul_fits(C, Hd)) return std::nullopt;
  if (conv::dwconv_matmul_tiles(B, height, width) < kDwConvMatMulMinTiles) return std::nullopt;
  const DType f16 = DType::kF16, xt = g.value(fc2.inputs[2]).type.dtype;
  if (xt != DType::kF32 && xt != DType::kF16) return std::nullopt;
  const bool typed = has_static_type(g, dw->inputs[0], {B, N, Hd}, f16) &&
                     has_static_type(g, dw->inputs[1], {Hd, 1, 3, 3}, f16) && has_static_type(g, dw->inputs[2], {Hd}, f16) &&
                     has_static_type(g, dw->outputs[0], {B, N, Hd}, f16) && has_static_type(g, fc2.inputs[1], {Hd, C}, f16) &&
                     has_static_type(g, fc2.inputs[2], {C}, xt) && has_static_type(g, fc2.inputs[3], {B, N, C}, xt) &&
                     has_static_type(g, fc2.outputs[0], {B, N, C}, xt);
  if (!typed) return std::nullopt;
  return Match{dw, &fc2};
}

}  // namespace

int fuse_dwconv_matmul(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> removed;
  for (const Match& m : found) {
    Node n = kiln_node(m.fc2->name, conv::kDwConvMatMulOp,
                       {m.dw->inputs[0], m.dw->inputs[1], m.dw->inputs[2], m.fc2->inputs[1], m.fc2->inputs[2],
                        m.fc2->inputs[3]},
                       m.fc2->outputs[0]);
    n.attrs.set("height", m.dw->attrs.get_int("height"));
    n.attrs.set("width", m.dw->attrs.get_int("width"));
    n.attrs.set("activation", m.dw->attrs.get_string("activation", "none"));
    added.push_back(std::move(n));
    removed.insert({m.dw, m.fc2});
  }
  replace_nodes(g, removed, std::move(added));
  return int(found.size());
}

}  // namespace kiln
