#include "quant/fuse_int8_matmul.h"

#include <cmath>
#include <cstring>
#include <map>

#include "ops/quantize/int8_matmul.h"
#include "passes/pattern.h"

namespace kiln::quant {
namespace {

struct Match {
  const Node* gemm = nullptr;
  std::string x, x_scale, w, w_scale;  // w: the int8 [K, N] constant
};

// A constant of dtype dt whose every element is 0.
bool zero_constant(const Graph& g, const std::string& v, DType dt) {
  if (!g.is_constant(v)) return false;
  const Tensor& t = *g.value(v).constant;
  if (t.dtype() != dt) return false;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (t.data<int8_t>()[i] != 0) return false;
  return true;
}

// A one-element float32 constant holding a positive finite number.
std::optional<float> positive_scale(const Graph& g, const std::string& v) {
  if (!g.is_constant(v)) return std::nullopt;
  const Tensor& t = *g.value(v).constant;
  if (t.dtype() != DType::kF32 || t.numel() != 1) return std::nullopt;
  const float s = t.data<float>()[0];
  if (!(s > 0) || !std::isfinite(s)) return std::nullopt;
  return s;
}

bool no_blocks(const Node& n) { return n.attrs.get_int("block_size", 0) == 0; }

// X → Q → DQ → (input 0): X's name and scale.
std::optional<std::pair<std::string, std::string>> match_activation(const Graph& g, const GraphIndex& idx,
                                                                    const std::string& in) {
  const Node* dq = idx.producer(in);
  if (!is_op(dq, "DequantizeLinear") || !no_blocks(*dq)) return std::nullopt;
  const Node* q = idx.producer(dq->inputs[0]);
  if (!is_op(q, "QuantizeLinear") || !no_blocks(*q) || q->inputs.size() < 3) return std::nullopt;
  const std::string& x = q->inputs[0];
  if (!g.has_value(x) || g.value(x).type.dtype != DType::kF32) return std::nullopt;
  const auto sq = positive_scale(g, q->inputs[1]), sd = positive_scale(g, dq->inputs[1]);
  if (!sq || !sd || std::memcmp(&*sq, &*sd, sizeof(float)) != 0) return std::nullopt;
  // An absent Q zero point means uint8; DQ's zero point has x's type, so int8 0 or none.
  if (!zero_constant(g, q->inputs[2], DType::kI8)) return std::nullopt;
  if (dq->has_input(2) && !zero_constant(g, dq->inputs[2], DType::kI8)) return std::nullopt;
  return std::make_pair(x, q->inputs[1]);
}

// DQ(W int8 [K, N], per column or per tensor, zero 0) at input 1: W's and the scale's names.
std::optional<std::pair<std::string, std::string>> match_weight(const Graph& g, const GraphIndex& idx,
                                                                const std::string& in) {
  const Node* dq = idx.producer(in);
  if (!is_op(dq, "DequantizeLinear") || !no_blocks(*dq)) return std::nullopt;
  const std::string& w = dq->inputs[0];
  if (!g.is_constant(w)) return std::nullopt;
  const Tensor& wt = *g.value(w).constant;
  if (wt.dtype() != DType::kI8 || wt.rank() != 2 || wt.dim(0) == 0 || wt.dim(0) > kInt8MaxK) return std::nullopt;
  const std::string& s = dq->inputs[1];
  if (!g.is_constant(s)) return std::nullopt;
  const Tensor& st = *g.value(s).constant;
  if (st.dtype() != DType::kF32 || st.rank() > 1) return std::nullopt;
  if (st.numel() != 1) {
    int64_t axis = dq->attrs.get_int("axis", 1);
    if (axis < 0) axis += 2;
    if (axis != 1 || st.numel() != wt.dim(1)) return std::nullopt;  // per output column only
  }
  for (int64_t i = 0; i < st.numel(); ++i)
    if (!(st.data<float>()[i] > 0) || !std::isfinite(st.data<float>()[i])) return std::nullopt;
  if (dq->has_input(2) && !zero_constant(g, dq->inputs[2], DType::kI8)) return std::nullopt;
  return std::make_pair(w, s);
}

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& n) {
  const bool fused = is_kiln_op(&n, "FusedMatMul");
  if (!(is_op(&n, "MatMul") || fused) || n.outputs.size() != 1 || !n.has_input(0) || !n.has_input(1))
    return std::nullopt;
  if (fused) {
    for (size_t i = 2; i < n.inputs.size(); ++i)
      if (n.has_input(i) && g.value(n.inputs[i]).type.dtype != DType::kF32) return std::nullopt;
  }
  const auto x = match_activation(g, idx, n.inputs[0]);
  const auto w = match_weight(g, idx, n.inputs[1]);
  if (!x || !w) return std::nullopt;
  return Match{&n, x->first, x->second, w->first, w->second};
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

}  // namespace kiln::quant
