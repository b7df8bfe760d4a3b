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
//
// Its two halves are matched on their own too (fuse_token_im2col_conv): the image a Conv reads
// as the tokens behind it — the Transpose → Reshape above, or Reshape [B, H, W, C] →
// Transpose(0,3,1,2) as HF SegFormer ends each stage — and the Conv's output back to tokens.
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

// `image` [B, C, H, W] made from tokens x [B, H·W, C] (x = first->inputs[0]) by
//   x ─▶ Transpose(0,2,1) ─▶ Reshape [B, C, H, W]        (first: the Transpose, second: the Reshape)
//   x ─▶ Reshape [B, H, W, C] ─▶ Transpose(0,3,1,2)      (first: the Reshape, second: the Transpose)
// on static shapes. Who else reads the intermediates is the caller's to check.
struct TokenImage {
  const Node* first = nullptr;
  const Node* second = nullptr;  // writes `image`
  int64_t batch = 0, channels = 0, height = 0, width = 0;
};
std::optional<TokenImage> match_token_image(const Graph& g, const GraphIndex& idx, const std::string& image);

// The Transpose(0,2,1) ending conv ─▶ Reshape [B, Co, OH·OW] ─▶ Transpose(0,2,1), the conv's
// output read only by the Reshape and the Reshape's only by the Transpose (neither a graph
// output), shapes static; else nullptr.
const Node* match_tokens_out(const Graph& g, const GraphIndex& idx, const Node& conv);

// What both token-conv passes end with: rows [B, P, K] of windows (K = kh·kw·C, window position
// major, channel minor) times the Conv's weights permuted at build time to [K, Co] — a constant
// named base + "/kiln_wt" — plus the Conv's bias when it has one, written to y; nodes named from
// `base`, appended to `nodes`. fuse_matmul_epilogue then makes one FusedMatMul of them.
void append_window_gemm(Graph& g, const Node& conv, const std::string& base, const std::string& rows, int64_t batch,
                        int64_t patches, const std::string& y, std::vector<Node>& nodes);

}  // namespace kiln
