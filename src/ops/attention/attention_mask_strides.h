// Where the CUDA attention kernels read a mask: the element strides for (outer item, head,
// query, key) of a mask broadcast to the scores [..., H, Nq, Nk], the dims before H flattened
// into one outer index as the kernels flatten Q's (attention_launch.h). Host code, no CUDA,
// so the index math is unit-tested on any machine.
#pragma once
#include <cstdint>
#include <optional>

#include "ir/shape.h"

namespace kiln::attention {

struct MaskStrides {
  int64_t outer = 0, head = 0, row = 0, col = 0;  // 0 where the mask broadcasts
};

// Strides of a contiguous mask of dims `mask` read as `scores` (rank >= 2, the mask's rank no
// higher, each mask dim 1 or equal). Nothing when the mask does not broadcast to the scores,
// or when its leading dims cannot be walked with one outer stride (a mask broadcast along some
// but not all of several dims before H — rank 5 and up only).
std::optional<MaskStrides> mask_strides(const Dims& mask, const Dims& scores);

}  // namespace kiln::attention
