// Naive double-precision references for the conv family tests: direct N-d loops over
// multi-indices, written independently of the kernels' im2col / 3-D normalization.
#pragma once
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "harness.h"

namespace kiln::test::convref {

inline Dims unravel(int64_t i, const Dims& dims) {
  Dims idx(dims.size());
  for (size_t a = dims.size(); a-- > 0;) {
    idx[a] = i % dims[a];
    i /= dims[a];
  }
  return idx;
}

inline int64_t prod(const Dims& d) {
  int64_t p = 1;
  for (int64_t v : d) p *= v;
  return p;
}

inline Attributes attrs_of(
    std::initializer_list<std::pair<std::string, AttrValue>> list) {
  Attributes a;
  for (auto& [k, v] : list) a.set(k, v);
  return a;
}

// run_op without designated initializers (OpCall's members have no defaults).
inline std::vector<Tensor> run(const std::string& op, std::vector<Tensor> inputs,
                               Attributes attrs = {}, int num_outputs = 1, int opset = 17) {
  OpCall c;
  c.op = op;
  c.inputs = std::move(inputs);
  c.attrs = std::move(attrs);
  c.num_outputs = num_outputs;
  c.opset = opset;
  return run_op(c);
}

inline ErrorCode error_code(const std::string& op, std::vector<Tensor> inputs,
                            Attributes attrs = {}, int num_outputs = 1) {
  try {
    run(op, std::move(inputs), std::move(attrs), num_outputs);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // no error at all
}

// Conv with explicit pads (begins then ends). Returns y; out_dims receives its dims.
inline std::vector<double> conv(const Tensor& X, const Tensor& W, const Tensor* B, int64_t group,
                                const Dims& s, const Dims& d, const Dims& pads, Dims& out_dims) {
  const Dims& xd = X.dims();
  const Dims& wd = W.dims();
  const size_t n = xd.size() - 2;
  std::vector<double> x = to_doubles(X), w = to_doubles(W);
  std::vector<double> b = B ? to_doubles(*B) : std::vector<double>();
  const int64_t N = xd[0], C = xd[1], M = wd[0], Cg = C / group, Mg = M / group;
  Dims in(xd.begin() + 2, xd.end()), k(wd.begin() + 2, wd.end()), out(n);
  for (size_t a = 0; a < n; ++a)
    out[a] = (in[a] + pads[a] + pads[a + n] - d[a] * (k[a] - 1) - 1) / s[a] + 1;
  out_dims = {N, M};
  out_dims.insert(out_dims.end(), out.begin(), out.end());
  const int64_t P = prod(out), K = prod(k), S = prod(in);
  std::vector<double> y(size_t(N * M * P));
  for (int64_t bn = 0; bn < N; ++bn)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t o = 0; o < P; ++o) {
        Dims oi = unravel(o, out);
        double acc = B ? b[size_t(m)] : 0.0;
        const int64_t g = m / Mg;
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t t = 0; t < K; ++t) {
            Dims ti = unravel(t, k);
            int64_t flat = 0;
            bool ok = true;
            for (size_t a = 0; a < n; ++a) {
              int64_t i = oi[a] * s[a] - pads[a] + ti[a] * d[a];
              ok = ok && i >= 0 && i < in[a];
              flat = flat * in[a] + i;
            }
            if (!ok) continue;
            acc += x[size_t((bn * C + g * Cg + c) * S + flat)] * w[size_t((m * Cg + c) * K + t)];
          }
        y[size_t((bn * M + m) * P + o)] = acc;
      }
  return y;
}

// ConvTranspose with explicit (possibly negative) pads and output extents.
inline std::vector<double> conv_transpose(const Tensor& X, const Tensor& W, const Tensor* B,
                                          int64_t group, const Dims& s, const Dims& d,
                                          const Dims& pads, const Dims& out) {
  const Dims& xd = X.dims();
  const Dims& wd = W.dims();
  const size_t n = xd.size() - 2;
  std::vector<double> x = to_doubles(X), w = to_doubles(W);
  const int64_t N = xd[0], C = xd[1], Cg = C / group, Mg = wd[1], M = Mg * group;
  Dims in(xd.begin() + 2, xd.end()), k(wd.begin() + 2, wd.end());
  const int64_t P = prod(out), K = prod(k), S = prod(in);
  std::vector<double> y(size_t(N * M * P), 0.0);
  if (B) {
    std::vector<double> b = to_doubles(*B);
    for (int64_t i = 0; i < N * M * P; ++i) y[size_t(i)] = b[size_t((i / P) % M)];
  }
  for (int64_t bn = 0; bn < N; ++bn)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < S; ++p) {
        Dims ii = unravel(p, in);
        const double xv = x[size_t((bn * C + c) * S + p)];
        const int64_t g = c / Cg;
        for (int64_t mm = 0; mm < Mg; ++mm)
          for (int64_t t = 0; t < K; ++t) {
            Dims ti = unravel(t, k);
            int64_t flat = 0;
            bool ok = true;
            for (size_t a = 0; a < n; ++a) {
              int64_t o = ii[a] * s[a] - pads[a] + ti[a] * d[a];
              ok = ok && o >= 0 && o < out[a];
              flat = flat * out[a] + o;
            }
            if (!ok) continue;
            const int64_t m = g * Mg + mm;
            y[size_t((bn * M + m) * P + flat)] += xv * w[size_t((c * Mg + mm) * K + t)];
          }
      }
  return y;
}

enum class Pool { kMax, kAvg, kAvgIncludePad, kLp };

// Pools with explicit pads and output extents (the caller decides ceil_mode effects).
// indices (MaxPool) use row-major spatial flattening, or column-major when col_major.
inline std::vector<double> pool(const Tensor& X, Pool kind, const Dims& k, const Dims& s,
                                const Dims& d, const Dims& pads, const Dims& out, double p = 2,
                                std::vector<int64_t>* indices = nullptr, bool col_major = false) {
  const Dims& xd = X.dims();
  const size_t n = xd.size() - 2;
  std::vector<double> x = to_doubles(X);
  Dims in(xd.begin() + 2, xd.end());
  const int64_t planes = xd[0] * xd[1], P = prod(out), K = prod(k), S = prod(in);
  std::vector<double> y(size_t(planes * P));
  if (indices) indices->assign(y.size(), -1);
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t o = 0; o < P; ++o) {
      Dims oi = unravel(o, out);
      double acc = kind == Pool::kMax ? -INFINITY : 0.0;
      int64_t count = 0, best = -1;
      for (int64_t t = 0; t < K; ++t) {
        Dims ti = unravel(t, k);
        int64_t flat = 0, cflat = 0, cstride = 1;
        bool ok = true, in_padded = true;
        for (size_t a = 0; a < n; ++a) {
          int64_t i = oi[a] * s[a] - pads[a] + ti[a] * d[a];
          ok = ok && i >= 0 && i < in[a];
          in_padded = in_padded && i >= -pads[a] && i < in[a] + pads[a + n];
          flat = flat * in[a] + i;
          cflat += i * cstride;
          cstride *= in[a];
        }
        if (kind == Pool::kAvgIncludePad && in_padded) ++count;
        if (!ok) continue;
        const double v = x[size_t(pl * S + flat)];
        if (kind == Pool::kMax) {
          if (best < 0 || v > acc) {
            acc = v;
            best = pl * S + (col_major ? cflat : flat);
          }
        } else if (kind == Pool::kLp) {
          acc += std::pow(std::fabs(v), p);
        } else {
          acc += v;
          if (kind == Pool::kAvg) ++count;
        }
      }
      if (kind == Pool::kAvg || kind == Pool::kAvgIncludePad) acc /= double(count);
      if (kind == Pool::kLp) acc = std::pow(acc, 1.0 / p);
      y[size_t(pl * P + o)] = acc;
      if (indices) (*indices)[size_t(pl * P + o)] = best;
    }
  return y;
}

}  // namespace kiln::test::convref
