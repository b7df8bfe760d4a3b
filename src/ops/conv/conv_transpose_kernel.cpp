// Transposed convolution: per (batch, group) one GEMM col = W_g^T * X_g, then col2im
// scatter-adds every column into the output planes.
#include <algorithm>
#include <vector>

#include "ops/conv/conv_kernels.h"

namespace kiln::conv {
namespace {

constexpr int64_t kColBudget = int64_t(1) << 21;

// Adds col[(m * kprod + tap) x L] (input positions [p0, p0 + L)) into the Mg output planes.
template <class T>
void col2im(const T* col, int64_t Mg, const Geom3& g, int64_t p0, int64_t L, T* y) {
  const Axis &A = g.ax[0], &B = g.ax[1], &E = g.ax[2];
  const int64_t kprod = g.kernel_size(), P = g.out_size();
  // Parallel over output channels: each owns its plane, so no two threads add to one element.
  parallel_for(Mg, 1, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      T* yp = y + m * P;
      for (int64_t tap = 0; tap < kprod; ++tap) {
        const int64_t ka = tap / (B.k * E.k), kb = (tap / E.k) % B.k, ke = tap % E.k;
        const T* src = col + (m * kprod + tap) * L;
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
  });
}

}  // namespace

template <class T>
void conv_transpose_forward(const T* x, const T* w, const T* bias, T* y, int64_t N, int64_t C,
                            int64_t M, int64_t group, const Geom3& g) {
  const int64_t Cg = C / group, Mg = M / group, kprod = g.kernel_size(), R = Mg * kprod;
  const int64_t P = g.out_size(), pin = g.in_size();
  if (N * M * P == 0) return;
  parallel_for(N * M, 4, [&](int64_t b, int64_t e) {
    for (int64_t nm = b; nm < e; ++nm) std::fill(y + nm * P, y + (nm + 1) * P, bias ? bias[nm % M] : T(0));
  });
  if (Cg == 0 || R == 0) return;
  const int64_t L = std::min(pin, std::max<int64_t>(256, kColBudget / R));
  std::vector<T> col(size_t(R * L));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t gi = 0; gi < group; ++gi) {
      const T* xg = x + (n * C + gi * Cg) * pin;
      const T* wg = w + gi * Cg * R;
      T* yg = y + (n * M + gi * Mg) * P;
      for (int64_t p0 = 0; p0 < pin; p0 += L) {
        const int64_t len = std::min(L, pin - p0);
        gemm<T>(true, R, len, Cg, wg, R, xg + p0, pin, col.data(), len);
        col2im(col.data(), Mg, g, p0, len, yg);
      }
    }
}

template void conv_transpose_forward<float>(const float*, const float*, const float*, float*,
                                            int64_t, int64_t, int64_t, int64_t, const Geom3&);
template void conv_transpose_forward<double>(const double*, const double*, const double*, double*,
                                             int64_t, int64_t, int64_t, int64_t, const Geom3&);

}  // namespace kiln::conv
