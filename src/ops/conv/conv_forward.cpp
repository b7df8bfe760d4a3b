// Forward convolution: im2col + GEMM, direct GEMM for pointwise convs, and a direct loop for
// depthwise convs (where GEMM would be a 1 x k matrix-vector product per channel).
#include <cblas.h>

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <thread>
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

// Elements of one thread's im2col panel (2 MiB of floats, about an L2): bounds memory for
// big convs and keeps the panel cache-resident between im2col and GEMM.
constexpr int64_t kTileBudget = int64_t(1) << 19;

// clang (the fuzz build, cmake/fuzz.cmake) refuses target_clones on templates; it gets one copy.
#if defined(__clang__)
#define KILN_AVX2_CLONES
#else
#define KILN_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#endif

// dst[i] += w * src[i * s]; cloned for AVX2 so the stride-1 loop vectorizes 8-wide.
template <class T>
KILN_AVX2_CLONES void axpy_row(T* dst, const T* src, int64_t n, int64_t s, T w) {
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
  for (int64_t r = 0; r < K; ++r) {
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
  // Work units: (batch, group, column tile). Each thread builds its tile's im2col panel
  // (sized for L2) and runs a single-threaded GEMM on it, then adds the bias while hot.
  const int64_t threads = std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()));
  const int64_t units = N * group;
  int64_t tiles = pointwise ? 1 : (K * P + kTileBudget - 1) / kTileBudget;
  tiles = std::min(P, (tiles + threads - 1) / threads * threads);  // balanced across threads
  const int64_t L = (P + tiles - 1) / tiles;
  // One panel per thread, allocated here: the parallel body must not throw.
  const int64_t panel = pointwise ? 0 : K * L;
  std::vector<T> cols(size_t(threads * panel));
  parallel_for(units * tiles, 1, [&](int64_t b, int64_t e) {
    T* col = cols.data() + size_t(omp_get_thread_num()) * size_t(panel);
    for (int64_t t = b; t < e; ++t) {
      const int64_t u = t / tiles, n = u / group, gi = u % group, p0 = (t % tiles) * L;
      const int64_t len = std::min(L, P - p0);
      if (len <= 0) continue;
      const T* xg = x + (n * C + gi * Cg) * pin;
      const T* wg = w + gi * Mg * K;
      T* yg = y + (n * M + gi * Mg) * P + p0;
      if (pointwise) {
        gemm<T>(false, Mg, len, Cg, wg, Cg, xg + p0, P, yg, P);
      } else {
        im2col(xg, Cg, g, p0, len, col);
        gemm<T>(false, Mg, len, K, wg, K, col, len, yg, P);
      }
      if (bias)
        for (int64_t m = 0; m < Mg; ++m) {
          const T bv = bias[gi * Mg + m];
          T* row = yg + m * P;
          for (int64_t i = 0; i < len; ++i) row[i] += bv;
        }
    }
  });
}

template void conv_forward<float>(const float*, const float*, const float*, float*, int64_t,
                                  int64_t, int64_t, int64_t, const Geom3&);
template void conv_forward<double>(const double*, const double*, const double*, double*, int64_t,
                                   int64_t, int64_t, int64_t, const Geom3&);

}  // namespace kiln::conv
