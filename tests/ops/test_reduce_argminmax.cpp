// ArgMax / ArgMin against a naive scan along the axis.
#include <cmath>

#include "harness.h"

namespace kiln::test {
namespace {

OpCall arg_call(const std::string& op, const Tensor& x, int64_t axis, bool keepdims, bool last,
                int opset = 13) {
  OpCall c;
  c.op = op;
  c.inputs = {x};
  c.opset = opset;
  c.attrs.set("axis", axis);
  c.attrs.set("keepdims", int64_t(keepdims));
  if (last) c.attrs.set("select_last_index", int64_t(1));
  return c;
}

// Expected indices; NaN counts as the extreme value (numpy).
std::vector<double> ref_arg(bool is_max, const Tensor& x, int axis, bool last) {
  const std::vector<double> v = to_doubles(x);
  int64_t outer = 1, len = x.dim(axis), inner = 1;
  for (int i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  std::vector<double> out;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      for (int64_t a = 1; a < len; ++a) {
        double cur = v[size_t((o * len + a) * inner + i)], b = v[size_t((o * len + best) * inner + i)];
        bool wins;
        if (std::isnan(b)) wins = last && std::isnan(cur);
        else if (std::isnan(cur)) wins = true;
        else wins = is_max ? (last ? cur >= b : cur > b) : (last ? cur <= b : cur < b);
        if (wins) best = a;
      }
      out.push_back(double(best));
    }
  return out;
}

Dims arg_dims(const Dims& in, int axis, bool keep) {
  Dims d = in;
  if (keep) d[size_t(axis)] = 1;
  else d.erase(d.begin() + axis);
  return d;
}

TEST(ReduceArg, ShapesAxesFlags) {
  const std::vector<Dims> shapes = {{17}, {3, 1025}, {2, 3, 4, 5}, {1, 1, 7}, {300, 3, 2}};
  for (const std::string op : {"ArgMax", "ArgMin"})
    for (size_t s = 0; s < shapes.size(); ++s) {
      // Few distinct values so ties are common and select_last_index matters.
      Tensor x = random_tensor(DType::kF32, shapes[s], 40 + s, -3, 3);
      Tensor xr = random_tensor(DType::kI32, shapes[s], 40 + s, -3, 3);
      const int rank = int(shapes[s].size());
      for (int axis = -rank; axis < rank; ++axis)
        for (bool keep : {true, false})
          for (bool last : {false, true}) {
            const int ax = axis < 0 ? axis + rank : axis;
            for (const Tensor& in : {x, xr}) {
              Tensor y = run_op(arg_call(op, in, axis, keep, last))[0];
              EXPECT_EQ(y.dtype(), DType::kI64);
              expect_dims(y, arg_dims(shapes[s], ax, keep));
              expect_close(y, ref_arg(op == "ArgMax", in, ax, last), 0, 0);
            }
          }
    }
}

TEST(ReduceArg, AllNumericDtypes) {
  for (DType dt : {DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI8, DType::kU8}) {
    Tensor x = random_tensor(dt, {4, 9, 5}, 3, 0, 20);
    for (bool last : {false, true}) {
      Tensor y = run_op(arg_call("ArgMax", x, 1, false, last))[0];
      expect_close(y, ref_arg(true, x, 1, last), 0, 0);
      Tensor z = run_op(arg_call("ArgMin", x, -1, true, last))[0];
      expect_close(z, ref_arg(false, x, 2, last), 0, 0);
    }
  }
}

TEST(ReduceArg, TiesAndNaN) {
  Tensor x = Tensor::from_vector<float>({2, 4}, {1, 5, 5, 2, 3, NAN, 7, NAN});
  expect_close(run_op(arg_call("ArgMax", x, 1, false, false))[0], {1, 1}, 0, 0);
  expect_close(run_op(arg_call("ArgMax", x, 1, false, true))[0], {2, 3}, 0, 0);
  expect_close(run_op(arg_call("ArgMin", x, 1, false, false))[0], {0, 1}, 0, 0);
}

TEST(ReduceArg, DefaultsAxisZeroKeepdims) {
  Tensor x = random_tensor(DType::kF32, {3, 4}, 9);
  OpCall c;
  c.op = "ArgMax";
  c.inputs = {x};
  c.opset = 13;
  Tensor y = run_op(c)[0];
  expect_dims(y, {1, 4});
  expect_close(y, ref_arg(true, x, 0, false), 0, 0);
}

TEST(ReduceArg, Errors) {
  Tensor x = random_tensor(DType::kF32, {3, 4}, 9);
  try {
    run_op(arg_call("ArgMax", x, 2, true, false));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  }
  Tensor b(DType::kBool, {3});
  try {
    run_op(arg_call("ArgMin", b, 0, true, false));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  }
  try {  // nothing to pick from
    run_op(arg_call("ArgMin", Tensor(DType::kF32, {3, 0}), 1, true, false));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  expect_dims(run_op(arg_call("ArgMax", Tensor(DType::kF32, {0, 3}), 1, false, false))[0], {0});
}

// Segmentation logits argmax over channels: [1, 150, 64, 64], axis 1 (parallel path).
TEST(ReduceArg, LargeChannelArgmax) {
  Tensor x = random_tensor(DType::kF32, {1, 150, 64, 64}, 5);
  Tensor y = run_op(arg_call("ArgMax", x, 1, false, false))[0];
  expect_close(y, ref_arg(true, x, 1, false), 0, 0);
}

}  // namespace
}  // namespace kiln::test
