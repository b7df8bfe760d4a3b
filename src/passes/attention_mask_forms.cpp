#include "passes/attention_mask_forms.h"

#include <cmath>

#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

// `out` has exactly the dims of `scores` (the mask did not broadcast the scores up), and `mask`
// broadcasts to them: rank no higher, each dim 1 or provably the scores'.
bool mask_fits(const Graph& g, const std::string& mask, const std::string& scores, const std::string& out) {
  const Shape *m = shape_of_value(g, mask), *s = shape_of_value(g, scores), *o = shape_of_value(g, out);
  if (!m || !s || !o || o->size() != s->size() || m->size() > s->size()) return false;
  for (size_t i = 0; i < s->size(); ++i)
    if (!same_dim((*o)[i], (*s)[i])) return false;
  const size_t off = s->size() - m->size();
  for (size_t i = 0; i < m->size(); ++i)
    if (!((*m)[i].known() && (*m)[i].value == 1) && !same_dim((*m)[i], (*s)[off + i])) return false;
  return true;
}

bool is_zero(const Graph& g, const std::string& v) {
  const auto x = uniform_constant(g, v);
  return x && *x == 0;
}

// b as a mask: true where the key takes part after negating when `masked_where_true`; a Not
// already in the graph is read through instead of negated again.
AttentionMask bool_mask(const GraphIndex& idx, const std::string& b, bool masked_where_true) {
  const Node* n = idx.producer(b);
  if (masked_where_true && is_op(n, "Not") && n->has_input(0)) return {n->inputs[0], false};
  return {b, masked_where_true};
}

bool is_bool(const Graph& g, const std::string& v) { return g.value(v).type.dtype == DType::kBool; }

}  // namespace

std::optional<AttentionMask> added_mask(const Graph& g, const GraphIndex& idx, const Node& sum,
                                        const std::string& scores) {
  if (!is_op(&sum, "Add") || sum.inputs.size() != 2 || sum.outputs.size() != 1) return std::nullopt;
  if (sum.inputs[0] != scores && sum.inputs[1] != scores) return std::nullopt;
  const std::string& m = sum.inputs[sum.inputs[0] == scores ? 1 : 0];
  if (m == scores || g.value(m).type.dtype != DType::kF32 || !mask_fits(g, m, scores, sum.outputs[0]))
    return std::nullopt;
  // Where(b, -inf, 0) [× c > 0]: -inf · c = -inf, 0 · c = 0, so b alone says it.
  const Node* n = idx.producer(m);
  if (is_op(n, "Mul") && n->inputs.size() == 2) {
    const size_t ci = g.is_constant(n->inputs[1]) ? 1 : 0;
    const std::optional<double> c = scalar_constant(g, n->inputs[ci]);
    n = c && std::isfinite(*c) && *c > 0 ? idx.producer(n->inputs[1 - ci]) : nullptr;
  }
  if (is_op(n, "Where") && n->inputs.size() == 3 && is_bool(g, n->inputs[0])) {
    if (is_minus_infinity(g, n->inputs[1]) && is_zero(g, n->inputs[2])) return bool_mask(idx, n->inputs[0], true);
    if (is_zero(g, n->inputs[1]) && is_minus_infinity(g, n->inputs[2])) return bool_mask(idx, n->inputs[0], false);
  }
  return AttentionMask{m, false};
}

std::optional<AttentionMask> filled_mask(const Graph& g, const GraphIndex& idx, const Node& fill, size_t scores_slot) {
  if (!is_op(&fill, "Where") || fill.inputs.size() != 3 || fill.outputs.size() != 1) return std::nullopt;
  if (scores_slot != 1 && scores_slot != 2) return std::nullopt;
  const std::string &b = fill.inputs[0], &scores = fill.inputs[scores_slot], &inf = fill.inputs[3 - scores_slot];
  if (!is_bool(g, b) || scores == inf || !is_minus_infinity(g, inf)) return std::nullopt;
  // The -inf constant and b must not broadcast the scores up either.
  if (!mask_fits(g, b, scores, fill.outputs[0]) || !mask_fits(g, inf, scores, fill.outputs[0])) return std::nullopt;
  return bool_mask(idx, b, scores_slot == 2);
}

}  // namespace kiln
