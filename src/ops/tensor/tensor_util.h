// Helpers shared by the tensor (data movement) ops: element copies by byte size, a strided
// copy engine that Transpose/Slice/Expand/DepthToSpace all reduce to, and inference helpers.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "ops/op_util.h"

namespace kiln::tensor_ops {

// Calls fn(TypeTag<U>{}) with an unsigned integer type of the given byte size; data movement
// never needs to know more about an element than its width.
template <class Fn> decltype(auto) visit_width(size_t bytes, Fn&& fn) {
  switch (bytes) {
    case 1: return fn(TypeTag<uint8_t>{});
    case 2: return fn(TypeTag<uint16_t>{});
    case 4: return fn(TypeTag<uint32_t>{});
    default: KILN_ASSERT(bytes == 8); return fn(TypeTag<uint64_t>{});
  }
}

// Walks consecutive positions of a row-major index over `dims`, keeping one or two linear
// offsets (with their strides) up to date incrementally instead of recomputing them.
struct OffsetWalker {
  const Dims& dims;
  const Dims& s0;
  const Dims& s1;
  Dims idx;
  int64_t off0 = 0, off1 = 0;

  OffsetWalker(const Dims& d, const Dims& a, const Dims& b, int64_t flat, int64_t base0,
               int64_t base1)
      : dims(d), s0(a), s1(b), idx(d.size(), 0), off0(base0), off1(base1) {
    for (size_t i = dims.size(); i-- > 0;) {
      idx[i] = flat % dims[i];
      flat /= dims[i];
      off0 += idx[i] * s0[i];
      off1 += idx[i] * s1[i];
    }
  }
  void next() {
    for (size_t i = dims.size(); i-- > 0;) {
      off0 += s0[i];
      off1 += s1[i];
      if (++idx[i] < dims[i]) return;
      off0 -= s0[i] * dims[i];
      off1 -= s1[i] * dims[i];
      idx[i] = 0;
    }
  }
};

// out (contiguous, out_dims) [i] = in[in_offset + sum_d idx_d * in_strides[d]], in elements of
// elem_size bytes. Strides may be negative (reversed slices) or 0 (broadcast). Merges
// contiguous axes, copies unit-stride rows with memcpy, and tiles 2-D transposes for cache
// reuse; runs in parallel.
void strided_copy(size_t elem_size, void* out, const Dims& out_dims, const void* in,
                  int64_t in_offset, const Dims& in_strides);

// out = transpose(in, perm): out dim i is in dim perm[i]. perm must be a valid permutation.
Tensor permute(const Tensor& in, const std::vector<int>& perm);

// Shape of `rank` unknown dims.
Shape unknown_shape(size_t rank);

// The length of a 1-D input from its static shape, if known.
std::optional<int64_t> known_length(const InferContext& ctx, size_t i);

// Input i's integer values in a kernel; checks it is an integer tensor.
std::vector<int64_t> kernel_ints(const KernelContext& ctx, size_t i, const char* what);

// Requires input i of an inference context to be an int32/int64 tensor.
void require_index_type(const InferContext& ctx, size_t i);

// Element counts overflowing int64 or negative dims are model errors.
int64_t checked_numel(const OpContextBase& ctx, const Dims& dims);

// ConstantOfShape's `value` attribute (one element), float32 0 when absent.
Tensor constant_of_shape_value(const OpContextBase& ctx);

}  // namespace kiln::tensor_ops
