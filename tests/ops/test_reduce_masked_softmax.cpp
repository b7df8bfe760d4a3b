// kiln.MaskedSoftmax's CPU reference against the formula (softmax over the unmasked elements,
// masked ones 0, a fully masked row NaN), with masks broadcast along every kind of axis, and its
// shape inference refusing what does not broadcast.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "harness.h"
#include "ops/reduce/masked_softmax.h"

namespace kiln::test {
namespace {

OpCall call(std::vector<Tensor> in) {
  OpCall c{reduce::kMaskedSoftmaxOp, std::move(in)};
  c.domain = kKilnDomain;
  return c;
}

// A mask with about a third True (hash of the index), so rows are partly masked.
Tensor pattern_mask(const Dims& dims, uint64_t salt) {
  Tensor m(DType::kBool, dims);
  for (int64_t i = 0; i < m.numel(); ++i) m.data<bool>()[i] = ((uint64_t(i) + salt) * 2654435761u >> 7) % 3 == 0;
  return m;
}

// The formula in double: row by row, the mask read through its broadcast.
std::vector<double> expected(const Tensor& x, const Tensor& mask) {
  const std::vector<double> xv = to_doubles(x);
  const int64_t n = x.dims().back(), rows = x.numel() / n;
  const int r = x.rank(), off = x.rank() - mask.rank();
  std::vector<double> y(xv.size());
  for (int64_t row = 0; row < rows; ++row) {
    std::vector<bool> masked(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      // multi-index of element (row, i) in x, read in the mask with its size-1 dims at 0
      int64_t lin = row * n + i, moff = 0, mstride = 1;
      std::vector<int64_t> idx(static_cast<size_t>(r));
      for (int d = r - 1; d >= 0; --d) idx[size_t(d)] = lin % x.dim(d), lin /= x.dim(d);
      for (int d = mask.rank() - 1; d >= 0; --d) {
        moff += (mask.dim(d) == 1 ? 0 : idx[size_t(d + off)]) * mstride;
        mstride *= mask.dim(d);
      }
      masked[size_t(i)] = mask.data<bool>()[moff];
    }
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; ++i)
      if (!masked[size_t(i)]) m = std::max(m, xv[size_t(row * n + i)]);
    for (int64_t i = 0; i < n; ++i)
      if (!masked[size_t(i)]) s += std::exp(xv[size_t(row * n + i)] - m);
    for (int64_t i = 0; i < n; ++i)
      y[size_t(row * n + i)] = m == -INFINITY ? std::numeric_limits<double>::quiet_NaN()
                               : masked[size_t(i)] ? 0.0
                                                   : std::exp(xv[size_t(row * n + i)] - m) / s;
  }
  return y;
}

TEST(MaskedSoftmax, MatchesTheFormula) {
  struct C {
    Dims x, mask;
  };
  // RCDA's [B, heads, L, W] with a [B, 1, 1, W] mask; full masks; masks broadcast along the row
  // (whole rows masked: NaN) and along leading axes; rank 1; a row of one element.
  const std::vector<C> cases = {{{2, 3, 7, 11}, {2, 1, 1, 11}}, {{4, 13}, {4, 13}},     {{3, 5, 9}, {5, 1}},
                                {{2, 6, 4}, {4}},               {{17}, {17}},            {{5, 1}, {5, 1}},
                                {{2, 2, 3, 5}, {1, 2, 1, 5}},   {{6, 40}, {1, 1}}};
  uint64_t seed = 40;
  for (DType dt : {DType::kF32, DType::kF16, DType::kF64})
    for (const C& c : cases) {
      SCOPED_TRACE(dims_to_string(c.x) + " mask " + dims_to_string(c.mask) + " " + dtype_name(dt));
      const Tensor x = random_tensor(dt, c.x, seed, -6, 6), m = pattern_mask(c.mask, seed++);
      const Tensor y = run_op(call({x, m}))[0];
      expect_dims(y, c.x);
      const double tol = dt == DType::kF16 ? 1e-3 : dt == DType::kF32 ? 1e-7 : 1e-12;  // one rounding
      expect_close(y, expected(x, m), tol, tol);
    }
}

TEST(MaskedSoftmax, FullyMaskedRowIsNaNAndOthersUnaffected) {
  const Tensor x = random_tensor(DType::kF32, {3, 4}, 1, -2, 2);
  Tensor m(DType::kBool, {3, 4});
  for (int64_t i = 0; i < 12; ++i) m.data<bool>()[i] = i / 4 == 1 || i == 9;  // row 1 all, row 2 one
  const Tensor y = run_op(call({x, m}))[0];
  for (int64_t i = 4; i < 8; ++i) EXPECT_TRUE(std::isnan(y.data<float>()[i]));
  EXPECT_EQ(y.data<float>()[9], 0.f);
  double sum = 0;
  for (int64_t i = 8; i < 12; ++i) sum += y.data<float>()[i];
  EXPECT_NEAR(sum, 1.0, 1e-6);
  expect_close(y, expected(x, m), 1e-7, 1e-7);
}

TEST(MaskedSoftmax, MaskedElementsIgnoreTheirValues) {
  // Where(mask, -inf, X) replaces them, NaN and +inf included.
  Tensor x = Tensor::from_vector<float>({1, 4}, {1.f, std::numeric_limits<float>::quiet_NaN(), INFINITY, 2.f});
  Tensor m(DType::kBool, {4});
  for (int i = 0; i < 4; ++i) m.data<bool>()[i] = i == 1 || i == 2;
  const Tensor y = run_op(call({x, m}))[0];
  expect_close(y, {1 / (1 + std::exp(1.0)), 0, 0, std::exp(1.0) / (1 + std::exp(1.0))}, 1e-7, 1e-7);
}

TEST(MaskedSoftmax, RefusesWhatDoesNotBroadcastOrIsNotBool) {
  const DType f = DType::kF32;
  EXPECT_EQ(error_code_of(call({Tensor(f, {2, 5}), Tensor(DType::kBool, {3})})), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call({Tensor(f, {5}), Tensor(DType::kBool, {2, 5})})), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call({Tensor(f, {2, 5}), Tensor(f, {2, 5})})), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call({Tensor(DType::kI32, {2, 5}), Tensor(DType::kBool, {5})})), ErrorCode::kUnsupported);
  EXPECT_NO_THROW(run_op(call({Tensor(f, {2, 0}), Tensor(DType::kBool, {1, 0})})));  // empty rows
}

}  // namespace
}  // namespace kiln::test
