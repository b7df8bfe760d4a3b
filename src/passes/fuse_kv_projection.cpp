#include "passes/fuse_kv_projection.h"

#include <cstring>
#include <optional>
#include <set>

#include "passes/pattern.h"

namespace kiln {
namespace {

// One of K and V: the projection and the head split behind it.
struct Projection {
  const Node* gemm;
  const Node* reshape;
};

struct Match {
  const Node* attention;
  Projection k, v;
  int64_t heads, width;  // H and D of each
};

// A FusedMatMul that is only A·W + bias, with W [C, N] and bias [N] constant.
bool plain_projection(const Graph& g, const Node* n) {
  if (!is_kiln_op(n, "FusedMatMul") || n->outputs.size() != 1 || n->inputs.size() < 3 || n->has_input(3))
    return false;
  for (const auto& attr : n->attrs.all())
    if (attr.first != "activation" || n->attrs.get_string("activation") != "none") return false;
  if (!n->has_input(0) || !g.is_constant(n->inputs[1]) || !g.is_constant(n->inputs[2])) return false;
  const Tensor &w = *g.value(n->inputs[1]).constant, &b = *g.value(n->inputs[2]).constant;
  return w.rank() == 2 && b.rank() == 1 && b.dim(0) == w.dim(1);
}

// Input `slot` (K or V) of the attention as the head split [B, Nk, H, D] of a plain projection's
// [B, Nk, H·D], every link read only by the next.
std::optional<Projection> projection_of(const Graph& g, const GraphIndex& idx, const Node& a, size_t slot) {
  const std::string& x = a.inputs[slot];
  const Node* reshape = idx.producer(x);
  if (!is_op(reshape, "Reshape") || reshape->inputs.size() != 2 || !idx.used_only_by(x, a)) return std::nullopt;
  const Node* gemm = idx.producer(reshape->inputs[0]);
  if (!plain_projection(g, gemm) || !idx.used_only_by(reshape->inputs[0], *reshape)) return std::nullopt;
  return Projection{gemm, reshape};
}

// H and D when the Reshape splits the GEMM's [B, Nk, N] into [B, Nk, H, D] with H·D = N (a
// seq_first input), or into [B, 1, Nk, N] (a plain [B, H, S, D] input with one head, the same
// bytes: eliminate_noops merges a one-head split and its Transpose into that Reshape).
std::optional<std::pair<int64_t, int64_t>> head_split(const Graph& g, const Projection& p, bool seq_first) {
  const Shape *y = shape_of_value(g, p.gemm->outputs[0]), *k = shape_of_value(g, p.reshape->outputs[0]);
  if (!y || !k || y->size() != 3 || k->size() != 4) return std::nullopt;
  const int64_t n = g.value(p.gemm->inputs[1]).constant->dim(1);
  if (!(*y)[2].known() || (*y)[2].value != n || !same_dim((*y)[0], (*k)[0])) return std::nullopt;
  if (!seq_first) {
    if ((*k)[1] != Dim(1) || !same_dim((*y)[1], (*k)[2]) || (*k)[3] != Dim(n)) return std::nullopt;
    return std::pair<int64_t, int64_t>{1, n};
  }
  if (!same_dim((*y)[1], (*k)[1]) || !(*k)[2].known() || !(*k)[3].known()) return std::nullopt;
  const int64_t h = (*k)[2].value, d = (*k)[3].value;
  if (h <= 0 || d <= 0 || h * d != n) return std::nullopt;
  return std::pair{h, d};
}

bool same_type(const Graph& g, const std::string& a, const std::string& b) {
  const Value &va = g.value(a), &vb = g.value(b);
  return va.type.dtype == vb.type.dtype && (va.constant ? va.constant->dims() : Dims{}) ==
                                               (vb.constant ? vb.constant->dims() : Dims{});
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& a) {
  if (!is_kiln_op(&a, "Attention") || a.outputs.size() != 1 || a.inputs.size() < 3 || a.inputs.size() > 4 ||
      !a.has_input(1) || !a.has_input(2) || a.inputs[1] == a.inputs[2] || a.attrs.get_int("packed_kv", 0) != 0)
    return std::nullopt;
  std::vector<int64_t> flags = a.attrs.get_ints("seq_first", {});
  if (flags.empty()) flags.assign(4, 0);
  if (flags.size() != 4) return std::nullopt;
  const auto k = projection_of(g, idx, a, 1), v = projection_of(g, idx, a, 2);
  if (!k || !v || k->gemm->inputs[0] != v->gemm->inputs[0]) return std::nullopt;
  for (size_t i : {1, 2})  // W [C, N] and bias [N]: one shape and dtype
    if (!same_type(g, k->gemm->inputs[i], v->gemm->inputs[i])) return std::nullopt;
  if (g.value(k->gemm->outputs[0]).type.dtype != g.value(v->gemm->outputs[0]).type.dtype ||
      g.value(a.inputs[1]).type.dtype != g.value(a.inputs[2]).type.dtype)
    return std::nullopt;
  const auto ks = head_split(g, *k, flags[1] == 1), vs = head_split(g, *v, flags[2] == 1);
  if (!ks || ks != vs) return std::nullopt;
  return Match{&a, *k, *v, ks->first, ks->second};
}

// [rows, n] and [rows, n] side by side → [rows, 2n] (bias: rows 1), any dtype, bit for bit.
Tensor side_by_side(const Tensor& a, const Tensor& b) {
  const int64_t rows = a.rank() == 2 ? a.dim(0) : 1, n = a.dims().back();
  Dims dims = a.dims();
  dims.back() = 2 * n;
  Tensor out(a.dtype(), dims);
  const size_t row = size_t(n) * dtype_size(a.dtype());
  auto* o = static_cast<char*>(out.raw());
  const auto *pa = static_cast<const char*>(a.raw()), *pb = static_cast<const char*>(b.raw());
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(o + 2 * size_t(r) * row, pa + size_t(r) * row, row);
    std::memcpy(o + (2 * size_t(r) + 1) * row, pb + size_t(r) * row, row);
  }
  return out;
}

// The later of two nodes in g's order: the fused node takes the name of the last it replaces.
const Node* later(const Node* a, const Node* b) { return a < b ? b : a; }

}  // namespace

int fuse_kv_projection(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> replaced;
  for (const Match& m : found) {
    const Node &kg = *m.k.gemm, &vg = *m.v.gemm;
    const std::string base = m.attention->outputs[0] + "/kv";
    Node gemm = kg;
    gemm.name = later(m.k.gemm, m.v.gemm)->name;
    gemm.inputs = {kg.inputs[0],
                   add_constant(g, base + "/w", side_by_side(*g.value(kg.inputs[1]).constant, *g.value(vg.inputs[1]).constant)),
                   add_constant(g, base + "/bias",
                                side_by_side(*g.value(kg.inputs[2]).constant, *g.value(vg.inputs[2]).constant))};
    ValueType y = g.value(kg.outputs[0]).type;
    y.shape->back() = Dim(2 * m.heads * m.width);
    gemm.outputs = {add_value(g, base + "/tokens", y)};
    // [B, Nk, 2H, D]: B and Nk copied from the GEMM's output where symbolic (a 0 entry).
    const Shape& tokens = *y.shape;
    Shape kv_shape{tokens[0], tokens[1], Dim(2 * m.heads), Dim(m.width)};
    std::vector<int64_t> target;
    for (const Dim& d : kv_shape) target.push_back(d.known() ? d.value : 0);
    Node reshape = onnx_node(g, later(m.k.reshape, m.v.reshape)->name, "Reshape",
                             {gemm.outputs[0], add_constant(g, base + "/shape", Tensor::from_vector<int64_t>({4}, target))},
                             add_value(g, base, {y.dtype, kv_shape}));
    Node attention = *m.attention;
    attention.inputs[1] = reshape.outputs[0];
    attention.inputs[2] = "";
    attention.attrs.set("packed_kv", int64_t(1));
    std::vector<int64_t> flags = attention.attrs.get_ints("seq_first", {0, 0, 0, 0});
    flags[1] = flags[2] = 1;  // a one-head [B, 1, Nk, D] input is the [B, Nk, 1, D] one
    attention.attrs.set("seq_first", flags);
    for (Node* n : {&gemm, &reshape, &attention}) added.push_back(std::move(*n));
    for (const Node* n : {m.k.gemm, m.v.gemm, m.k.reshape, m.v.reshape, m.attention}) replaced.insert(n);
  }
  replace_nodes(g, replaced, std::move(added));
  return int(found.size());
}

}  // namespace kiln
