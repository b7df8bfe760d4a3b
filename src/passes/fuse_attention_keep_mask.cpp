#include "passes/fuse_attention_keep_mask.h"

#include <cmath>
#include <cstdint>
#include <set>

#include "ops/attention/attention_keep_mask.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  std::vector<const Node*> chain;  // replaced, the keep Not last
  std::string logits;
  int64_t repeats = 1;
  float threshold = 0.5f;
  bool broadcast_heads = false;  // B = 1 and only attentions read the mask: write one copy
};

bool is_view(const Node* n) {
  return n && n->domain.empty() && n->outputs.size() == 1 &&
         (n->op_type == "Reshape" || n->op_type == "Flatten" || n->op_type == "Squeeze" || n->op_type == "Unsqueeze");
}

const Node* producer_if(const GraphIndex& idx, const std::string& v, const char* op) {
  const Node* p = idx.producer(v);
  return is_op(p, op) && p->outputs.size() == 1 ? p : nullptr;
}

// The logits behind the Less's input t: Sigmoid → views → [Tile → views]. Fills logits,
// repeats and the chain; checks the dims against `masked` [B·R, Q, K].
bool match_logits(const Graph& g, const GraphIndex& idx, const std::string& t, const Dims& masked, Match& m) {
  std::string v = t;
  const Node* tile = nullptr;
  std::optional<Dims> tile_in;
  for (;;) {
    const Node* p = idx.producer(v);
    if (is_view(p)) {
      m.chain.push_back(p);
      v = p->inputs[0];
    } else if (is_op(p, "Tile") && !tile && p->inputs.size() == 2) {
      tile = p;
      m.chain.push_back(p);
      v = p->inputs[0];
      tile_in = static_dims(g, v);
      const auto reps = constant_ints(g, *p, 1);
      if (!tile_in || !reps || tile_in->size() != 4 || *reps != std::vector<int64_t>{1, reps->at(1), 1, 1} || reps->at(1) < 1 ||
          (*tile_in)[1] != 1)
        return false;
      m.repeats = reps->at(1);
    } else if (is_op(p, "Sigmoid") && p->inputs.size() == 1) {
      m.chain.push_back(p);
      m.logits = p->inputs[0];
      break;
    } else {
      return false;
    }
  }
  const std::optional<Dims> x = static_dims(g, m.logits);
  const DType dt = g.value(m.logits).type.dtype;
  if (!x || x->size() < 3 || (dt != DType::kF32 && dt != DType::kF16)) return false;
  const int64_t B = (*x)[0], Q = (*x)[1];
  int64_t K = 1;
  for (size_t i = 2; i < x->size(); ++i) K *= (*x)[i];
  if (masked != Dims{B * m.repeats, Q, K}) return false;
  return !tile || *tile_in == Dims{B, 1, Q, K};
}

// The count of m's excluded keys compared with K: Cast → ReduceSum(last) → Equal(K) → Not →
// Unsqueeze(last) ending at u. Adds its nodes to the chain.
bool match_row_reset(const Graph& g, const GraphIndex& idx, const std::string& u, const std::string& m_value,
                     int64_t keys, Match& m) {
  const Node* unsq = producer_if(idx, u, "Unsqueeze");
  const Node* nt = unsq ? producer_if(idx, unsq->inputs[0], "Not") : nullptr;
  const Node* eq = nt ? producer_if(idx, nt->inputs[0], "Equal") : nullptr;
  if (!eq || eq->inputs.size() != 2) return false;
  const auto axes = axes_operand(g, *unsq);
  if (!axes || axes->size() != 1 || (axes->at(0) != -1 && axes->at(0) != 2)) return false;
  std::string count;
  for (size_t c : {size_t(1), size_t(0)}) {
    const auto v = scalar_constant(g, eq->inputs[c]);
    if (v && *v == double(keys)) count = eq->inputs[1 - c];
  }
  const Node* sum = count.empty() ? nullptr : producer_if(idx, count, "ReduceSum");
  const Node* cast = sum ? producer_if(idx, sum->inputs[0], "Cast") : nullptr;
  if (!cast || cast->inputs[0] != m_value || sum->attrs.get_int("keepdims", 1) != 0) return false;
  const auto sum_axes = axes_operand(g, *sum);
  if (!sum_axes || sum_axes->size() != 1 || (sum_axes->at(0) != -1 && sum_axes->at(0) != 2)) return false;
  const DType to = g.value(cast->outputs[0]).type.dtype;
  const bool exact = to == DType::kI64 || (to == DType::kI32 && keys <= INT32_MAX) ||
                     ((to == DType::kF32 || to == DType::kF64) && keys < (int64_t(1) << 24));
  if (!exact) return false;
  for (const Node* n : {cast, sum, eq, nt, unsq}) m.chain.push_back(n);
  return idx.used_only_by(cast->outputs[0], *sum) && idx.used_only_by(count, *eq) &&
         idx.used_only_by(eq->outputs[0], *nt) && idx.used_only_by(nt->outputs[0], *unsq);
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& keep) {
  if (!is_op(&keep, "Not") || keep.inputs.size() != 1 || keep.outputs.size() != 1) return std::nullopt;
  const Node* a = producer_if(idx, keep.inputs[0], "And");
  if (!a || a->inputs.size() != 2 || !idx.used_only_by(keep.inputs[0], keep)) return std::nullopt;
  const std::optional<Dims> masked = static_dims(g, keep.outputs[0]);
  if (!masked || masked->size() != 3) return std::nullopt;
  for (size_t side : {size_t(0), size_t(1)}) {
    const Node* less = producer_if(idx, a->inputs[side], "Less");
    if (!less || less->inputs.size() != 2) continue;
    const auto thr = scalar_constant(g, less->inputs[1]);
    if (!thr || !std::isfinite(*thr) || !dtype_is_float(g.value(less->inputs[1]).type.dtype)) continue;
    Match m;
    m.threshold = float(*thr);
    if (!match_row_reset(g, idx, a->inputs[1 - side], less->outputs[0], masked->back(), m)) continue;
    const size_t reset_nodes = m.chain.size();
    if (!match_logits(g, idx, less->inputs[0], *masked, m)) continue;
    // m is read by the Cast and the And alone; the logits' chain only by its next link.
    const Node* cast = m.chain[0];
    if (!idx.used_only_within(less->outputs[0], {cast, a})) continue;
    bool private_chain = idx.used_only_by(less->inputs[0], *less);
    for (size_t i = reset_nodes; i + 1 < m.chain.size(); ++i)  // each link's input from the next
      private_chain = private_chain && idx.used_only_by(m.chain[i]->inputs[0], *m.chain[i]);
    if (!private_chain) continue;
    m.chain.push_back(less);
    m.chain.push_back(a);
    m.chain.push_back(&keep);
    const auto& readers = idx.consumers(keep.outputs[0]);
    bool only_attention = !idx.is_graph_output(keep.outputs[0]) && !readers.empty();
    for (const Node* r : readers)
      only_attention = only_attention && is_kiln_op(r, "Attention") && r->inputs.size() == 4 &&
                       r->inputs[3] == keep.outputs[0] && r->inputs[0] != keep.outputs[0] &&
                       r->inputs[1] != keep.outputs[0] && r->inputs[2] != keep.outputs[0];
    m.broadcast_heads = only_attention && (*masked)[0] == m.repeats;  // B = 1
    return m;
  }
  return std::nullopt;
}

}  // namespace

int fuse_attention_keep_mask(Graph& g) {
  const auto matches = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  std::set<const Node*> removed, claimed;
  std::vector<Node> added;
  for (const Match& m : matches) {
    if (!claim_nodes(claimed, m.chain)) continue;
    const Node& keep = *m.chain.back();
    Node f = kiln_node(keep.name, attention::kAttentionKeepMaskOp, {m.logits}, keep.outputs[0]);
    f.attrs.set("repeats", m.broadcast_heads ? int64_t(1) : m.repeats);
    f.attrs.set("threshold", m.threshold);
    if (m.broadcast_heads) {
      Shape& s = *g.value(keep.outputs[0]).type.shape;
      s[0] = Dim(1);
    }
    removed.insert(m.chain.begin(), m.chain.end());
    added.push_back(std::move(f));
  }
  return replace_nodes(g, removed, std::move(added));
}

}  // namespace kiln
