// Shared pieces of the normalization ops: parameter validation, broadcasting parameters to
// doubles, and the block normalizer (statistics in double, two-pass variance).
#pragma once
#include <cmath>
#include <vector>

#include "ops/op_util.h"

namespace kiln::norm {

// Elements of t (any dtype) as doubles.
std::vector<double> tensor_doubles(const Tensor& t);

// t broadcast unidirectionally to `target` (numpy rules, t may have extra leading 1s), as
// doubles in target's row-major order. A shape that does not broadcast is a model error.
std::vector<double> expand_to(const KernelContext& ctx, const Tensor& t, const Dims& target,
                              const char* what);

// Checks that input `i` is a 1-D tensor of length n; returns its elements as doubles.
std::vector<double> channel_param(const KernelContext& ctx, size_t i, int64_t n, const char* what);

// Inference helper: input i must be 1-D of length n where both are known.
void check_channel_param_shape(const InferContext& ctx, size_t i, const Dim& n, const char* what);

// The input's dtype must equal input 0's (ONNX type constraint T shared by both).
void require_same_dtype(const InferContext& ctx, size_t i);

// Normalizes each of `blocks` contiguous runs of `len` elements of x:
// y = (x - mean) * inv_std * scale + bias, where affine(block, i, normalized) applies the
// scale/bias. mean_out / inv_out (when non-null) receive each block's statistics.
template <class T, class Affine>
void normalize_blocks(const T* x, T* y, int64_t blocks, int64_t len, double eps,
                      const Affine& affine, double* mean_out = nullptr, double* inv_out = nullptr) {
  int64_t min_chunk = std::max<int64_t>(1, 16384 / std::max<int64_t>(len, 1));
  parallel_for(blocks, min_chunk, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* xb = x + b * len;
      T* yb = y + b * len;
      double sum = 0.0;
      for (int64_t i = 0; i < len; ++i) sum += to_double(xb[i]);
      double mean = len > 0 ? sum / double(len) : 0.0;
      double sq = 0.0;
      for (int64_t i = 0; i < len; ++i) {
        double d = to_double(xb[i]) - mean;
        sq += d * d;
      }
      double var = len > 0 ? sq / double(len) : 0.0;
      double inv = 1.0 / std::sqrt(var + eps);
      for (int64_t i = 0; i < len; ++i)
        yb[i] = from_double<T>(affine(b, i, (to_double(xb[i]) - mean) * inv));
      if (mean_out) mean_out[b] = mean;
      if (inv_out) inv_out[b] = inv;
    }
  });
}

// Calls fn(TypeTag<T>) for the float dtypes; anything else is reported as unsupported.
template <class Fn> decltype(auto) visit_float(const OpContextBase& ctx, DType dt, Fn&& fn) {
  return visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                  std::is_same_v<T, f16> || std::is_same_v<T, bf16>) {
      return fn(tag);
    } else {
      ctx.unsupported(std::string("dtype ") + dtype_name(dt) + " is not supported");
      return fn(TypeTag<float>{});  // unreachable; keeps the return type uniform
    }
  });
}

}  // namespace kiln::norm
