// Transposed convolution: col = W_g^T * X_g by GEMM, then col2im scatter-adds every column
// into the output planes. Threads split the output channels, so each owns its planes.
#include <omp.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "ops/conv/conv_kernels.h"

namespace kiln::conv {
namespace {

// Elements of one thread's column panel (2 MiB of floats).
constexpr int64_t kTileBudget = int64_t(1) << 19;

// Adds col[((m - m0) * kprod + tap) x L] (input positions [p0, p0 + L)) into planes m0..m1.
template <class T>
void col2im(const T* col, int64_t m0, int64_t m1, const Geom3& g, int64_t p0, int64_t L, T* y) {
  const Axis &A = g.ax[0], &B = g.ax[1], &E = g.ax[2];
  const int64_t kprod = g.kernel_size(), P = g.out_size();
  for (int64_t m = m0; m < m1; ++m) {
    T* yp = y + m * P;
    for (int64_t tap = 0; tap < kprod; ++tap) {
      const int64_t ka = tap / (B.k * E.k), kb = (tap / E.k) % B.k, ke = tap % E.k;
      const T* src = col + ((m - m0) * kprod + tap) * L;
      const int64_t off = ke * E.d - E.pb;
      for (int64_t p = p0, end = p0 + L; p < end;) {
        const int64_t id = p / (B.in * E.in), ih = (p / E.in) % B.in, iw = p % E.in;
        const int64_t n = std::min(E.in - iw, end - p);
        const int64_t od = id * A.s - A.pb + ka * A.d, oh = ih * B.s - B.pb + kb * B.d;
        if (od >= 0 && od < A.out && oh >= 0 && oh < B.out) {
          T* yrow = yp + (od * B.out + oh) * E.out;
          // ow = i * s + off must lie in [0, out) for input column i in [iw, iw + n).
          int64_t lo, hi;
          valid_range(off, E.s, E.out, iw + n, lo, hi);
          lo = std::max(lo, iw);
          for (int64_t i = lo; i < hi; ++i) yrow[i * E.s + off] += src[i - iw];
        }
        src += n;
        p += n;
      }
    }
  }
}

}  // namespace

template <class T>
void conv_transpose_forward(const T* x, const T* w, const T* bias, T* y, int64_t N, int64_t C,
                            int64_t M, int64_t group, const Geom3& g) {
  const int64_t Cg = C / group, Mg = M / group, kprod = g.kernel_size(), R = Mg * kprod;
  const int64_t P = g.out_size(), pin = g.in_size();
  if (N * M * P == 0) return;
  parallel_for(N * M, 4, [&](int64_t b, int64_t e) {
    for (int64_t nm = b; nm < e; ++nm)
      std::fill(y + nm * P, y + (nm + 1) * P, bias ? bias[nm % M] : T(0));
  });
  if (Cg == 0 || R == 0) return;
  // Units: (batch, group, slice of output channels); enough slices to feed every thread.
  const int64_t threads = std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()));
  const int64_t units = N * group;
  const int64_t slices = std::min(Mg, (threads + units - 1) / units);
  const int64_t ms = (Mg + slices - 1) / slices;
  const int64_t L = std::min(pin, std::max<int64_t>(64, kTileBudget / (ms * kprod)));
  // One panel per thread, allocated here: the parallel body must not throw.
  const int64_t panel = ms * kprod * L;
  std::vector<T> cols(size_t(threads * panel));
  parallel_for(units * slices, 1, [&](int64_t b, int64_t e) {
    T* col = cols.data() + size_t(omp_get_thread_num()) * size_t(panel);
    for (int64_t t = b; t < e; ++t) {
      const int64_t u = t / slices, n = u / group, gi = u % group;
      const int64_t m0 = (t % slices) * ms, m1 = std::min(Mg, m0 + ms);
      if (m0 >= m1) continue;
      const T* xg = x + (n * C + gi * Cg) * pin;
      const T* wg = w + gi * Cg * R + m0 * kprod;  // columns m0*kprod.. of W_g (Cg x R)
      T* yg = y + (n * M + gi * Mg) * P;
      for (int64_t p0 = 0; p0 < pin; p0 += L) {
        const int64_t len = std::min(L, pin - p0);
        gemm<T>(true, (m1 - m0) * kprod, len, Cg, wg, R, xg + p0, pin, col, len);
        col2im(col, m0, m1, g, p0, len, yg);
      }
    }
  });
}

template void conv_transpose_forward<float>(const float*, const float*, const float*, float*,
                                            int64_t, int64_t, int64_t, int64_t, const Geom3&);
template void conv_transpose_forward<double>(const double*, const double*, const double*, double*,
                                             int64_t, int64_t, int64_t, int64_t, const Geom3&);

}  // namespace kiln::conv
