#include "runtime/cuda/strided_layout.h"

#include "kiln/status.h"

namespace kiln::cuda {

StridedLayout make_layout(const std::vector<int64_t>& dims,
                          const std::vector<std::vector<int64_t>>& operand_strides) {
  const size_t ops = operand_strides.size();
  KILN_ASSERT(ops >= 1 && ops <= 4);
  std::vector<int64_t> d;
  std::vector<std::vector<int64_t>> s(ops);
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1) continue;
    bool merge = !d.empty();
    for (size_t k = 0; merge && k < ops; ++k)
      merge = s[k].back() == operand_strides[k][i] * dims[i];
    if (merge) {
      d.back() *= dims[i];
      for (size_t k = 0; k < ops; ++k) s[k].back() = operand_strides[k][i];
      continue;
    }
    d.push_back(dims[i]);
    for (size_t k = 0; k < ops; ++k) s[k].push_back(operand_strides[k][i]);
  }
  if (d.empty()) {  // a single element
    d.push_back(1);
    for (size_t k = 0; k < ops; ++k) s[k].push_back(1);
  }
  if (d.size() > size_t(kMaxRank))
    fail(ErrorCode::kUnsupported, "the CUDA kernels handle at most " + std::to_string(kMaxRank) +
                                      " non-contiguous dimensions, this tensor needs " +
                                      std::to_string(d.size()));
  StridedLayout l;
  l.rank = int(d.size());
  int64_t n = 1;
  for (int64_t v : d) n = v && n > (int64_t(1) << 62) / v ? (int64_t(1) << 62) : n * v;
  l.index32 = n <= 0x7fffffff;
  for (int i = 0; i < l.rank; ++i) {
    l.dims[i] = d[size_t(i)];
    for (size_t k = 0; k < ops; ++k) l.strides[k][i] = s[k][size_t(i)];
  }
  return l;
}

size_t widen_layout(StridedLayout& l, int operands, size_t elem_size, const uintptr_t* addresses) {
  const int last = l.rank - 1;
  if (last < 0) return elem_size;
  for (int k = 0; k < operands; ++k)
    if (l.strides[k][last] != 1) return elem_size;
  for (size_t width : {size_t(16), size_t(8), size_t(4)}) {
    if (width <= elem_size) break;
    bool fits = (size_t(l.dims[last]) * elem_size) % width == 0;
    for (int k = 0; fits && k < operands; ++k) {
      fits = addresses[k] % width == 0;
      for (int d = 0; fits && d < last; ++d) fits = (size_t(l.strides[k][d]) * elem_size) % width == 0;
    }
    if (!fits) continue;
    const int64_t factor = int64_t(width / elem_size);
    l.dims[last] /= factor;
    for (int k = 0; k < operands; ++k)
      for (int d = 0; d < last; ++d) l.strides[k][d] /= factor;
    return width;
  }
  return elem_size;
}

bool layout_is_contiguous_operand(const StridedLayout& l, int k) {
  int64_t expect = 1;
  for (int i = l.rank - 1; i >= 0; --i) {
    if (l.strides[k][i] != expect) return false;
    expect *= l.dims[i];
  }
  return true;
}

bool layout_is_contiguous(const StridedLayout& l, int operands) {
  for (int k = 0; k < operands; ++k)
    if (!layout_is_contiguous_operand(l, k)) return false;
  return true;
}

}  // namespace kiln::cuda
