#include "passes/token_conv_chain.h"

#include "ops/tensor/tensor_util.h"

namespace kiln {

std::optional<TokenImage> match_token_image(const Graph& g, const GraphIndex& idx, const std::string& image) {
  const Node* second = idx.producer(image);
  if (!second || second->inputs.empty()) return std::nullopt;
  const Node* first = idx.producer(second->inputs[0]);
  if (!first || first->inputs.empty()) return std::nullopt;
  const bool split_last = is_swap_last_two(first) && is_op(second, "Reshape");  // Transpose → Reshape
  const bool split_first = is_op(first, "Reshape") && is_op(second, "Transpose") &&
                           second->attrs.get_ints("perm", {}) == std::vector<int64_t>{0, 3, 1, 2};
  if (!split_last && !split_first) return std::nullopt;
  const auto x = static_dims(g, first->inputs[0]), mid = static_dims(g, first->outputs[0]);
  const auto img = static_dims(g, image);
  if (!x || !mid || !img || x->size() != 3 || img->size() != 4) return std::nullopt;
  const int64_t B = (*x)[0], N = (*x)[1], C = (*x)[2], H = (*img)[2], W = (*img)[3];
  if ((*img)[0] != B || (*img)[1] != C || H * W != N) return std::nullopt;
  // A Transpose(0,2,1) makes [B, C, N]; the Reshape [B, H, W, C] splits N in place.
  if (split_first && *mid != Dims{B, H, W, C}) return std::nullopt;
  return TokenImage{first, second, B, C, H, W};
}

const Node* match_tokens_out(const Graph& g, const GraphIndex& idx, const Node& conv) {
  // (A Flatten makes a matrix, which a Transpose(0,2,1) cannot take: PyTorch's flatten(2)
  // exports as Reshape.)
  if (conv.outputs.size() != 1) return nullptr;
  const Node* merge = idx.sole_consumer(conv.outputs[0]);
  if (!is_op(merge, "Reshape") || merge->inputs[0] != conv.outputs[0]) return nullptr;
  const Node* last = idx.sole_consumer(merge->outputs[0]);
  if (!is_swap_last_two(last)) return nullptr;
  const auto out = static_dims(g, conv.outputs[0]), flat = static_dims(g, merge->outputs[0]);
  if (!out || !flat || out->size() != 4 || *flat != Dims{(*out)[0], (*out)[1], (*out)[2] * (*out)[3]}) return nullptr;
  return last;
}

std::optional<TokenConvChain> match_token_conv_chain(const Graph& g, const GraphIndex& idx, const Node& conv) {
  if (!is_op(&conv, "Conv") || conv.inputs.size() < 2 || conv.outputs.size() != 1) return std::nullopt;
  // Upstream: Transpose(0,2,1) → Reshape → conv, each output read only by the next node.
  const auto in = match_token_image(g, idx, conv.inputs[0]);
  if (!in || !is_swap_last_two(in->first) || !idx.used_only_by(conv.inputs[0], conv) ||
      !idx.used_only_by(in->first->outputs[0], *in->second))
    return std::nullopt;
  // Downstream: conv → Reshape → Transpose(0,2,1).
  const Node* last = match_tokens_out(g, idx, conv);
  if (!last) return std::nullopt;
  const auto out = static_dims(g, conv.outputs[0]);
  if ((*out)[0] != in->batch) return std::nullopt;
  if (!g.is_constant(conv.inputs[1]) || (conv.has_input(2) && !g.is_constant(conv.inputs[2]))) return std::nullopt;
  const DType dt = g.value(conv.inputs[0]).type.dtype;
  if (dt != DType::kF32 && dt != DType::kF16) return std::nullopt;
  return TokenConvChain{in->first, &conv,     last,      in->batch, in->channels,
                        in->height, in->width, (*out)[1], (*out)[2], (*out)[3]};
}

void append_window_gemm(Graph& g, const Node& conv, const std::string& base, const std::string& rows, int64_t batch,
                        int64_t patches, const std::string& y, std::vector<Node>& nodes) {
  const Tensor& w = *g.value(conv.inputs[1]).constant;  // [Co, C, kh, kw] → [kh, kw, C, Co] → [K, Co]
  const Dims& wd = w.dims();
  const int64_t co = wd[0], k = wd[1] * wd[2] * wd[3];
  const std::string wt = add_constant(g, base + "/kiln_wt", tensor_ops::permute(w, {2, 3, 1, 0}).reshaped({k, co}));
  if (!conv.has_input(2)) {
    nodes.push_back(onnx_node(g, base, "MatMul", {rows, wt}, y));
    return;
  }
  const DType dt = g.value(rows).type.dtype;
  const std::string product = add_value(g, base + "/kiln_product", ValueType{dt, shape_of({batch, patches, co})});
  nodes.push_back(onnx_node(g, base + "/kiln_matmul", "MatMul", {rows, wt}, product));
  nodes.push_back(onnx_node(g, base, "Add", {product, conv.inputs[2]}, y));
}

}  // namespace kiln
