// AttentionKeepMask (domain "kiln"): which keys each query attends to in Mask2Former's masked
// cross-attention, made from the mask predictor's logits in one kernel. Put in the graph by
// passes/fuse_attention_keep_mask in place of the exported
//   Sigmoid → Reshape → Unsqueeze → Tile(heads) → Reshape → Less(threshold) ─┬──────────▶ And → Not
//                                  Cast → ReduceSum(last) → Equal(keys) → Not → Unsqueeze ┘
// which wrote the logits' sigmoid, its head copies and int64 counts to memory, nine kernels.
//
//   X  [B, Q, ...] float32 or float16 logits; the dims after Q, flattened, are the K keys
//   Y  [B·R, Q, K] bool, true = the key takes part
//
// With m[b, q, k] = sigmoid(X[b, q, k]) < threshold (the query's mask excludes key k):
//   Y[b·R + r, q, k] = !m[b, q, k] || (m[b, q, k'] for every k')
// A query whose mask excludes every key attends to all of them: transformers' Mask2Former resets
// such rows so that the softmax stays defined. sigmoid is evaluated as the Sigmoid op evaluates
// it on each device, so every decision is the one the unfused graph made there.
//
// Attributes: repeats R ≥ 1 (the head copies the graph tiled; 1 where the attention broadcasts
// the mask over its heads), threshold (finite float).
#pragma once
#include "ops/op.h"

namespace kiln {
class OpRegistry;
}

namespace kiln::attention {

inline constexpr const char* kAttentionKeepMaskOp = "AttentionKeepMask";

struct KeepMaskParams {
  int64_t repeats = 1;
  float threshold = 0.5f;
};

// The attributes, checked (kInvalidModel naming the node).
KeepMaskParams keep_mask_params(const OpContextBase& ctx);

void register_attention_keep_mask(OpRegistry& r);

}  // namespace kiln::attention
