// fold_attention_transposes:
//
//   Xq [B,S,H,D] ──Transpose(0,2,1,3)─┐
//   Xk [B,S,H,D] ──Transpose(0,2,1,3)─┤
//   Xv [B,S,H,D] ──Transpose(0,2,1,3)─kiln.Attention ──▶ [B,H,S,D] ──Transpose(0,2,1,3)──▶ Y [B,S,H,D]
//   becomes
//   Xq, Xk, Xv ──kiln.Attention(seq_first = 1 1 1 1)──▶ Y
//
// Rank 3 as nn.MultiheadAttention exports it (Mask2Former's decoder): the heads split as
// Transpose(1,0,2) of [S, N, D] (N = batch · heads) and merged back the same way. These are the
// rank-4 form with B = 1, so the node reads Unsqueeze(0) of its inputs — a free view — with the
// same seq_first flags, and a Squeeze(0) gives back the rank-3 output.
//
// Q may reach the node through a Mul by a one-element finite float constant s after its
// Transpose (AnchorDETR's self-attention and nn.MultiheadAttention scale the split queries:
// Q → Transpose → Mul(s)): s then joins the node's scale (scale · s, rounded to float once; the
// graph rounded Q·s instead, so exact for powers of two such as 1/√16) and the Mul goes with the
// Transpose.
//
// Each of the four is folded on its own: an input whose Transpose has another reader (or is a
// graph output) keeps it, as does an output read by anything but one such Transpose. A mask
// needs nothing: its axes are the scores' [B, H, Nq, Nk] whatever the flags (a rank-3 mask
// broadcasts to the rank-4 scores as it did to the rank-3 ones). Nodes with a seq_first
// attribute already, or of a rank other than 3 and 4, are left as they are.
#include "passes/fold_attention_transposes.h"

#include <array>
#include <cmath>
#include <set>

#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

// The head split or merge of a rank-`rank` tensor: perm (0,2,1,3) at rank 4, (1,0,2) at rank 3.
bool is_head_swap(const Graph& g, const Node* n, size_t rank) {
  if (!is_op(n, "Transpose") || n->inputs.size() != 1 || n->outputs.size() != 1 || !n->attrs.has("perm"))
    return false;
  const Shape* s = shape_of_value(g, n->inputs[0]);
  if (!s || s->size() != rank) return false;
  const std::vector<int64_t> perm = n->attrs.get_ints("perm");
  return rank == 4 ? perm == std::vector<int64_t>{0, 2, 1, 3} : perm == std::vector<int64_t>{1, 0, 2};
}

struct Fold {
  size_t attention = 0;                     // index in g.nodes
  size_t rank = 4;
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
    if (!is_head_swap(g, t, q.size()) || !idx.used_only_by(x, *mul) || !same_determined_type(g, a.inputs[0], x)) return nullptr;
    *s = *v;
    *swap = t;
    return mul;
  }
  return nullptr;
}

std::optional<Fold> match(const Graph& g, const GraphIndex& idx, const Node& a) {
  if (!is_kiln_op(&a, "Attention") || a.inputs.size() < 3 || a.inputs.size() > 4 || a.outputs.size() != 1 ||
      a.attrs.has("seq_first"))
    return std::nullopt;
  Fold f;
  f.attention = size_t(&a - g.nodes.data());
  for (size_t i = 0; i < 3; ++i) {
    const Shape* s = shape_of_value(g, a.inputs[i]);
    if (!s || (s->size() != 4 && s->size() != 3) || (i > 0 && s->size() != f.rank)) return std::nullopt;
    f.rank = s->size();
  }
  if (!shape_of_value(g, a.outputs[0])) return std::nullopt;
  bool any = false;
  for (size_t i = 0; i < 3; ++i) {
    const Node* t = idx.producer(a.inputs[i]);
    if (is_head_swap(g, t, f.rank) && idx.used_only_by(a.inputs[i], a)) f.inputs[i] = t, any = true;
  }
  if (!f.inputs[0]) {
    f.q_mul = scaled_head_swap(g, idx, a, &f.q_scale, &f.inputs[0]);
    any = any || f.q_mul;
  }
  const Node* t = idx.sole_consumer(a.outputs[0]);
  if (is_head_swap(g, t, f.rank)) f.output = t, any = true;
  if (!any) return std::nullopt;
  return f;
}

// The node's scale: its attribute, else attention's default 1/√d.
float attention_scale_of(const Node& a, int64_t d) {
  if (a.attrs.has("scale")) return a.attrs.get_float("scale");
  return d > 0 ? float(1.0 / std::sqrt(double(d))) : 1.f;
}

// A new value of `value`'s type with a leading dim 1 (its shape is known: match checked).
std::string add_4d_value(Graph& g, const std::string& value) {
  ValueType t = g.value(value).type;
  Shape s = t.shape.value_or(Shape{});
  s.insert(s.begin(), Dim(1));
  t.shape = std::move(s);
  return add_value(g, value + "/kiln_4d", t);
}

// Rank 3: `value` [d0, d1, d2] as [1, d0, d1, d2] through an Unsqueeze(0) (a view).
std::string unsqueezed(Graph& g, const std::string& value, const std::string& name, std::vector<Node>& added) {
  const std::string out = add_4d_value(g, value);
  added.push_back(onnx_node(g, name, "Unsqueeze", {value}, out));
  if (g.opsets[""] >= 13) added.back().inputs.push_back(add_constant(g, name + "/axes", Tensor::from_vector<int64_t>({1}, {0})));
  else added.back().attrs.set("axes", std::vector<int64_t>{0});
  return out;
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
    if (f.rank == 3) {
      for (size_t i = 0; i < 3; ++i) a.inputs[i] = unsqueezed(g, a.inputs[i], a.name + "/kiln_unsqueeze_" + "qkv"[i], added);
      // The rank-4 output, squeezed back into the value the graph reads.
      const std::string out4 = add_4d_value(g, a.outputs[0]);
      Node sq = onnx_node(g, a.name + "/kiln_squeeze", "Squeeze", {out4}, a.outputs[0]);
      if (g.opsets[""] >= 13) sq.inputs.push_back(add_constant(g, a.name + "/kiln_squeeze/axes", Tensor::from_vector<int64_t>({1}, {0})));
      else sq.attrs.set("axes", std::vector<int64_t>{0});
      a.outputs[0] = out4;
      added.push_back(std::move(sq));
    }
    removed.insert(&g.nodes[f.attention]);
    added.push_back(std::move(a));
  }
  replace_nodes(g, removed, std::move(added));  // the input Transposes are left unread: dropped
  return folded;
}

}  // namespace kiln
