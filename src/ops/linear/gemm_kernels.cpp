#include "ops/linear/gemm_kernels.h"

#include <cblas.h>

#include <algorithm>
#include <type_traits>

#include "ops/op_util.h"

namespace kiln::linear {
namespace {

// Below this m*n*k OpenBLAS runs single-threaded, so products are spread over threads by batch.
constexpr int64_t kSmallGemm = 262144;

template <class T>
void gemm_one(const T* a, const T* b, T* c, const GemmShape& s, double alpha, double beta) {
  if (s.m == 0 || s.n == 0) return;
  if (s.k == 0) {  // empty sum: C = beta * C
    for (int64_t i = 0; i < s.m * s.n; ++i) c[i] = beta == 0.0 ? T(0) : T(beta * double(c[i]));
    return;
  }
  int64_t lda = std::max<int64_t>(1, s.trans_a ? s.m : s.k);
  int64_t ldb = std::max<int64_t>(1, s.trans_b ? s.k : s.n);
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    auto ta = s.trans_a ? CblasTrans : CblasNoTrans;
    auto tb = s.trans_b ? CblasTrans : CblasNoTrans;
    if constexpr (std::is_same_v<T, float>)
      cblas_sgemm(CblasRowMajor, ta, tb, blasint(s.m), blasint(s.n), blasint(s.k), float(alpha), a,
                  blasint(lda), b, blasint(ldb), float(beta), c, blasint(s.n));
    else
      cblas_dgemm(CblasRowMajor, ta, tb, blasint(s.m), blasint(s.n), blasint(s.k), alpha, a,
                  blasint(lda), b, blasint(ldb), beta, c, blasint(s.n));
  } else {
    // Integers: unsigned arithmetic gives the wrap-around of two's complement without UB.
    using U = std::make_unsigned_t<T>;
    std::vector<U> row(size_t(s.n));
    for (int64_t i = 0; i < s.m; ++i) {
      std::fill(row.begin(), row.end(), U(0));
      for (int64_t p = 0; p < s.k; ++p) {
        U av = U(s.trans_a ? a[p * lda + i] : a[i * lda + p]);
        if (av == 0) continue;
        for (int64_t j = 0; j < s.n; ++j)
          row[size_t(j)] += av * U(s.trans_b ? b[j * ldb + p] : b[p * ldb + j]);
      }
      T* ci = c + i * s.n;
      for (int64_t j = 0; j < s.n; ++j)
        ci[j] = T(beta == 0.0 ? row[size_t(j)] : U(ci[j]) + row[size_t(j)]);
    }
  }
}

}  // namespace

template <class T>
void batched_gemm(const T* a, const std::vector<int64_t>& a_off, const T* b,
                  const std::vector<int64_t>& b_off, T* c, int64_t batch, const GemmShape& s,
                  double alpha, double beta) {
  KILN_ASSERT(int64_t(a_off.size()) == batch && int64_t(b_off.size()) == batch);
  if constexpr (std::is_integral_v<T>) KILN_ASSERT(alpha == 1.0 && (beta == 0.0 || beta == 1.0));
  int64_t mn = s.m * s.n;
  auto run = [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      gemm_one(a + a_off[size_t(i)], b + b_off[size_t(i)], c + i * mn, s, alpha, beta);
  };
  bool small = s.m * s.n * s.k <= kSmallGemm;
  bool blas = std::is_floating_point_v<T>;
  if (batch > 1 && (small || !blas)) {
    parallel_for(batch, 1, run);
  } else {
    run(0, batch);
  }
}

template void batched_gemm<float>(const float*, const std::vector<int64_t>&, const float*,
                                  const std::vector<int64_t>&, float*, int64_t, const GemmShape&,
                                  double, double);
template void batched_gemm<double>(const double*, const std::vector<int64_t>&, const double*,
                                   const std::vector<int64_t>&, double*, int64_t,
                                   const GemmShape&, double, double);
template void batched_gemm<int32_t>(const int32_t*, const std::vector<int64_t>&, const int32_t*,
                                    const std::vector<int64_t>&, int32_t*, int64_t,
                                    const GemmShape&, double, double);
template void batched_gemm<int64_t>(const int64_t*, const std::vector<int64_t>&, const int64_t*,
                                    const std::vector<int64_t>&, int64_t*, int64_t,
                                    const GemmShape&, double, double);

template <class T>
void permute(const T* src, const Dims& src_dims, const std::vector<int>& perm, T* dst) {
  size_t rank = perm.size();
  KILN_ASSERT(rank == src_dims.size());
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  Dims src_strides = contiguous_strides(src_dims);
  Dims dims(rank), strides(rank);
  for (size_t i = 0; i < rank; ++i) {
    dims[i] = src_dims[size_t(perm[i])];
    strides[i] = src_strides[size_t(perm[i])];
  }
  int64_t total = numel_of(dims);
  if (total == 0) return;
  int64_t inner = rank ? dims[rank - 1] : 1, inner_stride = rank ? strides[rank - 1] : 0;
  int64_t rows = total / inner;
  parallel_for(rows, std::max<int64_t>(1, 8192 / inner), [&](int64_t r0, int64_t r1) {
    Dims idx(rank, 0);
    int64_t rem = r0;
    for (size_t d = rank - 1; d-- > 0;) {  // decompose the starting row over dims[0..rank-2]
      idx[d] = rem % dims[d];
      rem /= dims[d];
    }
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off = 0;
      for (size_t d = 0; d + 1 < rank; ++d) off += idx[d] * strides[d];
      T* out = dst + r * inner;
      for (int64_t j = 0; j < inner; ++j) out[j] = src[off + j * inner_stride];
      for (size_t d = rank - 1; d-- > 0;) {
        if (++idx[d] < dims[d]) break;
        idx[d] = 0;
      }
    }
  });
}

template void permute<float>(const float*, const Dims&, const std::vector<int>&, float*);
template void permute<double>(const double*, const Dims&, const std::vector<int>&, double*);

std::vector<float> to_float_buffer(const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::kF16) {
    const f16* p = t.data<f16>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = f16_to_float(p[i].bits);
  } else if (t.dtype() == DType::kBF16) {
    const bf16* p = t.data<bf16>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = bf16_to_float(p[i].bits);
  } else {
    const float* p = t.data<float>();
    std::copy(p, p + v.size(), v.begin());
  }
  return v;
}

void from_float_buffer(const std::vector<float>& v, Tensor& t) {
  KILN_ASSERT(int64_t(v.size()) == t.numel());
  if (t.dtype() == DType::kF16) {
    f16* p = t.data<f16>();
    for (size_t i = 0; i < v.size(); ++i) p[i].bits = float_to_f16(v[i]);
  } else if (t.dtype() == DType::kBF16) {
    bf16* p = t.data<bf16>();
    for (size_t i = 0; i < v.size(); ++i) p[i].bits = float_to_bf16(v[i]);
  } else {
    std::copy(v.begin(), v.end(), t.data<float>());
  }
}

}  // namespace kiln::linear
