#include "passes/fuse_head_scores.h"

#include <cmath>
#include <optional>
#include <set>

#include "ops/attention/head_scores.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  std::vector<const Node*> chain;  // replaced, MatMul last
  std::string q, k;
  float scale = 1.f;
};

const Node* transpose_with(const GraphIndex& idx, const std::string& v, std::vector<int64_t> perm) {
  const Node* t = idx.producer(v);
  if (!is_op(t, "Transpose") || t->inputs.size() != 1 || t->outputs.size() != 1) return nullptr;
  return t->attrs.get_ints("perm", {}) == perm ? t : nullptr;
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& mm) {
  if (!is_op(&mm, "MatMul") || mm.inputs.size() != 2 || mm.outputs.size() != 1) return std::nullopt;
  Match m;
  std::string q_side = mm.inputs[0];
  const Node* mul = idx.producer(q_side);
  if (is_op(mul, "Mul") && mul->inputs.size() == 2 && mul->outputs.size() == 1) {
    const int s = scalar_constant(g, mul->inputs[1]) ? 1 : scalar_constant(g, mul->inputs[0]) ? 0 : -1;
    if (s < 0) return std::nullopt;
    const std::string& c = mul->inputs[size_t(s)];
    const double v = *scalar_constant(g, c);
    if (!dtype_is_float(g.value(c).type.dtype) || !std::isfinite(v)) return std::nullopt;
    m.scale = float(v);
    q_side = mul->inputs[size_t(1 - s)];
    if (!same_determined_type(g, mul->outputs[0], q_side)) return std::nullopt;  // the scalar broadcasts, not Q
    m.chain.push_back(mul);
  }
  const Node* tq = transpose_with(idx, q_side, {0, 2, 1, 3});
  const Node* tk = transpose_with(idx, mm.inputs[1], {0, 2, 3, 1});
  if (!tq || !tk) return std::nullopt;
  m.q = tq->inputs[0], m.k = tk->inputs[0];
  const Shape *q = shape_of_value(g, m.q), *k = shape_of_value(g, m.k);
  if (!q || !k || q->size() != 4 || k->size() != 4) return std::nullopt;
  for (int i : {0, 2, 3})
    if (!same_dim((*q)[size_t(i)], (*k)[size_t(i)])) return std::nullopt;
  const DType dt = g.value(m.q).type.dtype;
  if ((dt != DType::kF32 && dt != DType::kF16) || g.value(m.k).type.dtype != dt) return std::nullopt;
  if (g.value(mm.outputs[0]).type.dtype != dt) return std::nullopt;
  m.chain.insert(m.chain.begin(), {tq, tk});
  m.chain.push_back(&mm);
  for (const Node* n : m.chain)
    if (n != &mm && !idx.used_only_within(n->outputs[0], m.chain)) return std::nullopt;
  return m;
}

}  // namespace

int fuse_head_scores(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::set<const Node*> replaced;
  std::vector<Node> fused;
  for (const Match& m : found) {
    const Node& mm = *m.chain.back();
    Node n = kiln_node(mm.name, attention::kHeadScoresOp, {m.q, m.k}, mm.outputs[0]);
    n.attrs.set("scale", m.scale);
    replaced.insert(m.chain.begin(), m.chain.end());
    fused.push_back(std::move(n));
  }
  return replace_nodes(g, replaced, std::move(fused));
}

}  // namespace kiln
