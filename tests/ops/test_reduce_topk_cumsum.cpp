// TopK and CumSum against naive references: a full stable sort per slice, a running sum.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "harness.h"

namespace kiln::test {
namespace {

OpCall topk_call(const Tensor& x, int64_t k, int64_t axis, bool largest, bool k_const = true,
                 int opset = 13) {
  OpCall c;
  c.op = "TopK";
  c.inputs = {x, Tensor::from_vector<int64_t>({1}, {k})};
  c.opset = opset;
  c.num_outputs = 2;
  if (k_const) c.constant_inputs = {1};
  c.attrs.set("axis", axis);
  c.attrs.set("largest", int64_t(largest));
  return c;
}

// Values and indices of the top k along axis: stable sort so equal values keep index order.
std::pair<std::vector<double>, std::vector<double>> ref_topk(const Tensor& x, int64_t k, int axis,
                                                             bool largest) {
  const std::vector<double> v = to_doubles(x);
  int64_t outer = 1, len = x.dim(axis), inner = 1;
  for (int i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  std::vector<double> vals(size_t(outer * k * inner)), idx(vals.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      std::vector<int64_t> order(static_cast<size_t>(len));
      std::iota(order.begin(), order.end(), 0);
      auto val = [&](int64_t a) { return v[size_t((o * len + a) * inner + i)]; };
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return largest ? val(a) > val(b) : val(a) < val(b);
      });
      for (int64_t j = 0; j < k; ++j) {
        vals[size_t((o * k + j) * inner + i)] = val(order[size_t(j)]);
        idx[size_t((o * k + j) * inner + i)] = double(order[size_t(j)]);
      }
    }
  return {vals, idx};
}

TEST(ReduceTopK, ShapesAxesLargestSmallest) {
  struct Case {
    Dims dims;
    int64_t k;
  };
  const std::vector<Case> cases = {{{17}, 5}, {{3, 1025}, 7}, {{2, 3, 4, 5}, 2}, {{300, 3}, 3}, {{1, 9, 1}, 9}};
  for (size_t s = 0; s < cases.size(); ++s) {
    const int rank = int(cases[s].dims.size());
    Tensor xf = random_tensor(DType::kF32, cases[s].dims, 80 + s, -4, 4);
    Tensor xi = random_tensor(DType::kI32, cases[s].dims, 80 + s, -4, 4);  // many ties
    for (int axis = -rank; axis < rank; ++axis) {
      const int ax = axis < 0 ? axis + rank : axis;
      const int64_t k = std::min(cases[s].k, cases[s].dims[size_t(ax)]);
      for (bool largest : {true, false})
        for (const Tensor& x : {xf, xi}) {
          SCOPED_TRACE(dims_to_string(cases[s].dims) + " axis " + std::to_string(axis));
          auto out = run_op(topk_call(x, k, axis, largest, axis % 2 == 0));
          auto [vals, idx] = ref_topk(x, k, ax, largest);
          Dims d = cases[s].dims;
          d[size_t(ax)] = k;
          expect_dims(out[0], d);
          expect_dims(out[1], d);
          EXPECT_EQ(out[1].dtype(), DType::kI64);
          expect_close(out[0], vals, 0, 0);
          expect_close(out[1], idx, 0, 0);
        }
    }
  }
}

TEST(ReduceTopK, DtypesAndDefaults) {
  for (DType dt : {DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI8, DType::kU8}) {
    Tensor x = random_tensor(dt, {4, 11}, 7, 0, 30);
    // Defaults: axis -1, largest.
    OpCall c;
    c.op = "TopK";
    c.inputs = {x, Tensor::from_vector<int64_t>({1}, {4})};
    c.opset = 13;
    c.num_outputs = 2;
    auto out = run_op(c);
    auto [vals, idx] = ref_topk(x, 4, 1, true);
    expect_close(out[0], vals, 0, 0);
    expect_close(out[1], idx, 0, 0);
  }
}

TEST(ReduceTopK, KZeroAndFull) {
  Tensor x = random_tensor(DType::kF32, {3, 5}, 2);
  auto zero = run_op(topk_call(x, 0, 1, true));
  expect_dims(zero[0], {3, 0});
  auto full = run_op(topk_call(x, 5, 1, false));
  auto [vals, idx] = ref_topk(x, 5, 1, false);
  expect_close(full[0], vals, 0, 0);
  expect_close(full[1], idx, 0, 0);
}

TEST(ReduceTopK, NaNRanksLargest) {
  Tensor x = Tensor::from_vector<float>({5}, {1, NAN, 3, NAN, 2});
  auto top = run_op(topk_call(x, 3, 0, true));
  expect_close(top[0], {NAN, NAN, 3}, 0, 0);
  expect_close(top[1], {1, 3, 2}, 0, 0);
  auto bottom = run_op(topk_call(x, 3, 0, false));
  expect_close(bottom[1], {0, 4, 2}, 0, 0);
}

TEST(ReduceTopK, Errors) {
  Tensor x = random_tensor(DType::kF32, {3, 5}, 2);
  auto code_of = [](const OpCall& c) {
    try {
      run_op(c);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of(topk_call(x, 6, 1, true)), ErrorCode::kInvalidModel);
  EXPECT_EQ(code_of(topk_call(x, 6, 1, true, false)), ErrorCode::kInvalidModel);  // kernel check
  EXPECT_EQ(code_of(topk_call(x, -1, 1, true)), ErrorCode::kInvalidModel);
  EXPECT_EQ(code_of(topk_call(x, 2, 2, true)), ErrorCode::kInvalidModel);
  OpCall kf = topk_call(x, 2, 1, true);
  kf.inputs[1] = Tensor::from_vector<int32_t>({1}, {2});
  EXPECT_EQ(code_of(kf), ErrorCode::kInvalidModel);
  EXPECT_EQ(code_of(topk_call(Tensor(DType::kBool, {3}), 1, 0, true)), ErrorCode::kUnsupported);
}

OpCall cumsum_call(const Tensor& x, int64_t axis, bool exclusive, bool reverse, bool i32 = false) {
  Tensor a = i32 ? Tensor::scalar<int32_t>(int32_t(axis)) : Tensor::scalar<int64_t>(axis);
  OpCall c;
  c.op = "CumSum";
  c.inputs = {x, a};
  c.opset = 14;
  c.constant_inputs = {1};
  c.attrs.set("exclusive", int64_t(exclusive));
  c.attrs.set("reverse", int64_t(reverse));
  return c;
}

std::vector<double> ref_cumsum(const Tensor& x, int axis, bool exclusive, bool reverse) {
  const std::vector<double> v = to_doubles(x);
  int64_t outer = 1, len = x.dim(axis), inner = 1;
  for (int i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  std::vector<double> out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i)
      for (int64_t a = 0; a < len; ++a) {
        long double s = 0;
        for (int64_t b = 0; b < len; ++b) {
          bool take = reverse ? (exclusive ? b > a : b >= a) : (exclusive ? b < a : b <= a);
          if (take) s += v[size_t((o * len + b) * inner + i)];
        }
        out[size_t((o * len + a) * inner + i)] = double(s);
      }
  return out;
}

TEST(ReduceCumSum, AxesAndFlags) {
  const std::vector<Dims> shapes = {{17}, {3, 1025}, {2, 3, 4, 5}, {300, 3}};
  for (size_t s = 0; s < shapes.size(); ++s) {
    const int rank = int(shapes[s].size());
    Tensor x = random_tensor(DType::kF32, shapes[s], 90 + s);
    for (int axis = -rank; axis < rank; ++axis)
      for (bool ex : {false, true})
        for (bool rev : {false, true}) {
          const int ax = axis < 0 ? axis + rank : axis;
          Tensor y = run_op(cumsum_call(x, axis, ex, rev, axis % 2 != 0))[0];
          expect_dims(y, shapes[s]);
          expect_close(y, ref_cumsum(x, ax, ex, rev), 1e-6, 1e-6);
        }
  }
}

TEST(ReduceCumSum, Dtypes) {
  for (DType dt : {DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI32}) {
    const double tol = dt == DType::kF16 ? 2e-3 : dt == DType::kBF16 ? 1e-2 : 1e-12;
    Tensor x = random_tensor(dt, {4, 33}, 5, -9, 9);
    expect_close(run_op(cumsum_call(x, 1, false, false))[0], ref_cumsum(x, 1, false, false), tol, tol);
    expect_close(run_op(cumsum_call(x, 0, true, true))[0], ref_cumsum(x, 0, true, true), tol, tol);
  }
  // Narrow integers wrap like the output type.
  Tensor u = Tensor::from_vector<uint8_t>({3}, {200, 100, 1});
  expect_close(run_op(cumsum_call(u, 0, false, false))[0], {200, 44, 45}, 0, 0);
}

// Double accumulation: float running sums would stall at 2^24.
TEST(ReduceCumSum, AccumulatesInDouble) {
  Tensor x = Tensor::from_vector<float>({3}, {16777216.f, 1.f, 1.f});
  expect_close(run_op(cumsum_call(x, 0, false, false))[0], {16777216.0, 16777216.0, 16777218.0}, 0, 0);
}

TEST(ReduceCumSum, Errors) {
  Tensor x = random_tensor(DType::kF32, {3, 5}, 2);
  auto code_of = [](const OpCall& c) {
    try {
      run_op(c);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of(cumsum_call(x, 2, false, false)), ErrorCode::kInvalidModel);
  EXPECT_EQ(code_of(cumsum_call(x, -3, false, false)), ErrorCode::kInvalidModel);
  OpCall fa = cumsum_call(x, 0, false, false);
  fa.inputs[1] = Tensor::scalar<float>(0.f);
  EXPECT_EQ(code_of(fa), ErrorCode::kInvalidModel);
  OpCall two = cumsum_call(x, 0, false, false);
  two.inputs[1] = Tensor::from_vector<int64_t>({2}, {0, 1});
  EXPECT_EQ(code_of(two), ErrorCode::kInvalidModel);
  EXPECT_EQ(code_of(cumsum_call(Tensor(DType::kBool, {3}), 0, false, false)), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace kiln::test
