// fold_attention_transposes:
//
//   Xq [B,S,H,D] ──Transpose(0,2,1,3)─┐
//   Xk [B,S,H,D] ──Transpose(0,2,1,3)─┤
//   Xv [B,S,H,D] ──Transpose(0,2,1,3)─kiln.Attention ──▶ [B,H,S,D] ──Transpose(0,2,1,3)──▶ Y [B,S,H,D]
//   becomes
//   Xq, Xk, Xv ──kiln.Attention(seq_first = 1 1 1 1)──▶ Y
//
// Q may reach the node through a Mul by a one-element finite float constant s after its
// Transpose (AnchorDETR's self-attention scales the split queries: Q4 → Transpose → Mul(s)):
// s then joins the node's scale (scale · s, rounded to float once; the graph rounded Q·s instead,
// so exact for powers of two such as 1/√16) and the Mul goes with the Transpose.
//
// Each of the four is folded on its own: an input whose Transpose has another reader (or is a
// graph output) keeps it, as does an output read by anything but one such Transpose. Attention
// nodes with a seq_first attribute already, of another rank than 4, or with a mask are left as
// they are (the mask's axes are [B, H, Nq, Nk] either way; kept simple until a model needs it).
#include "passes/fold_attention_transposes.h"

#include <array>
#include <cmath>
#include <set>

#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

bool is_head_swap(const Graph& g, const Node* n) {
  if (!is_op(n, "Transpose") || n->inputs.size() != 1 || n->outputs.size() != 1 || !n->attrs.has("perm"))
    return false;
  const Shape* s = g.value(n->inputs[0]).type.shape ? &*g.value(n->inputs[0]).type.shape : nullptr;
  return s && s->size() == 4 && n->attrs.get_ints("perm") == std::vector<int64_t>{0, 2, 1, 3};
}

struct Fold {
  size_t attention = 0;                     // index in g.nodes
  std::array<const Node*, 3> inputs{};      // the Transposes read away (nullptr: kept)
  const Node* output = nullptr;             // the Transpose written through, or nullptr
  const Node* q_mul = nullptr;              // Q's scaling Mul between its Transpose and the node
  double q_scale = 1;
};

// Q = Mul(Transpose(0,2,1,3)(Q4), s) or Mul(s, ·), each read only by the next: the Mul (with s
// and the Transpose), else nullptr.
const Node* scaled_head_swap(const Graph& g, const GraphIndex& idx, const Node& a, double* s, const Node** swap) {
  const Shape& q = *g.value(a.inputs[0]).type.shape;
  if (!a.attrs.has("scale") && !q.back().known()) return nullptr;  // the default scale needs d
  const Node* mul = idx.producer(a.inputs[0]);
  if (!is_op(mul, "Mul") || mul->inputs.size() != 2 || mul->outputs.size() != 1 || !idx.used_only_by(a.inputs[0], a))
    return nullptr;
  for (size_t c : {size_t(1), size_t(0)}) {
    const auto v = scalar_constant(g, mul->inputs[c]);
    if (!v || !std::isfinite(*v) || !dtype_is_float(g.value(mul->inputs[c]).type.dtype)) continue;
    const std::string& x = mul->inputs[1 - c];
    const Node* t = idx.producer(x);
    if (!is_head_swap(g, t) || !idx.used_only_by(x, *mul) || !same_determined_type(g, a.inputs[0], x)) return nullptr;
    *s = *v;
    *swap = t;
    return mul;
  }
  return nullptr;
}

std::optional<Fold> match(const Graph& g, const GraphIndex& idx, const Node& a) {
  if (!is_kiln_op(&a, "Attention") || a.inputs.size() != 3 || a.outputs.size() != 1 || a.attrs.has("seq_first"))
    return std::nullopt;
  const ValueType& q = g.value(a.inputs[0]).type;
  if (!q.shape || q.shape->size() != 4) return std::nullopt;
  Fold f;
  f.attention = size_t(&a - g.nodes.data());
  bool any = false;
  for (size_t i = 0; i < 3; ++i) {
    const Node* t = idx.producer(a.inputs[i]);
    if (is_head_swap(g, t) && idx.used_only_by(a.inputs[i], a)) f.inputs[i] = t, any = true;
  }
  if (!f.inputs[0]) {
    f.q_mul = scaled_head_swap(g, idx, a, &f.q_scale, &f.inputs[0]);
    any = any || f.q_mul;
  }
  const Node* t = idx.sole_consumer(a.outputs[0]);
  if (is_head_swap(g, t)) f.output = t, any = true;
  if (!any) return std::nullopt;
  return f;
}

// The node's scale: its attribute, else attention's default 1/√d.
float attention_scale_of(const Node& a, int64_t d) {
  if (a.attrs.has("scale")) return a.attrs.get_float("scale");
  return d > 0 ? float(1.0 / std::sqrt(double(d))) : 1.f;
}

}  // namespace

int fold_attention_transposes(Graph& g) {
  const auto folds = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (folds.empty()) return 0;
  int folded = 0;
  std::set<const Node*> removed;
  std::vector<Node> added;
  for (const Fold& f : folds) {
    Node a = g.nodes[f.attention];
    std::vector<int64_t> flags(4, 0);
    for (size_t i = 0; i < 3; ++i)
      if (f.inputs[i]) a.inputs[i] = f.inputs[i]->inputs[0], flags[i] = 1, ++folded;
    if (f.output) {
      a.outputs[0] = f.output->outputs[0];
      flags[3] = 1;
      removed.insert(f.output);
      ++folded;
    }
    if (f.q_mul) {
      const int64_t d = g.value(a.inputs[0]).type.shape->back().value;
      removed.insert(f.q_mul);
      a.attrs.set("scale", float(double(attention_scale_of(a, d)) * f.q_scale));
    }
    a.attrs.set("seq_first", flags);
    removed.insert(&g.nodes[f.attention]);
    added.push_back(std::move(a));
  }
  replace_nodes(g, removed, std::move(added));  // the input Transposes are left unread: dropped
  return folded;
}

}  // namespace kiln
