// Reduce* ops against a naive double-precision reference: every input element is routed to
// its output cell, and each cell's list of values is reduced with the textbook formula.
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "harness.h"
#include "ops/registry.h"

namespace kiln::test {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

bool axes_are_input(const std::string& op, int opset) {
  return opset >= 18 || (op == "ReduceSum" && opset >= 13);
}

struct ReduceArgs {
  std::vector<int64_t> axes;
  bool keepdims = true;
  bool noop = false;
  int opset = 13;
  bool axes_constant = true;  // when axes are an input: visible to inference or not
  bool pass_empty_axes = false;  // pass an empty axes tensor instead of omitting it
};

OpCall reduce_call(const std::string& op, const Tensor& x, const ReduceArgs& a) {
  OpCall c;
  c.op = op;
  c.inputs = {x};
  c.opset = a.opset;
  if (axes_are_input(op, a.opset)) {
    if (!a.axes.empty() || a.pass_empty_axes) {
      c.inputs.push_back(Tensor::from_vector<int64_t>({int64_t(a.axes.size())}, a.axes));
      if (a.axes_constant) c.constant_inputs = {1};
    }
  } else if (!a.axes.empty()) {
    c.attrs.set("axes", a.axes);
  }
  c.attrs.set("keepdims", int64_t(a.keepdims));
  if (a.noop) c.attrs.set("noop_with_empty_axes", int64_t(1));
  return c;
}

double ref_apply(const std::string& op, const std::vector<double>& v) {
  const double n = double(v.size());
  double sum = std::accumulate(v.begin(), v.end(), 0.0);
  if (op == "ReduceSum") return sum;
  if (op == "ReduceMean") return sum / n;
  if (op == "ReduceMax") {
    double m = -kInf;
    for (double x : v) m = std::isnan(x) || std::isnan(m) ? NAN : std::max(m, x);
    return m;
  }
  if (op == "ReduceMin") {
    double m = kInf;
    for (double x : v) m = std::isnan(x) || std::isnan(m) ? NAN : std::min(m, x);
    return m;
  }
  double acc = op == "ReduceProd" ? 1.0 : 0.0;
  for (double x : v) {
    if (op == "ReduceProd") acc *= x;
    else if (op == "ReduceL1") acc += std::fabs(x);
    else if (op == "ReduceL2" || op == "ReduceSumSquare") acc += x * x;
    else if (op == "ReduceLogSumExp") acc += std::exp(x);
  }
  if (op == "ReduceL2") return std::sqrt(acc);
  if (op == "ReduceLogSum") return std::log(sum);
  if (op == "ReduceLogSumExp") return std::log(acc);
  return acc;
}

// Expected dims and values of reducing x.
std::pair<Dims, std::vector<double>> ref_reduce(const std::string& op, const Tensor& x,
                                                const ReduceArgs& a) {
  const int r = x.rank();
  std::vector<bool> red(size_t(r), a.axes.empty() && !a.noop);
  for (int64_t ax : a.axes) red[size_t(ax < 0 ? ax + r : ax)] = true;
  Dims out, kept_all;  // kept_all: keepdims layout, same element order as out
  for (int i = 0; i < r; ++i) {
    kept_all.push_back(red[size_t(i)] ? 1 : x.dim(i));
    if (!red[size_t(i)] || a.keepdims) out.push_back(kept_all.back());
  }
  const int64_t out_n = numel_of(kept_all);
  std::vector<std::vector<double>> cells(static_cast<size_t>(out_n));
  const std::vector<double> xv = to_doubles(x);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t rem = i, o = 0, mul = 1;
    for (int d = r - 1; d >= 0; --d) {
      int64_t idx = rem % x.dim(d);
      rem /= x.dim(d);
      if (!red[size_t(d)]) o += idx * mul;
      mul *= kept_all[size_t(d)];
    }
    cells[size_t(o)].push_back(xv[size_t(i)]);
  }
  std::vector<double> want;
  for (const auto& c : cells) want.push_back(ref_apply(op, c));
  return {out, want};
}

void check_reduce(const std::string& op, const Tensor& x, const ReduceArgs& a, double tol = 1e-6) {
  SCOPED_TRACE(op + " on " + dims_to_string(x.dims()) + " opset " + std::to_string(a.opset));
  Tensor y = run_op(reduce_call(op, x, a))[0];
  auto [dims, want] = ref_reduce(op, x, a);
  expect_dims(y, dims);
  expect_close(y, want, tol, tol);
}

const std::vector<std::string> kOps = {"ReduceSum",  "ReduceMean", "ReduceMax",       "ReduceMin",
                                       "ReduceProd", "ReduceL1",   "ReduceL2",        "ReduceLogSum",
                                       "ReduceLogSumExp", "ReduceSumSquare"};

// LogSum needs a positive sum; Prod stays in range for values near 1.
Tensor input_for(const std::string& op, DType dt, Dims dims, uint64_t seed) {
  if (op == "ReduceLogSum") return random_tensor(dt, dims, seed, 0.1, 1.0);
  if (op == "ReduceProd") return random_tensor(dt, dims, seed, 0.6, 1.4);
  return random_tensor(dt, dims, seed, -2.0, 2.0);
}

struct ShapeCase {
  Dims dims;
  std::vector<int64_t> axes;
};
const std::vector<ShapeCase> kShapes = {
    {{3, 17, 5}, {1}},           // middle axis, inner kept
    {{4, 1025}, {-1}},           // last axis, contiguous rows
    {{1023}, {0}},               // everything
    {{2, 3, 4, 5}, {0, 2}},      // interleaved kept/reduced
    {{2, 3, 4, 5}, {1, 3}},      // interleaved, last reduced
    {{17, 3}, {0}},              // first axis
    {{2, 1, 3, 1, 4}, {1, 3}},   // size-1 axes only
    {{2, 1, 3, 1, 4}, {-4, 2}},  // size-1 and real axes
    {{3, 4, 5}, {}},             // empty axes: all
    {{}, {}},                    // scalar
    {{5, 7}, {1, 0}},            // unsorted axes
};

TEST(ReduceOps, AllOpsAllShapesOpset13And18) {
  for (const std::string& op : kOps)
    for (int opset : {13, 17, 18, 20})
      for (bool keep : {true, false})
        for (size_t s = 0; s < kShapes.size(); ++s) {
          Tensor x = input_for(op, DType::kF32, kShapes[s].dims, 100 + s);
          ReduceArgs a{kShapes[s].axes, keep, false, opset};
          check_reduce(op, x, a);
        }
}

TEST(ReduceOps, NonConstantAxesInput) {
  for (const std::string& op : kOps)
    for (bool keep : {true, false}) {
      Tensor x = input_for(op, DType::kF32, {3, 5, 7}, 7);
      ReduceArgs a{{0, -1}, keep, false, 18, /*axes_constant=*/false};
      check_reduce(op, x, a);
      std::vector<ValueType> t = infer_op(reduce_call(op, x, a));
      if (keep) {
        ASSERT_TRUE(t[0].shape.has_value());
        EXPECT_EQ(t[0].shape->size(), 3u);
        EXPECT_FALSE((*t[0].shape)[0].known());
      } else {
        EXPECT_FALSE(t[0].shape.has_value());
      }
    }
}

TEST(ReduceOps, EmptyAxesTensorReducesAll) {
  Tensor x = random_tensor(DType::kF32, {4, 6}, 3);
  ReduceArgs a{{}, false, false, 18};
  a.pass_empty_axes = true;
  check_reduce("ReduceMean", x, a);
  check_reduce("ReduceSum", x, {{}, true, false, 13, true, true});
}

// noop_with_empty_axes: each element is its own set, so the per-element step still applies.
TEST(ReduceOps, NoopWithEmptyAxes) {
  for (const std::string& op : kOps) {
    Tensor x = input_for(op, DType::kF32, {3, 4, 5}, 11);
    ReduceArgs a{{}, true, true, 18};
    Tensor y = run_op(reduce_call(op, x, a))[0];
    expect_dims(y, {3, 4, 5});
    std::vector<double> want;
    for (double v : to_doubles(x)) want.push_back(ref_apply(op, {v}));
    expect_close(y, want, 1e-6, 1e-6);
  }
  // ReduceSum has the flag from opset 13.
  Tensor x = random_tensor(DType::kF32, {2, 3}, 5);
  ReduceArgs a{{}, true, true, 13};
  a.pass_empty_axes = true;
  Tensor y = run_op(reduce_call("ReduceSum", x, a))[0];
  expect_close(y, to_doubles(x), 0, 0);
}

TEST(ReduceOps, EmptySetIdentities) {
  const std::map<std::string, double> want = {
      {"ReduceSum", 0.0},          {"ReduceMean", NAN},     {"ReduceMax", -kInf},
      {"ReduceMin", kInf},         {"ReduceProd", 1.0},     {"ReduceL1", 0.0},
      {"ReduceL2", 0.0},           {"ReduceLogSum", -kInf}, {"ReduceLogSumExp", -kInf},
      {"ReduceSumSquare", 0.0}};
  for (const auto& [op, v] : want) {
    Tensor x(DType::kF32, {2, 0, 3});
    Tensor y = run_op(reduce_call(op, x, {{1}, true, false, 18}))[0];
    expect_dims(y, {2, 1, 3});
    expect_close(y, std::vector<double>(6, v));
    // Kept empty axis: empty output.
    Tensor z = run_op(reduce_call(op, x, {{2}, false, false, 18}))[0];
    expect_dims(z, {2, 0});
  }
  Tensor xi(DType::kI32, {0, 3});
  expect_close(run_op(reduce_call("ReduceMax", xi, {{0}, false, false, 18}))[0],
               std::vector<double>(3, double(std::numeric_limits<int32_t>::lowest())));
  expect_close(run_op(reduce_call("ReduceMin", Tensor(DType::kU8, {0, 3}), {{0}, false, false, 18}))[0],
               std::vector<double>(3, 255.0));
  try {
    run_op(reduce_call("ReduceMean", xi, {{0}, false, false, 18}));
    FAIL() << "integer mean of an empty set must fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ReduceOps, FloatDtypes) {
  for (DType dt : {DType::kF16, DType::kBF16, DType::kF64}) {
    const double tol = dt == DType::kF64 ? 1e-12 : dt == DType::kF16 ? 2e-3 : 1e-2;
    for (const std::string& op : kOps) {
      Tensor x = input_for(op, dt, {5, 33, 3}, 21);
      check_reduce(op, x, {{1}, true, false, 18}, tol);
      check_reduce(op, x, {{-1}, false, false, 13}, tol);
    }
  }
}

TEST(ReduceOps, IntegerDtypes) {
  const std::vector<std::pair<std::string, std::vector<DType>>> cases = {
      {"ReduceSum", {DType::kI64, DType::kI32}},  {"ReduceMean", {DType::kI64, DType::kI32}},
      {"ReduceProd", {DType::kI64, DType::kI32}}, {"ReduceL1", {DType::kI64, DType::kI32}},
      {"ReduceSumSquare", {DType::kI64, DType::kI32}},
      {"ReduceMax", {DType::kI64, DType::kI32, DType::kI8, DType::kU8}},
      {"ReduceMin", {DType::kI64, DType::kI32, DType::kI8, DType::kU8}}};
  for (const auto& [op, types] : cases)
    for (DType dt : types) {
      const double lo = dt == DType::kU8 ? 0 : -9, hi = 9;
      Tensor x = random_tensor(dt, {4, 5, 6}, 31, lo, hi);
      Tensor y = run_op(reduce_call(op, x, {{0, 2}, true, false, 18}))[0];
      auto [dims, want] = ref_reduce(op, x, {{0, 2}, true, false, 18});
      if (op == "ReduceMean")
        for (double& w : want) w = std::trunc(w);  // integer mean truncates like a cast
      expect_dims(y, dims);
      expect_close(y, want, 0, 0);
    }
  // Exact int64 beyond double's 53-bit mantissa.
  const int64_t big = (int64_t(1) << 60) + 1;
  Tensor x = Tensor::from_vector<int64_t>({3}, {big, 1, -2});
  Tensor y = run_op(reduce_call("ReduceSum", x, {{0}, false, false, 13}))[0];
  EXPECT_EQ(y.data<int64_t>()[0], big - 1);
}

TEST(ReduceOps, BoolMaxMinFromOpset20) {
  Tensor x = Tensor::from_vector<bool>({2, 3}, {false, true, false, false, false, false});
  Tensor mx = run_op(reduce_call("ReduceMax", x, {{1}, false, false, 20}))[0];
  Tensor mn = run_op(reduce_call("ReduceMin", x, {{1}, false, false, 20}))[0];
  expect_close(mx, {1, 0}, 0, 0);
  expect_close(mn, {0, 0}, 0, 0);
  try {
    run_op(reduce_call("ReduceMax", x, {{1}, false, false, 18}));
    FAIL() << "bool ReduceMax needs opset 20";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  }
}

TEST(ReduceOps, UnsupportedDtypes) {
  const std::vector<std::pair<std::string, DType>> cases = {
      {"ReduceSum", DType::kI8},  {"ReduceMean", DType::kU8},   {"ReduceL2", DType::kI32},
      {"ReduceLogSum", DType::kI64}, {"ReduceSum", DType::kBool}, {"ReduceProd", DType::kI8}};
  for (const auto& [op, dt] : cases) {
    Tensor x = random_tensor(dt, {2, 3}, 1, 0, 3);
    try {
      run_op(reduce_call(op, x, {{0}, true, false, 18}));
      FAIL() << op << " " << dtype_name(dt) << " should be unsupported";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnsupported) << e.what();
    }
  }
}

void expect_invalid(const OpCall& c, const char* what) {
  try {
    run_op(c);
    FAIL() << what;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << what << ": " << e.what();
  }
}

TEST(ReduceOps, InvalidAxes) {
  Tensor x = random_tensor(DType::kF32, {2, 3}, 1);
  expect_invalid(reduce_call("ReduceMean", x, {{2}, true, false, 13}), "axis 2 of rank 2");
  expect_invalid(reduce_call("ReduceMean", x, {{-3}, true, false, 18}), "axis -3 of rank 2");
  expect_invalid(reduce_call("ReduceSum", x, {{1, -1}, true, false, 13}), "duplicate axis");
  // Non-constant axes are only checked by the kernel.
  expect_invalid(reduce_call("ReduceMax", x, {{5}, true, false, 18, false}), "kernel axis check");
  OpCall stale = reduce_call("ReduceMean", x, {{}, true, false, 18});
  stale.attrs.set("axes", std::vector<int64_t>{0});
  expect_invalid(stale, "axes attribute at opset 18");
  OpCall early = reduce_call("ReduceMean", x, {{}, true, false, 13});
  early.inputs.push_back(Tensor::from_vector<int64_t>({1}, {0}));
  expect_invalid(early, "axes input at opset 13");
  OpCall float_axes = reduce_call("ReduceSum", x, {{}, true, false, 13});
  float_axes.inputs.push_back(Tensor::from_vector<float>({1}, {0.f}));
  expect_invalid(float_axes, "float axes");
}

TEST(ReduceOps, SymbolicDimsSurviveInference) {
  // The harness types inputs by concrete tensors; symbolic dims need a hand-built context.
  Node node;
  node.op_type = "ReduceMean";
  node.opset = 13;
  node.attrs.set("axes", std::vector<int64_t>{-1});
  node.inputs = {"x"};
  node.outputs = {"y"};
  Value v{"x", {DType::kF32, Shape{Dim::symbolic("N"), Dim(), Dim(8)}}, std::nullopt};
  InferContext ctx{{node}, {&v}};
  auto out = OpRegistry::instance().find("", "ReduceMean")->infer(ctx);
  ASSERT_TRUE(out[0].shape.has_value());
  EXPECT_EQ(shape_to_string(*out[0].shape), "Nx?x1");
  v.type.shape = std::nullopt;  // unknown rank: unknown output rank, no crash
  EXPECT_FALSE(OpRegistry::instance().find("", "ReduceMean")->infer(ctx)[0].shape.has_value());
}

// Accumulating in float would lose the small terms next to a large one.
TEST(ReduceOps, AccumulatesInDouble) {
  std::vector<float> v(4097, 1.0f);
  v[0] = 16777216.0f;  // 2^24: float(2^24 + 1) == 2^24
  Tensor x = Tensor::from_vector<float>({int64_t(v.size())}, v);
  Tensor y = run_op(reduce_call("ReduceSum", x, {{0}, false, false, 13}))[0];
  EXPECT_EQ(y.data<float>()[0], 16777216.0f + 4096.0f);
  Tensor m = run_op(reduce_call("ReduceMean", x, {{0}, false, false, 18}))[0];
  EXPECT_FLOAT_EQ(m.data<float>()[0], float((16777216.0 + 4096.0) / 4097.0));
}

TEST(ReduceOps, LogSumExpIsStable) {
  Tensor x = Tensor::from_vector<float>({2, 3}, {1000.f, 1000.f, -1000.f, -800.f, -800.f, -800.f});
  Tensor y = run_op(reduce_call("ReduceLogSumExp", x, {{1}, false, false, 18}))[0];
  expect_close(y, {1000.0 + std::log(2.0), -800.0 + std::log(3.0)}, 1e-4, 1e-6);
  Tensor inf = Tensor::from_vector<float>({3}, {-INFINITY, 2.f, INFINITY});
  expect_close(run_op(reduce_call("ReduceLogSumExp", inf, {{0}, false, false, 18}))[0], {kInf});
}

TEST(ReduceOps, MaxMinPropagateNaN) {
  Tensor x = Tensor::from_vector<float>({2, 3}, {1.f, NAN, 3.f, 4.f, 5.f, 6.f});
  expect_close(run_op(reduce_call("ReduceMax", x, {{1}, false, false, 18}))[0], {NAN, 6.0});
  expect_close(run_op(reduce_call("ReduceMin", x, {{1}, false, false, 13}))[0], {NAN, 4.0});
}

// The hot shapes: big enough to cross the parallel threshold in both loop kinds.
TEST(ReduceOps, LargeTensorsBothLoops) {
  Tensor x = random_tensor(DType::kF32, {64, 4096}, 77);
  check_reduce("ReduceMean", x, {{-1}, true, false, 13});
  check_reduce("ReduceMean", x, {{0}, true, false, 18});
  check_reduce("ReduceMax", x, {{0}, false, false, 18});
  Tensor y = random_tensor(DType::kF32, {3, 300, 700}, 78);
  check_reduce("ReduceSum", y, {{1}, false, false, 13});
  check_reduce("ReduceLogSumExp", y, {{1}, false, false, 13}, 1e-5);
}

}  // namespace
}  // namespace kiln::test
