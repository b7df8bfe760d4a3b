#include "passes/token_conv_chain.h"

namespace kiln {

std::optional<TokenConvChain> match_token_conv_chain(const Graph& g, const GraphIndex& idx, const Node& conv) {
  if (!is_op(&conv, "Conv") || conv.inputs.size() < 2 || conv.outputs.size() != 1) return std::nullopt;
  // Upstream: Transpose(0,2,1) → Reshape → conv, each output read only by the next node.
  const Node* split = idx.producer(conv.inputs[0]);
  if (!is_op(split, "Reshape") || !idx.used_only_by(conv.inputs[0], conv)) return std::nullopt;
  const Node* first = idx.producer(split->inputs[0]);
  if (!is_swap_last_two(first) || !idx.used_only_by(split->inputs[0], *split)) return std::nullopt;
  // Downstream: conv → Reshape → Transpose(0,2,1). (A Flatten makes a matrix, which a
  // Transpose(0,2,1) cannot take: PyTorch's flatten(2) exports as Reshape.)
  const Node* merge = idx.sole_consumer(conv.outputs[0]);
  if (!is_op(merge, "Reshape") || merge->inputs[0] != conv.outputs[0]) return std::nullopt;
  const Node* last = idx.sole_consumer(merge->outputs[0]);
  if (!is_swap_last_two(last)) return std::nullopt;

  // Shapes: x [B, N, C] → [B, C, H, W] (N = H*W) → conv → [B, Co, OH, OW] → [B, Co, OH*OW].
  const auto x = static_dims(g, first->inputs[0]), img = static_dims(g, conv.inputs[0]);
  const auto out = static_dims(g, conv.outputs[0]), flat = static_dims(g, merge->outputs[0]);
  if (!x || !img || !out || !flat || x->size() != 3 || img->size() != 4 || out->size() != 4 || flat->size() != 3)
    return std::nullopt;
  const int64_t B = (*x)[0], N = (*x)[1], C = (*x)[2];
  if ((*img)[0] != B || (*img)[1] != C || (*img)[2] * (*img)[3] != N) return std::nullopt;
  if ((*out)[0] != B || *flat != Dims{B, (*out)[1], (*out)[2] * (*out)[3]}) return std::nullopt;
  if (!g.is_constant(conv.inputs[1]) || (conv.has_input(2) && !g.is_constant(conv.inputs[2]))) return std::nullopt;
  const DType dt = g.value(conv.inputs[0]).type.dtype;
  if (dt != DType::kF32 && dt != DType::kF16) return std::nullopt;
  return TokenConvChain{first, &conv, last, B, C, (*img)[2], (*img)[3], (*out)[1], (*out)[2], (*out)[3]};
}

}  // namespace kiln
