#include "passes/fuse_mask_position_embedding.h"

#include <cmath>
#include <optional>
#include <set>

#include "ops/op.h"
#include "ops/spatial/mask_position_embedding.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  std::vector<const Node*> chain;  // replaced, Reshape last
  std::string mask;
  int64_t axis = 1;
  float offset = 0.f, scale = 1.f;
  std::vector<float> divisors;
};

bool is_float32(const Graph& g, const std::string& v) { return g.has_value(v) && g.value(v).type.dtype == DType::kF32; }

// The one axis of an Unsqueeze (input from opset 13, attribute before).
std::optional<int64_t> unsqueeze_axis(const Graph& g, const Node* n) {
  if (!is_op(n, "Unsqueeze") || n->outputs.size() != 1) return std::nullopt;
  const auto axes = axes_operand(g, *n);
  if (!axes || axes->size() != 1) return std::nullopt;
  return axes->at(0);
}

// A float32 one-element constant operand of a two-input node: its value, and the other operand.
std::optional<std::pair<float, std::string>> scalar_operand(const Graph& g, const Node* n, bool either_side) {
  if (!n || n->inputs.size() != 2) return std::nullopt;
  for (int side : {1, 0}) {
    if (side == 0 && !either_side) break;
    const std::string& c = n->inputs[size_t(side)];
    if (!is_float32(g, c)) continue;
    if (auto v = scalar_constant(g, c); v && std::isfinite(*v)) return std::make_pair(float(*v), n->inputs[size_t(1 - side)]);
  }
  return std::nullopt;
}

const Node* sole_input_op(const GraphIndex& idx, const std::string& v, const char* op) {
  const Node* p = idx.producer(v);
  return is_op(p, op) && p->outputs.size() == 1 ? p : nullptr;
}

// c = CumSum(Gather(Cast(Not(mask)), 0, axis)) along the positions; fills mask and axis.
bool match_counts(const Graph& g, const GraphIndex& idx, const std::string& c, Match& m) {
  const Node* cumsum = sole_input_op(idx, c, "CumSum");
  if (!cumsum || cumsum->inputs.size() != 2 || cumsum->attrs.get_int("exclusive", 0) != 0 ||
      cumsum->attrs.get_int("reverse", 0) != 0)
    return false;
  const auto cum_axis = scalar_constant(g, cumsum->inputs[1]);
  if (!cum_axis || (*cum_axis != 1 && *cum_axis != -1)) return false;
  const Node* gather = sole_input_op(idx, cumsum->inputs[0], "Gather");
  if (!gather || gather->inputs.size() != 2 || !g.is_constant(gather->inputs[1])) return false;
  const Tensor& index = *g.value(gather->inputs[1]).constant;
  if (index.rank() != 0 || index.at_double(0) != 0) return false;  // a scalar index drops the axis
  const int64_t gaxis = gather->attrs.get_int("axis", 0);
  if (gaxis != 1 && gaxis != 2) return false;
  const Node* cast = sole_input_op(idx, gather->inputs[0], "Cast");
  if (!cast || cast->attrs.get_int("to", 0) != int64_t(dtype_to_onnx(DType::kF32))) return false;
  const Node* inv = sole_input_op(idx, cast->inputs[0], "Not");
  if (!inv) return false;
  const Shape* ms = shape_of_value(g, inv->inputs[0]);
  if (!ms || ms->size() != 3 || g.value(inv->inputs[0]).type.dtype != DType::kBool) return false;
  if (!idx.used_only_by(gather->outputs[0], *cumsum)) return false;
  m.mask = inv->inputs[0];
  m.axis = gaxis == 2 ? 1 : 2;  // the first column gives positions down the rows
  m.chain.push_back(gather);
  m.chain.push_back(cumsum);
  return true;
}

// p = Mul(Div(Sub(c, offset), Slice(c, -1:, axis 1)), scale).
bool match_positions(const Graph& g, const GraphIndex& idx, const std::string& p, Match& m) {
  const Node* mul = sole_input_op(idx, p, "Mul");
  const auto scale = scalar_operand(g, mul, true);
  if (!scale) return false;
  const Node* div = sole_input_op(idx, scale->second, "Div");
  if (!div || div->inputs.size() != 2) return false;
  const Node* sub = sole_input_op(idx, div->inputs[0], "Sub");
  const auto offset = scalar_operand(g, sub, false);
  if (!offset) return false;
  const std::string& c = offset->second;
  const Shape* cs = shape_of_value(g, c);
  if (!cs || cs->size() != 2 || !is_float32(g, c)) return false;
  const Dim& n = (*cs)[1];
  m.offset = offset->first;
  m.scale = scale->first;
  // One position: eliminate_noops has removed the Slice, which returned all of c.
  if (div->inputs[1] == c && n.known() && n.value == 1) {
    if (!match_counts(g, idx, c, m)) return false;
    m.chain.insert(m.chain.end(), {sub, div, mul});
    return true;
  }
  const Node* slice = sole_input_op(idx, div->inputs[1], "Slice");
  if (!slice || slice->inputs[0] != c) return false;
  const auto starts = constant_ints(g, *slice, 1), ends = constant_ints(g, *slice, 2);
  // Without axes a Slice cuts axis 0 (ONNX's default), not the count axis.
  const auto axes = slice->has_input(3) ? constant_ints(g, *slice, 3) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{0});
  const auto steps = slice->has_input(4) ? constant_ints(g, *slice, 4) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{1});
  if (!starts || !ends || !axes || !steps || starts->size() != 1 || ends->size() != 1 || axes->size() != 1 ||
      steps->size() != 1)
    return false;
  const bool to_end = (*ends)[0] >= (int64_t(1) << 31) || (n.known() && (*ends)[0] >= n.value);
  if ((*starts)[0] != -1 || !to_end || ((*axes)[0] != 1 && (*axes)[0] != -1) || (*steps)[0] != 1) return false;
  if (!match_counts(g, idx, c, m)) return false;
  m.chain.insert(m.chain.end(), {sub, slice, div, mul});
  return true;
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& reshape) {
  if (!is_op(&reshape, "Reshape") || reshape.inputs.size() != 2 || reshape.outputs.size() != 1) return std::nullopt;
  const Node* concat = sole_input_op(idx, reshape.inputs[0], "Concat");
  if (!concat || concat->inputs.size() != 2) return std::nullopt;
  const auto cdims = shape_of_value(g, concat->outputs[0]);
  const auto ydims = shape_of_value(g, reshape.outputs[0]);
  if (!cdims || !ydims || cdims->size() != 4 || ydims->size() != 3) return std::nullopt;
  const int64_t cat_axis = concat->attrs.get_int("axis", 0);
  if (cat_axis != -1 && cat_axis != 3) return std::nullopt;
  const Node* us = idx.producer(concat->inputs[0]);
  const Node* uc = idx.producer(concat->inputs[1]);
  const auto as = unsqueeze_axis(g, us), ac = unsqueeze_axis(g, uc);
  if (!as || !ac || (*as != -1 && *as != 3) || (*ac != -1 && *ac != 3)) return std::nullopt;
  const Node* sin = sole_input_op(idx, us->inputs[0], "Sin");
  const Node* cos = sole_input_op(idx, uc->inputs[0], "Cos");
  if (!sin || !cos || sin->inputs[0] != cos->inputs[0]) return std::nullopt;  // sin first, one argument
  const Node* div = sole_input_op(idx, sin->inputs[0], "Div");
  if (!div || div->inputs.size() != 2 || !g.is_constant(div->inputs[1]) || !is_float32(g, div->inputs[1]))
    return std::nullopt;
  const Tensor& dt = *g.value(div->inputs[1]).constant;
  const Shape* as_shape = shape_of_value(g, div->outputs[0]);
  if (dt.rank() != 1 || dt.numel() < 1 || !as_shape || as_shape->size() != 3) return std::nullopt;
  Match m;
  for (int64_t k = 0; k < dt.numel(); ++k) {
    const double v = dt.at_double(k);
    if (!std::isfinite(v) || v == 0) return std::nullopt;
    m.divisors.push_back(float(v));
  }
  const int64_t K = dt.numel();
  const Node* unsq = idx.producer(div->inputs[0]);
  const auto au = unsqueeze_axis(g, unsq);
  if (!au || (*au != -1 && *au != 2)) return std::nullopt;
  // [B, n, K, 2] → [B, n, 2K]: B and n kept, (K, 2) merged.
  const Shape &c = *cdims, &y = *ydims;
  if (!c[2].known() || c[2].value != K || !c[3].known() || c[3].value != 2 || !y[2].known() || y[2].value != 2 * K ||
      !same_dim(c[0], y[0]) || !same_dim(c[1], y[1]))
    return std::nullopt;
  if (!is_float32(g, reshape.outputs[0])) return std::nullopt;
  if (!match_positions(g, idx, unsq->inputs[0], m)) return std::nullopt;
  m.chain.insert(m.chain.end(), {unsq, div, sin, cos, us, uc, concat, &reshape});
  // Everything after the Gather is read only inside the chain (the Reshape's output excepted).
  for (const Node* n : m.chain)
    if (n != &reshape && !idx.used_only_within(n->outputs[0], m.chain)) return std::nullopt;
  return m;
}

}  // namespace

int fuse_mask_position_embedding(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::set<const Node*> replaced;
  std::vector<Node> fused;
  for (const Match& m : found) {
    const Node& reshape = *m.chain.back();
    Node n = kiln_node(reshape.name, spatial::kMaskPositionEmbeddingOp, {m.mask}, reshape.outputs[0]);
    n.attrs.set("axis", m.axis);
    n.attrs.set("offset", m.offset);
    n.attrs.set("scale", m.scale);
    n.attrs.set("divisors", m.divisors);
    replaced.insert(m.chain.begin(), m.chain.end());
    fused.push_back(std::move(n));
  }
  return replace_nodes(g, replaced, std::move(fused));
}

}  // namespace kiln
