// Einsum equations: parsing "ij,jk->ik"-style strings (implicit or explicit output, '...'
// ellipsis, repeated labels) into per-operand label lists over a shared label numbering.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ops/op.h"

namespace kiln::linear {

struct EinsumEquation {
  // Label id of each operand dim, ellipsis already expanded for the operand's rank. Letters
  // 'A'..'Z','a'..'z' are ids 0..51; ellipsis dims are 52 + j, right-aligned across operands.
  std::vector<std::vector<int>> inputs;
  std::vector<int> output;  // label ids of the output dims, in order
  int num_labels = 0;       // ids are < num_labels
};

// Parses `equation` for operands of the given ranks. Malformed equations, a wrong operand count,
// rank mismatches and output labels absent from the inputs are model errors.
EinsumEquation parse_einsum(const OpContextBase& ctx, const std::string& equation,
                            const std::vector<int>& ranks);

// Size of every label given the operands' dims: letters must agree exactly (within and across
// operands); ellipsis dims of size 1 broadcast. Unknown dims (-1) are allowed; a label whose
// only dims are unknown (or 1 alongside unknowns) is -1.
std::vector<int64_t> einsum_label_sizes(const OpContextBase& ctx, const EinsumEquation& eq,
                                        const std::vector<Dims>& dims);

}  // namespace kiln::linear
