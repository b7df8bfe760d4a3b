// Softmax, LogSoftmax, Hardmax against naive double loops over each (outer, inner) slice.
#include <cmath>
#include <cstdio>

#include "harness.h"
#include "ops/reduce/exp_nonpositive.h"

namespace kiln::test {
namespace {

OpCall sm_call(const std::string& op, const Tensor& x, std::optional<int64_t> axis, int opset = 13) {
  OpCall c;
  c.op = op;
  c.inputs = {x};
  c.opset = opset;
  if (axis) c.attrs.set("axis", *axis);
  return c;
}

// Reference over a [outer, len, inner] view; the textbook formulas with the max shift done in
// long double so the reference is independent of the kernel's double arithmetic.
std::vector<double> ref_softmax(const std::string& op, const Tensor& x, int64_t outer, int64_t len,
                                int64_t inner) {
  const std::vector<double> v = to_doubles(x);
  std::vector<double> out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t a) { return size_t((o * len + a) * inner + i); };
      long double m = -INFINITY;
      int64_t arg = 0;
      for (int64_t a = 0; a < len; ++a)
        if (v[at(a)] > m) {
          m = v[at(a)];
          arg = a;
        }
      long double s = 0;
      for (int64_t a = 0; a < len; ++a) s += std::exp((long double)v[at(a)] - m);
      for (int64_t a = 0; a < len; ++a) {
        long double d = (long double)v[at(a)] - m;
        if (op == "Softmax") out[at(a)] = double(std::exp(d) / s);
        else if (op == "LogSoftmax") out[at(a)] = double(d - std::log(s));
        else out[at(a)] = a == arg ? 1.0 : 0.0;
      }
    }
  return out;
}

void view_of(const Dims& d, int axis, bool flatten, int64_t& outer, int64_t& len, int64_t& inner) {
  outer = len = inner = 1;
  for (int i = 0; i < int(d.size()); ++i) {
    if (i < axis) outer *= d[size_t(i)];
    else if (i == axis || flatten) len *= d[size_t(i)];
    else inner *= d[size_t(i)];
  }
}

const std::vector<std::string> kOps = {"Softmax", "LogSoftmax", "Hardmax"};

TEST(ReduceSoftmax, EveryAxisOpset13) {
  const std::vector<Dims> shapes = {{17}, {3, 1025}, {2, 3, 4, 5}, {1, 7, 1}, {5, 300, 3}};
  for (const std::string& op : kOps)
    for (size_t s = 0; s < shapes.size(); ++s) {
      Tensor x = random_tensor(DType::kF32, shapes[s], 60 + s, -5, 5);
      const int rank = int(shapes[s].size());
      for (int axis = -rank; axis < rank; ++axis) {
        SCOPED_TRACE(op + " " + dims_to_string(shapes[s]) + " axis " + std::to_string(axis));
        int64_t o, l, i;
        view_of(shapes[s], axis < 0 ? axis + rank : axis, false, o, l, i);
        Tensor y = run_op(sm_call(op, x, axis))[0];
        expect_dims(y, shapes[s]);
        expect_close(y, ref_softmax(op, x, o, l, i), 1e-7, 1e-6);
      }
      // Default axis is -1.
      int64_t o, l, i;
      view_of(shapes[s], rank - 1, false, o, l, i);
      expect_close(run_op(sm_call(op, x, std::nullopt))[0], ref_softmax(op, x, o, l, i), 1e-7, 1e-6);
    }
}

// Before opset 13 the input is flattened to 2-D at axis (default 1).
TEST(ReduceSoftmax, LegacyCoerceTo2D) {
  Tensor x = random_tensor(DType::kF32, {2, 3, 4}, 3, -5, 5);
  for (const std::string& op : kOps) {
    int64_t o, l, i;
    view_of({2, 3, 4}, 1, true, o, l, i);
    expect_close(run_op(sm_call(op, x, std::nullopt, 11))[0], ref_softmax(op, x, o, l, i), 1e-7, 1e-6);
    view_of({2, 3, 4}, 0, true, o, l, i);
    expect_close(run_op(sm_call(op, x, 0, 12))[0], ref_softmax(op, x, o, l, i), 1e-7, 1e-6);
  }
}

TEST(ReduceSoftmax, FloatDtypes) {
  for (DType dt : {DType::kF16, DType::kBF16, DType::kF64}) {
    const double tol = dt == DType::kF64 ? 1e-13 : dt == DType::kF16 ? 1e-3 : 8e-3;
    Tensor x = random_tensor(dt, {3, 33, 5}, 8, -4, 4);
    for (const std::string& op : kOps)
      for (int axis : {1, 2}) {
        int64_t o, l, i;
        view_of({3, 33, 5}, axis, false, o, l, i);
        expect_close(run_op(sm_call(op, x, axis))[0], ref_softmax(op, x, o, l, i), tol, tol);
      }
  }
}

TEST(ReduceSoftmax, LargeValuesStayFinite) {
  Tensor x = Tensor::from_vector<float>({2, 3}, {1000.f, 1001.f, 1002.f, -1000.f, -1001.f, -3000.f});
  Tensor y = run_op(sm_call("Softmax", x, 1))[0];
  expect_close(y, ref_softmax("Softmax", x, 2, 3, 1), 1e-7, 1e-6);
  Tensor z = run_op(sm_call("LogSoftmax", x, 1))[0];
  expect_close(z, ref_softmax("LogSoftmax", x, 2, 3, 1), 1e-5, 1e-6);
  Tensor c = run_op(sm_call("Softmax", x, 0))[0];  // column path too
  expect_close(c, ref_softmax("Softmax", x, 1, 2, 3), 1e-7, 1e-6);
}

TEST(ReduceSoftmax, HardmaxTiesPickFirst) {
  Tensor x = Tensor::from_vector<float>({2, 4}, {3, 7, 7, 1, 2, 2, 2, 2});
  expect_close(run_op(sm_call("Hardmax", x, 1))[0], {0, 1, 0, 0, 1, 0, 0, 0}, 0, 0);
}

// Attention-score shape (SegFormer-B0 stage 1 is 16384x256; a quarter keeps the test quick).
TEST(ReduceSoftmax, AttentionScoresLastAxis) {
  Tensor x = random_tensor(DType::kF32, {1, 1, 4096, 256}, 12, -8, 8);
  Tensor y = run_op(sm_call("Softmax", x, -1))[0];
  expect_close(y, ref_softmax("Softmax", x, 4096, 256, 1), 1e-9, 1e-6);
}

// The exp behind softmax against libm: dense sweep of [-750, 0] plus special values, for
// each variant this CPU can run.
TEST(ReduceSoftmax, ExpNonpositiveMatchesLibm) {
  std::vector<double> d;
  for (double v = -750.0; v <= 0.0; v += 0.0071) d.push_back(v);
  for (double v : {0.0, -0.0, -1e-300, -5e-324, -708.0, -708.0000001, -709.7, -745.1, -745.2,
                   -1e30, -double(INFINITY), double(NAN)})
    d.push_back(v);
  using Fn = void (*)(const double*, double*, int64_t);
  std::vector<std::pair<const char*, Fn>> variants = {{"dispatch", reduce::exp_nonpositive},
                                                      {"libm", reduce::exp_nonpositive_libm}};
  if (reduce::exp_avx2_available()) variants.push_back({"avx2", reduce::exp_nonpositive_avx2});
  else std::printf("note: no AVX2/FMA here, polynomial exp not tested\n");
  for (const auto& [name, fn] : variants) {
    std::vector<double> out(d.size());
    fn(d.data(), out.data(), int64_t(d.size()));
    for (size_t i = 0; i < d.size(); ++i) {
      const double want = std::exp(d[i]);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(out[i])) << name << " exp(" << d[i] << ")";
      } else if (d[i] < -708.0) {
        EXPECT_EQ(out[i], want) << name << " exp(" << d[i] << ")";  // std::exp path
      } else {
        ASSERT_LE(std::fabs(out[i] - want), 4.5e-16 * want) << name << " exp(" << d[i] << ")";
      }
    }
  }
}

TEST(ReduceSoftmax, Errors) {
  Tensor x = random_tensor(DType::kF32, {2, 3}, 1);
  for (const std::string& op : kOps) {
    try {
      run_op(sm_call(op, x, 2));
      FAIL() << op;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    }
    try {
      run_op(sm_call(op, random_tensor(DType::kI32, {2, 3}, 1), 1));
      FAIL() << op;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    }
  }
  expect_dims(run_op(sm_call("Softmax", Tensor(DType::kF32, {0, 3}), 1))[0], {0, 3});
}

}  // namespace
}  // namespace kiln::test
