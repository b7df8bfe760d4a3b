// fuse_attention: scaled dot-product attention as exported by PyTorch, into kiln.Attention.
//
//   X ──Transpose(p)──▶ Kt ─┐                  (or Kt a constant)
//   Q ──────────────────────MatMul─▶ S ─[Cast=]─▶ Mul|Div(c) ─[Cast=]─▶ Softmax(axis -1) ─[Cast=]─▶ P ─┐
//                                                  (optional)                                        MatMul─▶ Y
//   V ──────────────────────────────────────────────────────────────────────────────────────────────┘
//   becomes
//   X ──[Transpose(p with its last two entries swapped)]─▶ K ─┐   (no Transpose when that is
//   Q ─────────────────────────────────────────────────────kiln.Attention(scale)─▶ Y    the identity)
//   V ────────────────────────────────────────────────────────┘
//
// With a mask between the scale and the Softmax (attention_mask_forms.h: Mask2Former's masked
// cross-attention, Swin's relative position bias, masked_fill):
//   ... Mul|Div(c) ─[Cast=]─▶ Add(·, M) ─[Cast=]─▶ Softmax ...    (M on either side)
//   ... Mul|Div(c) ─[Cast=]─▶ Where(b, -inf, ·) ─[Cast=]─▶ Softmax ...
//   becomes kiln.Attention(Q, K, V, mask) with mask = M, b, or Not(b) where b is true for the
//   masked keys (one Not per b; a Not(x) already there is read through as x).
//
// [Cast=] is any number of Casts to the dtype they already have (HF SegFormer's export puts two
// after its Softmax). scale = c for Mul, 1/c for Div, 1 without either. SegFormer's export
// builds Kᵀ as one Transpose(perm 0,2,3,1) of [B, N, heads, d], so Kt's Transpose is composed
// with the swap of the last two axes rather than required to be that swap.
//
// Refused (the graph is left as is): Softmax before opset 13 (it flattened the trailing axes)
// or on another axis; a scale that is not a one-element constant of rank <= the scores' rank
// (a tensor of scales, or one that broadcasts the shape up) or is not finite; P feeding the
// second MatMul as its right operand; any intermediate (S, scaled S, P, the Casts) that has
// another consumer or is a graph output; Q, Kᵀ, V that are not float32 (the pass runs before
// fp16 conversion; integer MatMuls are not attention); unknown ranks, rank < 2, batch dims that
// are not provably equal (Attention does not broadcast); Kt neither a Transpose nor a constant;
// a mask that would broadcast the scores up, is not float32 (additive) or bool (Where), a Where
// fill that is not -inf everywhere, a mask added before the scale (it would be scaled too).
#include "passes/fuse_attention.h"

#include <cmath>
#include <map>
#include <set>

#include "ops/op.h"
#include "ops/tensor/tensor_util.h"
#include "passes/attention_mask_forms.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

bool is_f32(const Graph& g, const std::string& v) { return g.value(v).type.dtype == DType::kF32; }

// A Cast that leaves its input's dtype unchanged.
bool is_identity_cast(const Graph& g, const Node* n) {
  if (!is_op(n, "Cast") || !n->has_input(0) || !n->attrs.has("to")) return false;
  return n->attrs.get_int("to") == dtype_to_onnx(g.value(n->inputs[0]).type.dtype);
}

// Follows value → (identity Casts) forward to the node that finally reads it, every link used
// only by the next; *last is the value that node reads. nullptr when a link has another reader
// or is a graph output.
const Node* next_through_casts(const Graph& g, const GraphIndex& idx, const std::string& value, std::string* last) {
  *last = value;
  const Node* n = idx.sole_consumer(value);
  while (n && is_identity_cast(g, n)) {
    *last = n->outputs[0];
    n = idx.sole_consumer(*last);
  }
  return n;
}

// Follows value backwards through identity Casts whose outputs are used only by the next node.
// Returns the value's origin and sets *reader to the node reading that origin.
std::string back_through_casts(const Graph& g, const GraphIndex& idx, const std::string& value, const Node* reader,
                               bool* ok) {
  std::string v = value;
  for (const Node* p = idx.producer(v); p && is_identity_cast(g, p); p = idx.producer(v)) {
    if (!idx.used_only_by(v, *reader)) {
      *ok = false;
      return v;
    }
    reader = p;
    v = p->inputs[0];
  }
  *ok = idx.used_only_by(v, *reader);
  return v;
}

struct AttentionMatch {
  size_t pv_index = 0;         // the second MatMul in g.nodes: Y gets a new producer
  std::string q, v, y, pv_name;
  std::string k_source;        // X of Kt = Transpose(X), or Kt itself when constant
  std::vector<int> k_perm;     // K = Transpose(k_source, k_perm); empty: K = k_source
  bool k_constant = false;
  double scale = 1.0;
  AttentionMask mask;          // value empty: none
};

// Kt's origin as K: Transpose(X, p) gives K = Transpose(X, p with the last two swapped); a
// constant gives K = its transpose over the last two axes.
bool match_key(const Graph& g, const GraphIndex& idx, const std::string& kt, int rank, AttentionMatch* m) {
  const Node* t = idx.producer(kt);
  if (g.is_constant(kt)) {
    m->k_source = kt;
    m->k_constant = true;
    for (int i = 0; i < rank; ++i) m->k_perm.push_back(i);
    std::swap(m->k_perm[size_t(rank - 2)], m->k_perm[size_t(rank - 1)]);
    return true;
  }
  if (!is_op(t, "Transpose") || !t->has_input(0)) return false;
  std::vector<int64_t> p;
  if (t->attrs.has("perm")) p = t->attrs.get_ints("perm");
  else
    for (int i = rank - 1; i >= 0; --i) p.push_back(i);
  if (int(p.size()) != rank) return false;
  std::vector<bool> seen(size_t(rank), false);
  for (int64_t a : p) {
    if (a < 0 || a >= rank || seen[size_t(a)]) return false;
    seen[size_t(a)] = true;
  }
  std::swap(p[size_t(rank - 2)], p[size_t(rank - 1)]);
  bool identity = true;
  for (int i = 0; i < rank; ++i) identity = identity && p[size_t(i)] == i;
  m->k_source = t->inputs[0];
  if (!identity)
    for (int64_t a : p) m->k_perm.push_back(int(a));
  return true;
}

// Backwards from `value` (read by `reader`): [Casts] ← Mul/Div(c) ← [Casts] ← MatMul(Q, Kt).
// Sets the match's scale; returns the MatMul, or nullptr.
const Node* match_scores(const Graph& g, const GraphIndex& idx, const std::string& value, const Node* reader,
                         int rank, AttentionMatch* m) {
  bool ok = false;
  std::string v = back_through_casts(g, idx, value, reader, &ok);
  if (!ok) return nullptr;
  const Node* n = idx.producer(v);
  m->scale = 1.0;
  if (is_op(n, "Mul") || is_op(n, "Div")) {
    if (n->inputs.size() != 2) return nullptr;
    const bool div = n->op_type == "Div";
    // Mul takes the constant on either side; Div only as the divisor.
    const int ci = div ? 1 : g.is_constant(n->inputs[1]) ? 1 : 0;
    const std::string& c = n->inputs[size_t(ci)];
    std::optional<double> s = scalar_constant(g, c);
    if (!s || !dtype_is_float(g.value(c).type.dtype) || g.value(c).constant->rank() > rank) return nullptr;
    m->scale = div ? 1.0 / *s : *s;
    if (!std::isfinite(m->scale)) return nullptr;
    v = back_through_casts(g, idx, n->inputs[size_t(1 - ci)], n, &ok);
    if (!ok) return nullptr;
    n = idx.producer(v);
  }
  return is_op(n, "MatMul") && n->inputs.size() == 2 ? n : nullptr;
}

// The scores' MatMul behind the Softmax input, with the mask between them if there is one:
// an Add of the scores and a mask (either operand order), or a Where filling -inf into them.
const Node* match_masked_scores(const Graph& g, const GraphIndex& idx, const Node& softmax, int rank,
                                AttentionMatch* m) {
  bool ok = false;
  const std::string v = back_through_casts(g, idx, softmax.inputs[0], &softmax, &ok);
  const Node* n = ok ? idx.producer(v) : nullptr;
  if (is_op(n, "Add") || is_op(n, "Where")) {
    const bool add = n->op_type == "Add";
    for (size_t slot : add ? std::vector<size_t>{0, 1} : std::vector<size_t>{1, 2}) {
      if (slot >= n->inputs.size()) break;
      const std::string& scores = n->inputs[slot];
      const std::optional<AttentionMask> mask =
          add ? added_mask(g, idx, *n, scores) : filled_mask(g, idx, *n, slot);
      if (!mask) continue;
      if (const Node* qk = match_scores(g, idx, scores, n, rank, m)) {
        m->mask = *mask;
        return qk;
      }
    }
    return nullptr;
  }
  return match_scores(g, idx, softmax.inputs[0], &softmax, rank, m);
}

std::optional<AttentionMatch> match(const Graph& g, const GraphIndex& idx, const Node& softmax) {
  if (!is_op(&softmax, "Softmax") || softmax.opset < 13 || !softmax.has_input(0)) return std::nullopt;
  const std::string& s_scaled = softmax.inputs[0];
  const Shape* ss = shape_of_value(g, s_scaled);
  if (!ss || ss->size() < 2 || !is_f32(g, s_scaled)) return std::nullopt;
  const int rank = int(ss->size());
  const int64_t axis = softmax.attrs.get_int("axis", -1);
  if (axis != -1 && axis != rank - 1) return std::nullopt;

  AttentionMatch m;
  const Node* n = match_masked_scores(g, idx, softmax, rank, &m);
  if (!n) return std::nullopt;
  const Node& qk = *n;
  m.q = qk.inputs[0];
  const std::string& kt = qk.inputs[1];

  // Forwards: Softmax → [Casts] → MatMul(P, V).
  std::string p;
  const Node* pv = next_through_casts(g, idx, softmax.outputs[0], &p);
  if (!is_op(pv, "MatMul") || pv->inputs.size() != 2 || pv->outputs.size() != 1) return std::nullopt;
  if (pv->inputs[0] != p || pv->inputs[1] == p) return std::nullopt;  // V·P is not attention
  m.pv_index = size_t(pv - g.nodes.data());
  m.v = pv->inputs[1];
  m.y = pv->outputs[0];
  m.pv_name = pv->name;

  // Shapes: Q [..., Nq, d], Kt [..., d, Nk], V [..., Nk, dv], one batch shape, all float32.
  for (const std::string* x : std::initializer_list<const std::string*>{&m.q, &kt, &m.v})
    if (!is_f32(g, *x)) return std::nullopt;
  const Shape *q = shape_of_value(g, m.q), *k = shape_of_value(g, kt), *vs = shape_of_value(g, m.v);
  if (!q || !k || !vs || int(q->size()) != rank || int(k->size()) != rank || int(vs->size()) != rank)
    return std::nullopt;
  for (int i = 0; i < rank - 2; ++i)
    if (!same_dim((*q)[size_t(i)], (*k)[size_t(i)]) || !same_dim((*q)[size_t(i)], (*vs)[size_t(i)]))
      return std::nullopt;
  if (!same_dim((*q)[size_t(rank - 1)], (*k)[size_t(rank - 2)]) ||
      !same_dim((*k)[size_t(rank - 1)], (*vs)[size_t(rank - 2)]))
    return std::nullopt;
  if (!match_key(g, idx, kt, rank, &m)) return std::nullopt;
  return m;
}

// K for the match: the source itself, a pre-transposed constant, or a new Transpose node.
std::string make_key(Graph& g, const AttentionMatch& m, std::vector<Node>& added) {
  if (m.k_perm.empty()) return m.k_source;
  const Value& src = g.value(m.k_source);
  ValueType type{src.type.dtype, std::nullopt};
  if (src.type.shape) {
    Shape s;
    for (int a : m.k_perm) s.push_back((*src.type.shape)[size_t(a)]);
    type.shape = s;
  }
  std::optional<Tensor> data;
  if (m.k_constant) data = tensor_ops::permute(*src.constant, m.k_perm);
  const std::string name = add_value(g, m.y + "/kiln_k", type, std::move(data));
  if (!m.k_constant) {
    Node t = onnx_node(g, name, "Transpose", {m.k_source}, name);
    t.attrs.set("perm", std::vector<int64_t>(m.k_perm.begin(), m.k_perm.end()));
    added.push_back(std::move(t));
  }
  return name;
}

// kiln.Attention's mask input: the matched value, or a Not of it (one per value, shared by the
// attention blocks that read the same mask).
std::string make_mask(Graph& g, const AttentionMask& mask, std::map<std::string, std::string>& negated,
                      std::vector<Node>& added) {
  if (!mask.negate) return mask.value;
  if (auto it = negated.find(mask.value); it != negated.end()) return it->second;
  const std::string name = add_value(g, mask.value + "/kiln_keep", g.value(mask.value).type);
  added.push_back(onnx_node(g, name, "Not", {mask.value}, name));
  return negated[mask.value] = name;
}

}  // namespace

int fuse_attention(Graph& g) {
  const auto matches = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (matches.empty()) return 0;
  std::set<size_t> replaced;  // the second MatMuls: their outputs get a new producer
  std::vector<Node> added;
  std::map<std::string, std::string> negated;
  for (const AttentionMatch& m : matches) {
    replaced.insert(m.pv_index);
    Node a;
    a.name = m.pv_name;
    a.op_type = "Attention";
    a.domain = kKilnDomain;
    a.opset = 1;
    a.inputs = {m.q, make_key(g, m, added), m.v};
    if (!m.mask.value.empty()) a.inputs.push_back(make_mask(g, m.mask, negated, added));
    a.outputs = {m.y};
    a.attrs.set("scale", float(m.scale));
    added.push_back(std::move(a));
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!replaced.count(i)) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  for (Node& n : added) g.nodes.push_back(std::move(n));
  g.opsets.emplace(kKilnDomain, 1);
  finish_rewrite(g);
  return int(matches.size());
}

}  // namespace kiln
