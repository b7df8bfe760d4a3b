// MaxPool, AveragePool, LpPool and the global pools against naive double references.
#include "test_conv_ref.h"

namespace kiln::test {
namespace {

using convref::attrs_of;
using convref::Pool;

// Floor-mode output extents for explicit pads (ceil-mode cases spell their dims out).
Dims floor_out(const Dims& x, const Dims& k, const Dims& s, const Dims& d, const Dims& pads) {
  const size_t n = k.size();
  Dims out(n);
  for (size_t a = 0; a < n; ++a)
    out[a] = (x[2 + a] + pads[a] + pads[a + n] - (k[a] - 1) * d[a] - 1) / s[a] + 1;
  return out;
}

Dims full_dims(const Dims& x, const Dims& out) {
  Dims r = {x[0], x[1]};
  r.insert(r.end(), out.begin(), out.end());
  return r;
}

TEST(PoolOp, MaxPoolStridesDilationsPadsAndIndices) {
  Dims xd = {2, 3, 17, 13}, k = {3, 2}, s = {2, 1}, d = {1, 2}, pads = {1, 0, 2, 1};
  Tensor X = random_tensor(DType::kF32, xd, 1);
  Dims out = floor_out(xd, k, s, d, pads);
  for (int64_t order : {0, 1}) {
    Attributes a = attrs_of({{"kernel_shape", k}, {"strides", s}, {"dilations", d}, {"pads", pads},
                             {"storage_order", order}});
    auto got = convref::run("MaxPool", {X}, a, 2);
    std::vector<int64_t> idx;
    auto want = convref::pool(X, Pool::kMax, k, s, d, pads, out, 2, &idx, order == 1);
    expect_dims(got[0], full_dims(xd, out));
    expect_close(got[0], want, 0, 0);
    ASSERT_EQ(got[1].dtype(), DType::kI64);
    std::vector<int64_t> got_idx(got[1].data<int64_t>(), got[1].data<int64_t>() + got[1].numel());
    EXPECT_EQ(got_idx, idx) << "storage_order " << order;
  }
}

TEST(PoolOp, MaxPool1d3dAndByteTypes) {
  for (Dims xd : {Dims{2, 3, 1023}, Dims{1, 2, 5, 6, 7}}) {
    const size_t n = xd.size() - 2;
    Dims k(n, 3), s(n, 2), d(n, 1), pads(2 * n, 1);
    Tensor X = random_tensor(DType::kF64, xd, 2);
    auto got = convref::run("MaxPool", {X},
                            attrs_of({{"kernel_shape", k}, {"strides", s}, {"pads", pads}}));
    expect_close(got[0], convref::pool(X, Pool::kMax, k, s, d, pads, floor_out(xd, k, s, d, pads)), 0, 0);
  }
  for (DType dt : {DType::kI8, DType::kU8, DType::kF16, DType::kBF16}) {
    Dims xd = {1, 2, 7, 6}, k = {2, 3}, s = {1, 2}, d = {1, 1}, pads = {0, 1, 1, 0};
    Tensor X = random_tensor(dt, xd, 3, dt == DType::kU8 ? 0 : -100, 100);
    auto got = convref::run("MaxPool", {X},
                            attrs_of({{"kernel_shape", k}, {"strides", s}, {"pads", pads}}));
    EXPECT_EQ(got[0].dtype(), dt);
    expect_close(got[0], convref::pool(X, Pool::kMax, k, s, d, pads, floor_out(xd, k, s, d, pads)), 0, 0);
  }
}

// ceil_mode keeps a partial last window but drops one that would start in the end padding.
TEST(PoolOp, CeilMode) {
  Dims xd = {1, 2, 5, 4}, k = {2, 2}, s = {2, 2}, d = {1, 1}, pads = {0, 0, 0, 1};
  Tensor X = random_tensor(DType::kF32, xd, 4);
  Attributes a = attrs_of({{"kernel_shape", k}, {"strides", s}, {"pads", pads},
                           {"ceil_mode", int64_t(1)}});
  // H: (5 - 2) / 2 -> ceil 2, + 1 = 3. W: (4 + 1 - 2) / 2 -> ceil 2, + 1 = 3, but the third
  // window would start at 4 = in + pad_begin, inside the padding: 2.
  Dims out = {3, 2};
  auto mx = convref::run("MaxPool", {X}, a);
  expect_dims(mx[0], {1, 2, 3, 2});
  expect_close(mx[0], convref::pool(X, Pool::kMax, k, s, d, pads, out), 0, 0);
  auto avg = convref::run("AveragePool", {X}, a);
  expect_close(avg[0], convref::pool(X, Pool::kAvg, k, s, d, pads, out));
  a.set("count_include_pad", int64_t(1));
  auto inc = convref::run("AveragePool", {X}, a);
  expect_close(inc[0], convref::pool(X, Pool::kAvgIncludePad, k, s, d, pads, out));
  auto lp = convref::run("LpPool", {X}, attrs_of({{"kernel_shape", k}, {"strides", s},
                                                  {"pads", pads}, {"ceil_mode", int64_t(1)}}),
                         1, 18);
  expect_close(lp[0], convref::pool(X, Pool::kLp, k, s, d, pads, out, 2));
}

TEST(PoolOp, AveragePoolPadsDilationsAndRanks) {
  for (Dims xd : {Dims{2, 3, 19}, Dims{2, 3, 11, 10}, Dims{1, 2, 5, 6, 7}}) {
    const size_t n = xd.size() - 2;
    Dims k(n, 3), s(n, 2), d(n, 1), pads;
    for (size_t i = 0; i < 2 * n; ++i) pads.push_back(int64_t(i % 3));
    d.back() = 2;  // dilations: opset 19
    Tensor X = random_tensor(DType::kF32, xd, 5);
    Dims out = floor_out(xd, k, s, d, pads);
    for (int64_t inc : {0, 1}) {
      auto got = convref::run("AveragePool", {X},
                              attrs_of({{"kernel_shape", k}, {"strides", s}, {"dilations", d},
                                        {"pads", pads}, {"count_include_pad", inc}}),
                              1, 19);
      expect_dims(got[0], full_dims(xd, out));
      expect_close(got[0], convref::pool(X, inc ? Pool::kAvgIncludePad : Pool::kAvg, k, s, d, pads, out));
    }
  }
  Tensor H = random_tensor(DType::kF16, {1, 2, 6, 7}, 6);
  auto got = convref::run("AveragePool", {H}, attrs_of({{"kernel_shape", Dims{3, 3}}}), 1, 13);
  expect_close(got[0], convref::pool(H, Pool::kAvg, {3, 3}, {1, 1}, {1, 1}, {0, 0, 0, 0}, {4, 5}),
               2e-3, 2e-3);
}

TEST(PoolOp, AutoPad) {
  Dims xd = {1, 2, 5, 6}, k = {2, 3}, s = {2, 2}, d = {1, 1};
  Tensor X = random_tensor(DType::kF32, xd, 7);
  // H: out ceil(5/2) = 3, total 2*2 + 2 - 5 = 1; W: out 3, total 2*2 + 3 - 6 = 1.
  struct Want { const char* mode; Dims pads; Dims out; };
  for (const Want& w : {Want{"SAME_UPPER", {0, 0, 1, 1}, {3, 3}},
                        Want{"SAME_LOWER", {1, 1, 0, 0}, {3, 3}},
                        Want{"VALID", {0, 0, 0, 0}, {2, 2}}}) {
    Attributes a = attrs_of({{"kernel_shape", k}, {"strides", s}, {"auto_pad", std::string(w.mode)}});
    auto mx = convref::run("MaxPool", {X}, a);
    expect_dims(mx[0], full_dims(xd, w.out));
    expect_close(mx[0], convref::pool(X, Pool::kMax, k, s, d, w.pads, w.out), 0, 0);
    auto avg = convref::run("AveragePool", {X}, a);
    expect_close(avg[0], convref::pool(X, Pool::kAvg, k, s, d, w.pads, w.out));
  }
}

TEST(PoolOp, LpPool) {
  Dims xd = {2, 3, 9, 8}, k = {3, 2}, s = {2, 2}, d = {1, 1}, pads = {1, 0, 1, 1};
  Tensor X = random_tensor(DType::kF32, xd, 8);
  for (int64_t p : {1, 2, 3}) {
    auto got = convref::run("LpPool", {X},
                            attrs_of({{"kernel_shape", k}, {"strides", s}, {"pads", pads}, {"p", p}}),
                            1, 13);
    expect_close(got[0], convref::pool(X, Pool::kLp, k, s, d, pads, floor_out(xd, k, s, d, pads),
                                       double(p)));
  }
  Dims d2 = {2, 1};  // opset 18 dilations
  auto got = convref::run("LpPool", {X},
                          attrs_of({{"kernel_shape", k}, {"dilations", d2}, {"pads", pads}}), 1, 18);
  expect_close(got[0], convref::pool(X, Pool::kLp, k, {1, 1}, d2, pads,
                                     floor_out(xd, k, {1, 1}, d2, pads)));
}

TEST(PoolOp, GlobalPools) {
  for (Dims xd : {Dims{2, 3, 17}, Dims{2, 3, 5, 7}, Dims{1, 2, 3, 4, 5}}) {
    Tensor X = random_tensor(DType::kF64, xd, 9);
    std::vector<double> x = to_doubles(X);
    const int64_t planes = xd[0] * xd[1], S = X.numel() / planes;
    std::vector<double> avg, mx, lp;
    for (int64_t pl = 0; pl < planes; ++pl) {
      double sum = 0, m = -INFINITY, cube = 0;
      for (int64_t i = 0; i < S; ++i) {
        double v = x[size_t(pl * S + i)];
        sum += v;
        m = std::max(m, v);
        cube += std::fabs(v) * v * v;
      }
      avg.push_back(sum / double(S));
      mx.push_back(m);
      lp.push_back(std::cbrt(cube));
    }
    Dims od(xd.size(), 1);
    od[0] = xd[0];
    od[1] = xd[1];
    auto a = convref::run("GlobalAveragePool", {X});
    expect_dims(a[0], od);
    expect_close(a[0], avg, 1e-12, 1e-12);
    expect_close(convref::run("GlobalMaxPool", {X})[0], mx, 0, 0);
    expect_close(convref::run("GlobalLpPool", {X}, attrs_of({{"p", int64_t(3)}}))[0], lp, 1e-12, 1e-12);
  }
}

TEST(PoolOp, Errors) {
  Tensor X = random_tensor(DType::kF32, {1, 2, 6, 6}, 1);
  EXPECT_EQ(convref::error_code("MaxPool", {X}), ErrorCode::kInvalidModel);  // no kernel_shape
  EXPECT_EQ(convref::error_code("MaxPool", {X}, attrs_of({{"kernel_shape", Dims{2, 2}},
                                                          {"pads", Dims{2, 0, 0, 0}}})),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(convref::error_code("AveragePool", {X}, attrs_of({{"kernel_shape", Dims{7, 1}}})),
            ErrorCode::kInvalidModel);
  EXPECT_EQ(convref::error_code("MaxPool", {X}, attrs_of({{"kernel_shape", Dims{2, 2}},
                                                          {"storage_order", int64_t(2)}})),
            ErrorCode::kInvalidModel);
  Tensor Xi = random_tensor(DType::kI32, {1, 2, 6, 6}, 1);
  EXPECT_EQ(convref::error_code("AveragePool", {Xi}, attrs_of({{"kernel_shape", Dims{2, 2}}})),
            ErrorCode::kUnsupported);
  EXPECT_EQ(convref::error_code("MaxPool", {Xi}, attrs_of({{"kernel_shape", Dims{2, 2}}})),
            ErrorCode::kUnsupported);
  Tensor X2 = random_tensor(DType::kF32, {2, 3}, 1);
  EXPECT_EQ(convref::error_code("GlobalAveragePool", {X2}), ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
