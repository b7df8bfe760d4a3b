// The masks fuse_attention recognizes between the scores and the Softmax, as kiln.Attention's
// mask input (bool: true = the key takes part; or float32 added to the scaled scores):
//
//   Softmax(Add(scores, M))            M float32, broadcasting to the scores without growing them:
//                                      M itself (additive); or, where M is Where(b, -inf, 0)
//                                      [× a positive finite scalar constant], the bool b — negated,
//                                      since Where puts -inf where b is true — and where M is
//                                      Where(b, 0, -inf), b as it is
//   Softmax(Where(b, -inf, scores))    masked_fill: b negated (Where(b, scores, -inf): b)
//
// -inf and 0 are constants whose every element is that value (a folded ConstantOfShape zero
// tensor qualifies); a Where with any other fill is additive at most (-1e9 stays a float mask)
// or, in the masked_fill form, not matched. The scores' own match (scale, MatMul) is
// fuse_attention's.
#pragma once
#include <optional>
#include <string>

#include "passes/pattern.h"

namespace kiln {

struct AttentionMask {
  std::string value;    // the bool or float32 value kiln.Attention reads
  bool negate = false;  // value is a bool that is true where keys are masked: a Not goes first
};

// M = the operand of Add `sum` that is not `scores`, as a mask over `scores`.
std::optional<AttentionMask> added_mask(const Graph& g, const GraphIndex& idx, const Node& sum,
                                        const std::string& scores);
// Where `fill` with the scores in input slot `scores_slot` (1 or 2) and -inf in the other.
std::optional<AttentionMask> filled_mask(const Graph& g, const GraphIndex& idx, const Node& fill, size_t scores_slot);

}  // namespace kiln
