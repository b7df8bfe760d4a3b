// MaskedSoftmax (masked_softmax.h): shape inference and the CPU reference, which forms each row
// in double with masked elements at -inf, subtracts the row maximum and rounds each output once,
// like the reference Softmax does for the Where it replaces.
#include "ops/reduce/masked_softmax.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ops/reduce/exp_nonpositive.h"
#include "ops/reduce/reduce_common.h"

namespace kiln::reduce {
namespace {

std::vector<ValueType> masked_softmax_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  if (ctx.dtype(1) != DType::kBool)
    ctx.invalid(std::string("the mask must be bool, got ") + dtype_name(ctx.dtype(1)));
  const ValueType& x = ctx.type(0);
  const Shape* m = ctx.shape(1);
  if (x.shape && x.shape->empty()) ctx.invalid("X must have rank >= 1: the softmax runs along its last axis");
  if (x.shape && m) {
    const Shape& xs = *x.shape;
    if (m->size() > xs.size())
      ctx.invalid("the mask (rank " + std::to_string(m->size()) + ") does not broadcast to X (rank " +
                  std::to_string(xs.size()) + ")");
    const size_t off = xs.size() - m->size();
    for (size_t i = 0; i < m->size(); ++i) {
      const Dim &md = (*m)[i], &xd = xs[off + i];
      // A symbolic mask dim may be 1 at run time: decided when the shapes are.
      if (!md.known() || !xd.known() || md.value == 1 || md.value == xd.value) continue;
      ctx.invalid("mask dim " + std::to_string(i) + " (" + dim_to_string(md) + ") does not broadcast to X's dim " +
                  dim_to_string(xd));
    }
  }
  return {x};
}

template <class T>
void masked_rows(const T* x, const bool* mask, const Dims& mstrides, const Dims& dims, T* y) {
  const int64_t n = dims.back(), rows = numel_of(dims) / std::max<int64_t>(n, 1);
  const int lead = int(dims.size()) - 1;
  const int64_t mlast = mstrides.back();
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    std::vector<double> shifted(static_cast<size_t>(n)), ex(static_cast<size_t>(n));
    for (int64_t row = b; row < e; ++row) {
      int64_t moff = 0;
      for (int64_t rem = row, d = lead - 1; d >= 0; --d) {
        moff += (rem % dims[size_t(d)]) * mstrides[size_t(d)];
        rem /= dims[size_t(d)];
      }
      const T* src = x + row * n;
      T* dst = y + row * n;
      double m = -INFINITY;
      for (int64_t i = 0; i < n; ++i) {
        shifted[size_t(i)] = mask[moff + i * mlast] ? -INFINITY : to_double(src[i]);
        m = std::max(m, shifted[size_t(i)]);
      }
      if (!(m > -INFINITY)) {  // every element masked: 0/0, as Softmax of all -inf
        for (int64_t i = 0; i < n; ++i) dst[i] = from_double<T>(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      for (int64_t i = 0; i < n; ++i) shifted[size_t(i)] -= m;
      exp_nonpositive(shifted.data(), ex.data(), n);
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += ex[size_t(i)];
      for (int64_t i = 0; i < n; ++i) dst[i] = from_double<T>(ex[size_t(i)] / s);
    }
  });
}

std::vector<Tensor> masked_softmax_cpu(const KernelContext& ctx) {
  const Tensor &x = ctx.input(0), &mask = ctx.input(1);
  if (!dtype_is_float(x.dtype())) ctx.unsupported(std::string("X of type ") + dtype_name(x.dtype()) + " is not supported");
  if (mask.dtype() != DType::kBool) ctx.invalid("the mask must be bool");
  if (x.rank() < 1) ctx.invalid("X must have rank >= 1");
  if (mask.rank() > x.rank()) ctx.invalid("the mask has a higher rank than X");
  for (int i = 0; i < mask.rank(); ++i) {
    const int64_t md = mask.dim(i), xd = x.dim(x.rank() - mask.rank() + i);
    if (md != 1 && md != xd) ctx.invalid("the mask " + dims_to_string(mask.dims()) + " does not broadcast to X " + dims_to_string(x.dims()));
  }
  Tensor y(x.dtype(), x.dims());
  if (y.numel() == 0) return {y};
  const Dims ms = broadcast_strides(mask.dims(), x.dims());
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (kIsFloat<T>) masked_rows(x.data<T>(), mask.data<bool>(), ms, x.dims(), y.data<T>());
  });
  return {y};
}

}  // namespace

void register_masked_softmax(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kMaskedSoftmaxOp, .min_inputs = 2, .max_inputs = 2,
         .infer = masked_softmax_infer, .cpu = masked_softmax_cpu});
}

}  // namespace kiln::reduce
