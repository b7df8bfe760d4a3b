#include "passes/fuse_attention_block.h"

#include <cmath>
#include <set>

#include "ops/attention/attention_block.h"
#include "ops/norm/layer_norm_patch_rows.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node *ln = nullptr, *q_proj = nullptr, *q_view = nullptr, *attn = nullptr, *o_view = nullptr,
             *o_proj = nullptr;
  float scale = 0.f;
};

bool is_reshape(const Node* n) { return is_op(n, "Reshape") && n->outputs.size() == 1; }

// A LayerNorm with Scale and B over the last axis of a rank-3 x (checked by the caller) in float
// statistics: a LayerNormalization without Mean/InvStdDev outputs, or a LayerNormPatchRows.
bool layer_norm(const Node* n) {
  if (is_kiln_op(n, norm::kLayerNormPatchRowsOp)) return n->inputs.size() == 3 && n->has_input(2);
  return is_token_layer_norm(n, true);
}

// The node writing n's input `slot` when n alone reads it and it is no graph output, else nullptr.
const Node* sole_feeder(const GraphIndex& idx, const Node& n, size_t slot) {
  return n.has_input(slot) && idx.used_only_by(n.inputs[slot], n) ? idx.producer(n.inputs[slot]) : nullptr;
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& o_proj) {
  if (!is_plain_fused_matmul(&o_proj, 4)) return std::nullopt;
  Match m{.o_proj = &o_proj};
  m.o_view = sole_feeder(idx, o_proj, 0);
  if (!is_reshape(m.o_view)) return std::nullopt;
  m.attn = sole_feeder(idx, *m.o_view, 0);
  if (!is_kiln_op(m.attn, "Attention") || m.attn->inputs.size() != 3 || m.attn->has_input(2) ||
      m.attn->outputs.size() != 1 || m.attn->attrs.get_int("packed_kv", 0) != 1)
    return std::nullopt;
  m.q_view = sole_feeder(idx, *m.attn, 0);
  if (!is_reshape(m.q_view)) return std::nullopt;
  m.q_proj = sole_feeder(idx, *m.q_view, 0);
  if (!is_plain_fused_matmul(m.q_proj, 3)) return std::nullopt;
  m.ln = sole_feeder(idx, *m.q_proj, 0);
  if (!layer_norm(m.ln) || m.ln->outputs[0] != m.q_proj->inputs[0]) return std::nullopt;  // not a LNPR's rows
  const std::string& x = m.ln->inputs[0];
  if (o_proj.inputs[3] != x) return std::nullopt;
  const auto xd = static_dims(g, x);
  const auto kv = static_dims(g, m.attn->inputs[1]);
  if (!xd || xd->size() != 3 || !kv || kv->size() != 4) return std::nullopt;
  const int64_t B = (*xd)[0], N = (*xd)[1], C = (*xd)[2];
  // H heads of D channels, K and V packed as [B, Nk, 2H, D], widths the kernel takes.
  const int64_t H = (*kv)[2] / 2, D = (*kv)[3];
  if ((*kv)[0] != B || (*kv)[2] % 2 != 0 || H * D != C || !attention::attention_block_fits(C, H)) return std::nullopt;
  const Dims flags = m.attn->attrs.get_ints("seq_first", {0, 0, 0, 0});
  if (flags.size() != 4) return std::nullopt;
  // The views the flags say: seq_first [B, N, H, D] holds the tokens' bytes as they are; [B, H, N, D]
  // does only for one head (more would need a Transpose).
  const auto head_view = [&](int64_t seq_first) { return seq_first ? Dims{B, N, H, D} : Dims{B, 1, N, D}; };
  if (H != 1 && (flags[0] != 1 || flags[3] != 1)) return std::nullopt;
  const DType xt = g.value(x).type.dtype, h = DType::kF16;
  if (xt != DType::kF32 && xt != DType::kF16) return std::nullopt;
  const Dims tokens = {B, N, C};
  const bool typed =
      has_static_type(g, m.ln->inputs[1], {C}, h) && has_static_type(g, m.ln->inputs[2], {C}, h) &&
      has_static_type(g, m.ln->outputs[0], tokens, h) && has_static_type(g, m.q_proj->inputs[1], {C, C}, h) &&
      has_static_type(g, m.q_proj->inputs[2], {C}, h) && has_static_type(g, m.q_proj->outputs[0], tokens, h) &&
      has_static_type(g, m.q_view->outputs[0], head_view(flags[0]), h) && has_static_type(g, m.attn->inputs[1], *kv, h) &&
      has_static_type(g, m.attn->outputs[0], head_view(flags[3]), h) && has_static_type(g, m.o_view->outputs[0], tokens, h) &&
      has_static_type(g, o_proj.inputs[1], {C, C}, h) && has_static_type(g, o_proj.inputs[2], {C}, xt) &&
      has_static_type(g, o_proj.outputs[0], tokens, xt);
  if (!typed) return std::nullopt;
  m.scale = m.attn->attrs.get_float("scale", float(1.0 / std::sqrt(double(D))));  // attention_scale's default
  return m;
}

}  // namespace

int fuse_attention_block(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> removed;
  for (const Match& m : found) {
    const Node& ln = *m.ln;
    Node n = kiln_node(m.o_proj->name, attention::kAttentionBlockOp,
                       {ln.inputs[0], ln.inputs[1], ln.inputs[2], m.q_proj->inputs[1], m.q_proj->inputs[2],
                        m.attn->inputs[1], m.o_proj->inputs[1], m.o_proj->inputs[2]},
                       m.o_proj->outputs[0]);
    n.attrs.set("epsilon", ln.attrs.get_float("epsilon", 1e-5f));
    n.attrs.set("scale", m.scale);
    added.push_back(std::move(n));
    if (is_kiln_op(&ln, norm::kLayerNormPatchRowsOp)) {  // its rows still feed the sequence reduction
      Node rows = ln;
      rows.outputs[0].clear();  // y is "" when unread (layer_norm_patch_rows.h)
      added.push_back(std::move(rows));
    }
    removed.insert({m.ln, m.q_proj, m.q_view, m.attn, m.o_view, m.o_proj});
  }
  replace_nodes(g, removed, std::move(added));
  return int(found.size());
}

}  // namespace kiln
