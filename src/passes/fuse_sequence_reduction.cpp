#include "passes/fuse_sequence_reduction.h"

#include <set>

#include "ops/norm/layer_norm_patch_rows.h"
#include "ops/norm/sequence_reduction.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node *rows = nullptr, *reduce = nullptr, *ln = nullptr, *kv = nullptr;
  int64_t height = 0, width = 0, patch = 0;
};

// The node writing n's first input (a GEMM's A, a LayerNorm's X) when n alone reads that value
// and it is no graph output: a link the fused node may keep on chip. Else nullptr.
const Node* sole_feeder(const GraphIndex& idx, const Node& n) {
  if (n.inputs.empty() || n.inputs[0].empty() || !idx.used_only_by(n.inputs[0], n)) return nullptr;
  return idx.producer(n.inputs[0]);
}

// A LayerNormPatchRows with Scale and B whose Y nothing reads: only its rows go on.
bool rows_only_patch_rows(const GraphIndex& idx, const Node* n) {
  if (!is_kiln_op(n, norm::kLayerNormPatchRowsOp) || n->inputs.size() != 3 || !n->has_input(2) ||
      n->outputs.size() != 2)
    return false;
  const std::string& y = n->outputs[0];
  return y.empty() || (idx.consumers(y).empty() && !idx.is_graph_output(y));
}

// A bias-only GEMM whose W and bias are constants (weights the kernel may stage as they are).
bool constant_gemm(const Graph& g, const Node* n) {
  return is_plain_fused_matmul(n, 3) && g.is_constant(n->inputs[1]) && g.is_constant(n->inputs[2]);
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& kv) {
  if (!constant_gemm(g, &kv)) return std::nullopt;
  Match m{.kv = &kv};
  m.ln = sole_feeder(idx, kv);
  if (!is_token_layer_norm(m.ln, true)) return std::nullopt;
  m.reduce = sole_feeder(idx, *m.ln);
  if (!constant_gemm(g, m.reduce)) return std::nullopt;
  m.rows = sole_feeder(idx, *m.reduce);
  if (!rows_only_patch_rows(idx, m.rows) || m.rows->outputs[1] != m.reduce->inputs[0]) return std::nullopt;
  const Attributes& a = m.rows->attrs;
  m.height = a.get_int("height", 0);
  m.width = a.get_int("width", 0);
  m.patch = a.get_int("patch", 0);
  const int64_t p = m.patch;
  if (m.height < 1 || m.width < 1 || p < 1 || m.height % p != 0 || m.width % p != 0) return std::nullopt;
  const std::string& x = m.rows->inputs[0];
  const auto xd = static_dims(g, x);
  const auto wkv = static_dims(g, kv.inputs[1]);
  if (!xd || xd->size() != 3 || !wkv || wkv->size() != 2) return std::nullopt;
  const int64_t B = (*xd)[0], N = (*xd)[1], C = (*xd)[2], N2 = (*wkv)[1];
  if (N != m.height * m.width || !norm::sequence_reduction_fits(g.value(x).type.dtype, C, N2)) return std::nullopt;
  const int64_t Nk = N / (p * p);
  const DType h = DType::kF16;
  const Node &rows = *m.rows, &reduce = *m.reduce, &ln = *m.ln;
  const bool typed =
      has_static_type(g, rows.inputs[1], {C}, h) && has_static_type(g, rows.inputs[2], {C}, h) &&
      has_static_type(g, rows.outputs[1], {B, Nk, p * p * C}, h) &&
      has_static_type(g, reduce.inputs[1], {p * p * C, C}, h) && has_static_type(g, reduce.inputs[2], {C}, h) &&
      has_static_type(g, reduce.outputs[0], {B, Nk, C}, h) && has_static_type(g, ln.inputs[1], {C}, h) &&
      has_static_type(g, ln.inputs[2], {C}, h) && has_static_type(g, ln.outputs[0], {B, Nk, C}, h) &&
      has_static_type(g, kv.inputs[1], {C, N2}, h) && has_static_type(g, kv.inputs[2], {N2}, h) &&
      has_static_type(g, kv.outputs[0], {B, Nk, N2}, h);
  if (!typed) return std::nullopt;
  return m;
}

Node rewrite(const Match& m) {
  const Node &rows = *m.rows, &reduce = *m.reduce, &ln = *m.ln, &kv = *m.kv;
  // The slots of sequence_reduction.h: X, S1, B1, Wr, Br, S2, B2, Wkv, Bkv.
  Node n = kiln_node(kv.name, norm::kSequenceReductionOp,
                     {rows.inputs[0], rows.inputs[1], rows.inputs[2], reduce.inputs[1], reduce.inputs[2],
                      ln.inputs[1], ln.inputs[2], kv.inputs[1], kv.inputs[2]},
                     kv.outputs[0]);
  n.attrs.set("height", m.height);
  n.attrs.set("width", m.width);
  n.attrs.set("patch", m.patch);
  n.attrs.set("epsilon", rows.attrs.get_float("epsilon", 1e-5f));
  n.attrs.set("epsilon2", ln.attrs.get_float("epsilon", 1e-5f));
  return n;
}

}  // namespace

int fuse_sequence_reduction(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> removed;
  for (const Match& m : found) {
    added.push_back(rewrite(m));
    removed.insert({m.rows, m.reduce, m.ln, m.kv});
  }
  replace_nodes(g, removed, std::move(added));
  return int(found.size());
}

}  // namespace kiln
