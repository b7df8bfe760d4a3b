// fuse_row_column_read (fuse_row_column_read.h draws the pattern).
#include "passes/fuse_row_column_read.h"

#include <optional>
#include <set>

#include "ops/attention/row_column_read.h"
#include "ops/op.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  std::vector<const Node*> nodes;  // replaced: the first MatMul, the Reshape, the second MatMul, the Squeeze
  std::string a_col, a_row, v, out, name;
};

// The single axis of an Unsqueeze/Squeeze (a constant input: kiln imports opsets 13 and later),
// in [0, rank).
std::optional<int64_t> single_axis(const Graph& g, const Node& n, int64_t rank) {
  if (!n.has_input(1) || !g.is_constant(n.inputs[1])) return std::nullopt;
  const Tensor& t = *g.value(n.inputs[1]).constant;
  if (t.dtype() != DType::kI64) return std::nullopt;
  const std::vector<int64_t> axes = t.to_int64_vector();
  if (axes.size() != 1 || axes[0] < -rank || axes[0] >= rank) return std::nullopt;
  return axes[0] < 0 ? axes[0] + rank : axes[0];
}

// Every dim of `s` provably equals the corresponding one of `want`.
bool same_shape(const Shape* s, const Shape& want) {
  if (!s || s->size() != want.size()) return false;
  for (size_t i = 0; i < want.size(); ++i)
    if (!same_dim((*s)[i], want[i])) return false;
  return true;
}

// `n` turns its input into `to` by inserting (Unsqueeze) or removing (Squeeze) a size-1 axis at
// `axis` of the larger rank `big_rank`; a Reshape whose output has exactly the dims `to` (and
// whose input the caller checked) is the same row-major view.
bool inserts_or_removes(const Graph& g, const Node* n, const char* op, int64_t axis, int64_t big_rank, const Shape& to) {
  if (!n || n->outputs.size() != 1 || n->inputs.empty()) return false;
  if (is_op(n, op)) return single_axis(g, *n, big_rank) == axis && same_shape(shape_of_value(g, n->outputs[0]), to);
  if (!is_op(n, "Reshape")) return false;
  const std::optional<Dims> d = static_dims(g, n->outputs[0]);
  return d && shape_known(to) && *d == shape_dims(to);
}

bool float16_or_32(DType dt) { return dt == DType::kF32 || dt == DType::kF16; }

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& sq) {
  if ((!is_op(&sq, "Squeeze") && !is_op(&sq, "Reshape")) || sq.outputs.size() != 1 || !sq.has_input(0))
    return std::nullopt;
  const Node* m3 = idx.producer(sq.inputs[0]);
  if (!is_op(m3, "MatMul") || m3->inputs.size() != 2 || m3->outputs.size() != 1 ||
      !idx.used_only_by(m3->outputs[0], sq))
    return std::nullopt;
  const Node* un = idx.producer(m3->inputs[0]);
  const Node* rs = idx.producer(m3->inputs[1]);
  if (!un || un->inputs.empty() || !is_op(rs, "Reshape") || rs->outputs.size() != 1 ||
      !idx.used_only_by(rs->outputs[0], *m3))
    return std::nullopt;
  const Node* m2 = idx.producer(rs->inputs[0]);
  if (!is_op(m2, "MatMul") || m2->inputs.size() != 2 || m2->outputs.size() != 1 ||
      !idx.used_only_by(m2->outputs[0], *rs))
    return std::nullopt;

  Match m;
  m.a_col = m2->inputs[0], m.v = m2->inputs[1], m.a_row = un->inputs[0], m.out = sq.outputs[0], m.name = sq.name;
  const DType dt = g.value(m.a_col).type.dtype;
  if (!float16_or_32(dt) || g.value(m.v).type.dtype != dt || g.value(m.a_row).type.dtype != dt) return std::nullopt;

  // a_col [p..., L, H], V2 [p..., H, W·D], a_row [p..., L, W]: one rank, equal leading dims.
  const Shape *c = shape_of_value(g, m.a_col), *v = shape_of_value(g, m.v), *r = shape_of_value(g, m.a_row);
  if (!c || !v || !r || c->size() < 2 || v->size() != c->size() || r->size() != c->size()) return std::nullopt;
  const int64_t k = int64_t(c->size());
  for (int64_t i = 0; i + 2 < k; ++i)
    if (!same_dim((*c)[size_t(i)], (*v)[size_t(i)]) || !same_dim((*c)[size_t(i)], (*r)[size_t(i)])) return std::nullopt;
  const Dim &L = (*c)[size_t(k - 2)], &H = (*c)[size_t(k - 1)], &W = (*r)[size_t(k - 1)], &X = (*v)[size_t(k - 1)];
  if (!same_dim(L, (*r)[size_t(k - 2)]) || !same_dim(H, (*v)[size_t(k - 2)])) return std::nullopt;
  if (!W.known() || W.value < 1 || !X.known()) return std::nullopt;

  // The Reshape keeps [p..., L] and splits W·D into exactly [W, D].
  const Shape* split = shape_of_value(g, rs->outputs[0]);
  if (!split || int64_t(split->size()) != k + 1) return std::nullopt;
  for (int64_t i = 0; i + 1 < k; ++i)
    if (!same_dim((*split)[size_t(i)], (*c)[size_t(i)])) return std::nullopt;
  const Dim &SW = (*split)[size_t(k - 1)], &D = (*split)[size_t(k)];
  if (!SW.known() || SW.value != W.value || !D.known() || W.value * D.value != X.value) return std::nullopt;

  // a_row → [p..., L, 1, W]; [p..., L, 1, D] → out [p..., L, D].
  Shape prefix(c->begin(), c->end() - 1);  // [p..., L]
  Shape unsq = prefix, out = prefix;
  unsq.push_back(Dim(1)), unsq.push_back(W);
  out.push_back(D);
  if (!inserts_or_removes(g, un, "Unsqueeze", k - 1, k + 1, unsq)) return std::nullopt;
  if (!inserts_or_removes(g, &sq, "Squeeze", k - 1, k + 1, out)) return std::nullopt;
  m.nodes = {m2, rs, m3, &sq};
  return m;
}

}  // namespace

int fuse_row_column_read(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  std::set<const Node*> claimed;
  std::vector<Node> fused;
  for (const Match& m : found) {
    if (!claim_nodes(claimed, m.nodes)) continue;
    Node n;
    n.name = m.name;
    n.op_type = attention::kRowColumnReadOp;
    n.domain = kKilnDomain;
    n.opset = 1;
    n.inputs = {m.a_col, m.a_row, m.v};
    n.outputs = {m.out};
    fused.push_back(std::move(n));
  }
  if (fused.empty()) return 0;
  return replace_nodes(g, claimed, std::move(fused));
}

}  // namespace kiln
