// An index space of up to kMaxRank dims with up to four operands' element strides (0 along
// broadcast axes). Built on the host (make_* helpers collapse contiguous runs so kernels do
// less index arithmetic), passed by value to kernels.
#pragma once
#include <cstdint>
#include <vector>

namespace kiln::cuda {

constexpr int kMaxRank = 8;

struct StridedLayout {
  int rank = 0;
  bool index32 = true;  // every index fits in 31 bits: kernels divide in 32-bit arithmetic
  int64_t dims[kMaxRank] = {};
  int64_t strides[4][kMaxRank] = {};  // operand k's stride along each dim
};

// dims and per-operand strides (each the size of dims) → a layout with size-1 dims dropped and
// adjacent dims merged where every operand is contiguous across them. More than kMaxRank dims
// after collapsing is an internal error.
StridedLayout make_layout(const std::vector<int64_t>& dims,
                          const std::vector<std::vector<int64_t>>& operand_strides);

// True when every operand's strides are the row-major strides of dims (plain 1-D loop).
bool layout_is_contiguous(const StridedLayout& l, int operands);
// True when operand k's strides are the row-major strides of dims.
bool layout_is_contiguous_operand(const StridedLayout& l, int k);

}  // namespace kiln::cuda
