// The token-layout round trip around a Conv, as HF SegFormer exports it twice per block (the
// sequence-reduction conv and MixFFN's depthwise conv):
//
//   x [B, N, C] ─▶ Transpose(0,2,1) ─▶ Reshape [B, C, H, W] ─▶ Conv ─▶ [B, Co, OH, OW]
//     ─▶ Reshape [B, Co, OH·OW] ─▶ Transpose(0,2,1) ─▶ y [B, OH·OW, Co]
//
// matched from the Conv: every intermediate feeds only the next node and is not a graph output,
// shapes are static, N = H·W and the Reshapes keep B and the channels in place (token n is
// pixel (n / W, n % W)), W (and the bias, if any) constant, dtype float32 or float16. What the
// Conv computes (groups, window) is the caller's to check.
#pragma once
#include <optional>

#include "passes/pattern.h"

namespace kiln {

struct TokenConvChain {
  const Node* first = nullptr;  // Transpose tokens → channels
  const Node* conv = nullptr;
  const Node* last = nullptr;   // Transpose channels → tokens
  int64_t batch = 0, channels = 0, height = 0, width = 0;
  int64_t out_channels = 0, out_height = 0, out_width = 0;
};

std::optional<TokenConvChain> match_token_conv_chain(const Graph& g, const GraphIndex& idx, const Node& conv);

}  // namespace kiln
