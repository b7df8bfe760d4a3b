#include "passes/fuse_int8_matmul.h"

#include <map>

#include "ops/quantize/int8_matmul.h"
#include "passes/pattern.h"
#include "passes/qdq_match.h"

namespace kiln {
namespace {

using quant::kInt8MatMulOp;
using quant::kInt8MaxK;

struct Match {
  const Node* gemm = nullptr;
  std::string x, x_scale, w, w_scale;  // w: the int8 [K, N] constant
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& n) {
  const bool fused = is_kiln_op(&n, "FusedMatMul");
  if (!(is_op(&n, "MatMul") || fused) || n.outputs.size() != 1 || !n.has_input(0) || !n.has_input(1))
    return std::nullopt;
  if (fused) {
    for (size_t i = 2; i < n.inputs.size(); ++i)
      if (n.has_input(i) && g.value(n.inputs[i]).type.dtype != DType::kF32) return std::nullopt;
  }
  const auto x = match_quantized_activation(g, idx, n.inputs[0]);
  const auto w = match_quantized_weight(g, idx, n.inputs[1], 2, 1);
  if (!x || !w || g.value(w->w).constant->dim(0) > kInt8MaxK) return std::nullopt;
  return Match{&n, x->x, x->scale, w->w, w->scale};
}

Tensor transposed(const Tensor& w) {
  const int64_t k = w.dim(0), n = w.dim(1);
  std::vector<int8_t> v(size_t(k * n));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) v[size_t(j * k + i)] = w.data<int8_t>()[i * n + j];
  return Tensor::from_vector<int8_t>({n, k}, v);
}

}  // namespace

int fuse_int8_matmul(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::map<std::string, std::string> wt;  // a weight read by several GEMMs is transposed once
  std::set<const Node*> replaced;
  std::vector<Node> fused;
  for (const Match& m : found) {
    if (!wt.count(m.w)) wt[m.w] = add_constant(g, m.w + "_nk", transposed(*g.value(m.w).constant));
    Node n;
    n.op_type = kInt8MatMulOp;
    n.domain = kKilnDomain;
    n.opset = 1;
    n.name = m.gemm->name;
    n.inputs = {m.x, m.x_scale, wt[m.w], m.w_scale};
    if (is_kiln_op(m.gemm, "FusedMatMul")) {
      n.inputs.push_back(m.gemm->inputs[2]);
      if (m.gemm->has_input(3)) n.inputs.push_back(m.gemm->inputs[3]);
      n.attrs.set("activation", m.gemm->attrs.get_string("activation", "none"));
    }
    n.outputs = m.gemm->outputs;
    replaced.insert(m.gemm);
    fused.push_back(std::move(n));
  }
  return replace_nodes(g, replaced, std::move(fused));
}

}  // namespace kiln
