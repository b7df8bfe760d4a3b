#include "ops/reduce/reduce_engine.h"

namespace kiln::reduce {

std::vector<AxisGroup> merge_axis_groups(const Dims& dims, const std::vector<bool>& mask) {
  std::vector<AxisGroup> groups;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1) continue;  // contributes nothing to either side
    if (!groups.empty() && groups.back().reduced == mask[i]) groups.back().size *= dims[i];
    else groups.push_back({dims[i], 1, mask[i]});
  }
  if (groups.empty()) groups.push_back({1, 1, true});
  int64_t stride = 1;
  for (size_t g = groups.size(); g-- > 0;) {
    groups[g].stride = stride;
    stride *= groups[g].size;
  }
  return groups;
}

std::vector<int64_t> group_offsets(const std::vector<AxisGroup>& groups) {
  std::vector<int64_t> offs{0};
  for (const AxisGroup& g : groups) {  // outermost first, so the result is row-major
    std::vector<int64_t> next;
    next.reserve(offs.size() * size_t(g.size));
    for (int64_t o : offs)
      for (int64_t i = 0; i < g.size; ++i) next.push_back(o + i * g.stride);
    offs = std::move(next);
  }
  return offs;
}

}  // namespace kiln::reduce
