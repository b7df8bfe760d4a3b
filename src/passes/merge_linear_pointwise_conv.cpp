#include "passes/merge_linear_pointwise_conv.h"

#include <optional>
#include <set>

#include "passes/pattern.h"

namespace kiln {
namespace {

struct Match {
  const Node* linear;
  const Node* transpose;
  const Node* reshape;
  const Node* conv;
  int64_t k, c, c_out;
  Dims image;  // the Reshape's [B, C, H, W]
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& conv) {
  if (!is_pointwise_conv(g, conv)) return std::nullopt;
  const Node* reshape = idx.producer(conv.inputs[0]);
  if (!is_op(reshape, "Reshape") || !idx.used_only_by(conv.inputs[0], conv)) return std::nullopt;
  const Node* transpose = idx.producer(reshape->inputs[0]);
  if (!is_swap_last_two(transpose) || !idx.used_only_by(reshape->inputs[0], *reshape)) return std::nullopt;
  const Node* linear = idx.producer(transpose->inputs[0]);
  if (!is_kiln_op(linear, "FusedMatMul") || !idx.used_only_by(transpose->inputs[0], *transpose))
    return std::nullopt;
  if (linear->has_input(3) || linear->attrs.get_string("activation", "none") != "none") return std::nullopt;
  if (!g.is_constant(linear->inputs[1]) || !g.is_constant(linear->inputs[2])) return std::nullopt;
  for (const std::string* v : {&linear->inputs[0], &conv.inputs[1], &conv.outputs[0]})
    if (g.value(*v).type.dtype != DType::kF32) return std::nullopt;
  if (conv.has_input(2) && g.value(conv.inputs[2]).type.dtype != DType::kF32) return std::nullopt;

  // Shapes: [B, N, C] → [B, C, N] → [B, C, H, W] (N = H*W), W [K, C], Wc [Cout, C, 1, 1].
  const auto tokens = static_dims(g, linear->outputs[0]), image = static_dims(g, conv.inputs[0]);
  const Dims& w = g.value(linear->inputs[1]).constant->dims();
  const Dims& wc = g.value(conv.inputs[1]).constant->dims();
  if (!tokens || !image || tokens->size() != 3 || image->size() != 4 || w.size() != 2) return std::nullopt;
  const int64_t b = (*tokens)[0], n = (*tokens)[1], c = (*tokens)[2];
  if ((*image)[0] != b || (*image)[1] != c || (*image)[2] * (*image)[3] != n || wc[1] != c || w[1] != c)
    return std::nullopt;
  const int64_t k = w[0], c_out = wc[0];
  if (k * c_out >= k * c + c * c_out) return std::nullopt;  // no fewer multiply-adds
  return Match{linear, transpose, reshape, &conv, k, c, c_out, *image};
}

// W' = W · Wcᵀ [K, Cout] and b' = Wc · b + bc [Cout], in double.
std::pair<Tensor, Tensor> merged_weights(const Graph& g, const Match& m) {
  const Tensor& w = *g.value(m.linear->inputs[1]).constant;
  const Tensor& b = *g.value(m.linear->inputs[2]).constant;
  const Tensor& wc = *g.value(m.conv->inputs[1]).constant;
  const Tensor* bc = m.conv->has_input(2) ? &*g.value(m.conv->inputs[2]).constant : nullptr;
  Tensor w2(DType::kF32, {m.k, m.c_out}), b2(DType::kF32, {m.c_out});
  const float *pw = w.data<float>(), *pb = b.data<float>(), *pc = wc.data<float>();
  for (int64_t o = 0; o < m.c_out; ++o) {
    const float* row = pc + o * m.c;
    for (int64_t r = 0; r < m.k; ++r) {
      double s = 0;
      for (int64_t j = 0; j < m.c; ++j) s += double(pw[r * m.c + j]) * row[j];
      w2.data<float>()[r * m.c_out + o] = float(s);
    }
    double s = bc ? double(bc->data<float>()[o]) : 0.0;
    for (int64_t j = 0; j < m.c; ++j) s += double(row[j]) * pb[j];
    b2.data<float>()[o] = float(s);
  }
  return {std::move(w2), std::move(b2)};
}

}  // namespace

int merge_linear_pointwise_conv(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> replaced;
  for (const Match& m : found) {
    auto [w2, b2] = merged_weights(g, m);
    const std::string& y = m.conv->outputs[0];
    const Dims tokens{m.image[0], m.image[2] * m.image[3], m.c_out};
    Node linear = *m.linear;
    linear.name = m.conv->name;
    linear.inputs = {m.linear->inputs[0], add_constant(g, y + "/merged_w", std::move(w2)),
                     add_constant(g, y + "/merged_b", std::move(b2))};
    linear.outputs = {add_value(g, y + "/tokens", {DType::kF32, shape_of(tokens)})};
    Node transpose = *m.transpose;
    transpose.inputs = linear.outputs;
    transpose.outputs = {add_value(g, y + "/channels", {DType::kF32, shape_of(Dims{tokens[0], m.c_out, tokens[1]})})};
    Node reshape = *m.reshape;
    reshape.inputs = {transpose.outputs[0],
                      add_constant(g, y + "/shape",
                                   Tensor::from_vector<int64_t>({4}, {m.image[0], m.c_out, m.image[2], m.image[3]}))};
    reshape.outputs = {y};
    for (Node* n : {&linear, &transpose, &reshape}) added.push_back(std::move(*n));
    replaced.insert(m.conv);
  }
  replace_nodes(g, replaced, std::move(added));  // the old linear, Transpose and Reshape now feed nothing
  return int(found.size());
}

}  // namespace kiln
