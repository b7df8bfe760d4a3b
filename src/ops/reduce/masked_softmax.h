// MaskedSoftmax (domain "kiln"): Softmax along the last axis of X with the elements where
// `masked` is True left out (weight 0). It is the exported masked_fill(mask, -inf) → Softmax(-1)
// in one read and one write: passes/fuse_masked_softmax puts it in place of
// Where(mask, -inf, X) → Softmax (AnchorDETR's row and column attention over padded images, the
// seeds' MaskedSoftmax plugin), and models may name kiln.MaskedSoftmax themselves.
//
//   X       [..., n]   float
//   masked  bool, broadcastable to X (numpy rules; the result keeps X's shape)
//   Y       X's dtype and shape
//
// A row whose every element is masked is NaN throughout, as Softmax of all -inf is (0/0), so the
// fused graph computes what the unfused one did.
#pragma once
#include "ops/op.h"

namespace kiln {
class OpRegistry;
}

namespace kiln::reduce {

inline constexpr const char* kMaskedSoftmaxOp = "MaskedSoftmax";

void register_masked_softmax(OpRegistry& r);

}  // namespace kiln::reduce
