#include "passes/qdq_match.h"

#include <cmath>
#include <cstring>

namespace kiln {
namespace {

// A constant of dtype dt (int8) whose every element is 0.
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

}  // namespace

bool is_int8_weight_dequantize(const Graph& g, const Node& n) {
  return is_op(&n, "DequantizeLinear") && n.has_input(0) && g.is_constant(n.inputs[0]) &&
         g.value(n.inputs[0]).constant->dtype() == DType::kI8;
}

std::optional<QuantizedActivation> match_quantized_activation(const Graph& g, const GraphIndex& idx,
                                                              const std::string& value) {
  const Node* dq = idx.producer(value);
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
  return QuantizedActivation{x, q->inputs[1]};
}

std::optional<QuantizedWeight> match_quantized_weight(const Graph& g, const GraphIndex& idx, const std::string& value,
                                                      int rank, int out_axis) {
  const Node* dq = idx.producer(value);
  if (!is_op(dq, "DequantizeLinear") || !no_blocks(*dq)) return std::nullopt;
  const std::string& w = dq->inputs[0];
  if (!g.is_constant(w)) return std::nullopt;
  const Tensor& wt = *g.value(w).constant;
  if (wt.dtype() != DType::kI8 || wt.rank() != rank || wt.numel() == 0) return std::nullopt;
  const std::string& s = dq->inputs[1];
  if (!g.is_constant(s)) return std::nullopt;
  const Tensor& st = *g.value(s).constant;
  if (st.dtype() != DType::kF32 || st.rank() > 1) return std::nullopt;
  if (st.numel() != 1) {
    int64_t axis = dq->attrs.get_int("axis", 1);
    if (axis < 0) axis += rank;
    if (axis != out_axis || st.numel() != wt.dim(out_axis)) return std::nullopt;  // per output channel only
  }
  for (int64_t i = 0; i < st.numel(); ++i)
    if (!(st.data<float>()[i] > 0) || !std::isfinite(st.data<float>()[i])) return std::nullopt;
  if (dq->has_input(2) && !zero_constant(g, dq->inputs[2], DType::kI8)) return std::nullopt;
  return QuantizedWeight{w, s};
}

}  // namespace kiln
