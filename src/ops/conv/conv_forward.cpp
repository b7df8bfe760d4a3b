// Forward convolution: im2col + GEMM, direct GEMM for pointwise convs, and a direct loop for
// depthwise convs (where GEMM would be a 1 x k matrix-vector product per channel).
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/conv/conv_kernels.h"

namespace kiln::conv {

template <>
void gemm<float>(bool trans_a, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, CblasNoTrans, int(m), int(n),
              int(k), 1.0f, a, int(lda), b, int(ldb), 0.0f, c, int(ldc));
}

template <>
void gemm<double>(bool trans_a, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
                  const double* b, int64_t ldb, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, CblasNoTrans, int(m), int(n),
              int(k), 1.0, a, int(lda), b, int(ldb), 0.0, c, int(ldc));
}

namespace {

// Elements of the im2col buffer per chunk (8 MiB of floats): bounds memory for big convs
// while keeping GEMM panels wide.
constexpr int64_t kColBudget = int64_t(1) << 21;

// dst[i] += w * src[i * s]; cloned for AVX2 so the stride-1 loop vectorizes 8-wide.
template <class T>
__attribute__((target_clones("avx2", "default"))) void axpy_row(T* dst, const T* src, int64_t n,
                                                                int64_t s, T w) {
  if (s == 1) {
    for (int64_t i = 0; i < n; ++i) dst[i] += w * src[i];
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] += w * src[i * s];
  }
}

// Fills col[K x L] for output positions [p0, p0 + L) of Cg input channels at x.
template <class T>
void im2col(const T* x, int64_t Cg, const Geom3& g, int64_t p0, int64_t L, T* col) {
  const Axis &A = g.ax[0], &B = g.ax[1], &E = g.ax[2];
  const int64_t kprod = g.kernel_size(), K = Cg * kprod, pin = g.in_size();
  parallel_for(K, std::max<int64_t>(1, 8192 / L), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r / kprod, rem = r % kprod;
      const int64_t ka = rem / (B.k * E.k), kb = (rem / E.k) % B.k, ke = rem % E.k;
      const T* xc = x + c * pin;
      T* dst = col + r * L;
      const int64_t off = ke * E.d - E.pb;
      for (int64_t p = p0, end = p0 + L; p < end;) {
        const int64_t od = p / (B.out * E.out), oh = (p / E.out) % B.out, ow = p % E.out;
        const int64_t n = std::min(E.out - ow, end - p);
        const int64_t id = od * A.s - A.pb + ka * A.d, ih = oh * B.s - B.pb + kb * B.d;
        if (id < 0 || id >= A.in || ih < 0 || ih >= B.in) {
          std::fill(dst, dst + n, T(0));
        } else {
          const T* xrow = xc + (id * B.in + ih) * E.in;
          int64_t lo, hi;
          valid_range(off, E.s, E.in, ow + n, lo, hi);
          lo = std::max(lo, ow);
          hi = std::max(hi, lo);
          std::fill(dst, dst + (lo - ow), T(0));
          if (E.s == 1) {
            std::memcpy(dst + (lo - ow), xrow + lo + off, size_t(hi - lo) * sizeof(T));
          } else {
            for (int64_t o = lo; o < hi; ++o) dst[o - ow] = xrow[o * E.s + off];
          }
          std::fill(dst + (hi - ow), dst + n, T(0));
        }
        dst += n;
        p += n;
      }
    }
  });
}

// One output channel plane of a depthwise conv: y += sum over taps of w * shifted x.
template <class T>
void depthwise_plane(const T* x, const T* w, T* y, const Geom3& g) {
  const Axis &A = g.ax[0], &B = g.ax[1], &E = g.ax[2];
  for (int64_t od = 0; od < A.out; ++od)
    for (int64_t oh = 0; oh < B.out; ++oh) {
      T* yrow = y + (od * B.out + oh) * E.out;
      for (int64_t ka = 0; ka < A.k; ++ka) {
        const int64_t id = od * A.s - A.pb + ka * A.d;
        if (id < 0 || id >= A.in) continue;
        for (int64_t kb = 0; kb < B.k; ++kb) {
          const int64_t ih = oh * B.s - B.pb + kb * B.d;
          if (ih < 0 || ih >= B.in) continue;
          const T* xrow = x + (id * B.in + ih) * E.in;
          const T* wrow = w + (ka * B.k + kb) * E.k;
          for (int64_t ke = 0; ke < E.k; ++ke) {
            const int64_t off = ke * E.d - E.pb;
            int64_t lo, hi;
            valid_range(off, E.s, E.in, E.out, lo, hi);
            if (hi > lo) axpy_row<T>(yrow + lo, xrow + lo * E.s + off, hi - lo, E.s, wrow[ke]);
          }
        }
      }
    }
}

}  // namespace

template <class T>
void conv_forward(const T* x, const T* w, const T* bias, T* y, int64_t N, int64_t C, int64_t M,
                  int64_t group, const Geom3& g) {
  const int64_t Cg = C / group, Mg = M / group, kprod = g.kernel_size(), K = Cg * kprod;
  const int64_t P = g.out_size(), pin = g.in_size();
  if (N * M * P == 0) return;
  auto init_plane = [&](int64_t nm) {
    T* yp = y + nm * P;
    std::fill(yp, yp + P, bias ? bias[nm % M] : T(0));
  };

  if (group > 1 && Cg == 1) {
    parallel_for(N * M, 1, [&](int64_t b, int64_t e) {
      for (int64_t nm = b; nm < e; ++nm) {
        const int64_t n = nm / M, m = nm % M, c = m / Mg;
        init_plane(nm);
        depthwise_plane(x + (n * C + c) * pin, w + m * kprod, y + nm * P, g);
      }
    });
    return;
  }
  if (K == 0) {  // no input channels: the output is the bias
    parallel_for(N * M, 1, [&](int64_t b, int64_t e) {
      for (int64_t nm = b; nm < e; ++nm) init_plane(nm);
    });
    return;
  }

  bool pointwise = kprod == 1;
  for (const Axis& a : g.ax) pointwise = pointwise && a.s == 1 && a.pb == 0 && a.pe == 0;
  const int64_t L = pointwise ? P : std::min(P, std::max<int64_t>(256, kColBudget / K));
  std::vector<T> col(pointwise ? 0 : size_t(K * L));
  // GEMMs run one at a time: OpenBLAS threads each one internally.
  for (int64_t n = 0; n < N; ++n)
    for (int64_t gi = 0; gi < group; ++gi) {
      const T* xg = x + (n * C + gi * Cg) * pin;
      const T* wg = w + gi * Mg * K;
      T* yg = y + (n * M + gi * Mg) * P;
      if (pointwise) {
        gemm<T>(false, Mg, P, Cg, wg, Cg, xg, P, yg, P);
        continue;
      }
      for (int64_t p0 = 0; p0 < P; p0 += L) {
        const int64_t len = std::min(L, P - p0);
        im2col(xg, Cg, g, p0, len, col.data());
        gemm<T>(false, Mg, len, K, wg, K, col.data(), len, yg + p0, P);
      }
    }
  if (bias) {
    parallel_for(N * M, 4, [&](int64_t b, int64_t e) {
      for (int64_t nm = b; nm < e; ++nm) {
        T* yp = y + nm * P;
        const T bv = bias[nm % M];
        for (int64_t i = 0; i < P; ++i) yp[i] += bv;
      }
    });
  }
}

template void conv_forward<float>(const float*, const float*, const float*, float*, int64_t,
                                  int64_t, int64_t, int64_t, const Geom3&);
template void conv_forward<double>(const double*, const double*, const double*, double*, int64_t,
                                   int64_t, int64_t, int64_t, const Geom3&);

}  // namespace kiln::conv
