// An index space of up to kMaxRank dims with up to four operands' element strides (0 along
// broadcast axes). Built on the host (make_* helpers collapse contiguous runs so kernels do
// less index arithmetic), passed by value to kernels.
#pragma once
#include <cstddef>
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

// Copies whose innermost dim is contiguous on every operand move `elem_size`-byte elements;
// where the run's bytes, every outer stride's bytes and every operand's address allow it, the
// layout is rewritten in place for the widest element of 16, 8 or 4 bytes and that size is
// returned (else elem_size, layout untouched). Index arithmetic per byte moved drops by the
// widening factor: a 2-byte row gather ran at 7% of copy bandwidth element by element.
size_t widen_layout(StridedLayout& l, int operands, size_t elem_size, const uintptr_t* addresses);

// True when every operand's strides are the row-major strides of dims (plain 1-D loop).
bool layout_is_contiguous(const StridedLayout& l, int operands);
// True when operand k's strides are the row-major strides of dims.
bool layout_is_contiguous_operand(const StridedLayout& l, int k);

}  // namespace kiln::cuda
