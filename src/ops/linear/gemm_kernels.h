// Matrix-product building blocks shared by MatMul, Gemm and Einsum: batched row-major GEMM
// through OpenBLAS for f32/f64 and a plain loop for integers, plus strided permutation and
// half-precision conversion helpers.
#pragma once
#include <cstdint>
#include <vector>

#include "ir/tensor.h"

namespace kiln::linear {

// One product's geometry: C (m x n, row-major, contiguous) = alpha * op(A) * op(B) + beta * C.
// A is stored m x k row-major, or k x m when trans_a; B is k x n, or n x k when trans_b.
struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
};

// For each i in [0, batch): C_i = alpha * op(A_i) * op(B_i) + beta * C_i, where
// A_i = a + a_off[i], B_i = b + b_off[i], C_i = c + i * m * n. beta = 0 ignores C's contents.
// T: float, double, int32_t or int64_t (integers wrap around like two's complement and
// require alpha = 1, beta in {0, 1}).
template <class T>
void batched_gemm(const T* a, const std::vector<int64_t>& a_off, const T* b,
                  const std::vector<int64_t>& b_off, T* c, int64_t batch, const GemmShape& s,
                  double alpha = 1.0, double beta = 0.0);

// dst = src with axes permuted: dst dims[i] = src_dims[perm[i]].
template <class T>
void permute(const T* src, const Dims& src_dims, const std::vector<int>& perm, T* dst);

// f16/bf16 tensors <-> float buffers, for the float-compute paths.
std::vector<float> to_float_buffer(const Tensor& t);
void from_float_buffer(const std::vector<float>& v, Tensor& t);

}  // namespace kiln::linear
