// Convolution compute kernels on dense NC(D)(H)W buffers, for T = float or double
// (f16/bf16 are widened to float by the callers). Shapes are validated by the callers.
#pragma once
#include <cstdint>

#include "ops/conv/window.h"

namespace kiln::conv {

// y[N, M, out...] = conv(x[N, C, in...], w[M, C/group, k...]) + bias[M] (bias may be null).
// im2col + BLAS GEMM; 1x1 stride-1 unpadded convs use GEMM directly; depthwise
// (C/group == 1, group > 1) a direct vectorizable loop.
template <class T>
void conv_forward(const T* x, const T* w, const T* bias, T* y, int64_t N, int64_t C, int64_t M,
                  int64_t group, const Geom3& g);

// y[N, M, out...] = conv_transpose(x[N, C, in...], w[C, M/group, k...]) + bias[M], where
// input position i contributes to output i*s - pb + k*d. GEMM + col2im.
template <class T>
void conv_transpose_forward(const T* x, const T* w, const T* bias, T* y, int64_t N, int64_t C,
                            int64_t M, int64_t group, const Geom3& g);

// Row-major C[m x n] = op(A) * B (beta 0) through cblas_sgemm / cblas_dgemm.
template <class T>
void gemm(bool trans_a, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
          int64_t ldb, T* c, int64_t ldc);

}  // namespace kiln::conv
