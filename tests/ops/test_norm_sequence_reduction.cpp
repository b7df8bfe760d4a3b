// kiln.SequenceReduction: the CPU reference gives exactly what the four nodes it replaces give
// (LayerNormPatchRows' rows → FusedMatMul → LayerNormalization → FusedMatMul, run one by one),
// and what sequence_reduction.h writes out — P's rows window by window, tap (i, j) channel c at
// row (i·p + j)·C + c of Wr — in double within float16 rounding; KV is [B, windows, N2] float16;
// type, shape and attribute errors are model errors; sequence_reduction_fits says what the
// kernel takes.
#include <cmath>
#include <cstring>

#include "harness.h"
#include "ops/norm/sequence_reduction.h"

// OpCall is filled with designated initializers; omitted members are meant to default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace kiln::test {
namespace {

using norm::SequenceReductionInput;

struct Case {
  int64_t B = 2, H = 6, W = 4, p = 2, C = 8, n2 = 16;
  DType x = DType::kF32;
  float eps = 1e-5f, eps2 = 1e-4f;
};

// The node's attributes; LayerNormPatchRows' alone without `second` (epsilon2), patch only with `patch`.
Attributes attrs(const Case& c, bool second = true, bool patch = true) {
  Attributes a;
  a.set("height", c.H);
  a.set("width", c.W);
  if (patch) a.set("patch", c.p);
  a.set("epsilon", c.eps);
  if (second) a.set("epsilon2", c.eps2);
  return a;
}

OpCall call(const Case& c, uint64_t seed) {
  const DType h = DType::kF16;
  const int64_t C = c.C;
  OpCall k{.op = "SequenceReduction", .attrs = attrs(c), .domain = "kiln"};
  k.inputs = {random_tensor(c.x, {c.B, c.H * c.W, C}, seed, -3.0, 4.0),
              random_tensor(h, {C}, seed + 1, 0.5, 1.5),
              random_tensor(h, {C}, seed + 2, -0.3, 0.3),
              random_tensor(h, {c.p * c.p * C, C}, seed + 3, -0.2, 0.2),
              random_tensor(h, {C}, seed + 4, -0.1, 0.1),
              random_tensor(h, {C}, seed + 5, 0.5, 1.5),
              random_tensor(h, {C}, seed + 6, -0.3, 0.3),
              random_tensor(h, {C, c.n2}, seed + 7, -0.3, 0.3),
              random_tensor(h, {c.n2}, seed + 8, -0.1, 0.1)};
  return k;
}

const Tensor& in(const OpCall& k, SequenceReductionInput slot) { return k.inputs[size_t(slot)]; }

// The four replaced nodes, each through run_op.
Tensor unfused(const Case& c, const OpCall& k) {
  const Attributes rows_attrs = attrs(c, /*second=*/false);
  const Tensor p = run_op({.op = "LayerNormPatchRows",
                           .inputs = {in(k, norm::kSrX), in(k, norm::kSrScale1), in(k, norm::kSrShift1)},
                           .attrs = rows_attrs, .num_outputs = 2, .domain = "kiln"})[1];
  const Tensor r =
      run_op({.op = "FusedMatMul", .inputs = {p, in(k, norm::kSrW), in(k, norm::kSrBias)}, .domain = "kiln"})[0];
  Attributes ln;
  ln.set("axis", int64_t(-1));
  ln.set("epsilon", c.eps2);
  const Tensor l2 =
      run_op({.op = "LayerNormalization", .inputs = {r, in(k, norm::kSrScale2), in(k, norm::kSrShift2)}, .attrs = ln})[0];
  return run_op({.op = "FusedMatMul", .inputs = {l2, in(k, norm::kSrWkv), in(k, norm::kSrBkv)}, .domain = "kiln"})[0];
}

// LayerNorm of `rows` rows of n values in place, in double.
void layer_norm(std::vector<double>& v, int64_t n, const std::vector<double>& s, const std::vector<double>& b,
                double eps) {
  for (size_t r = 0; r < v.size() / size_t(n); ++r) {
    double* x = &v[r * size_t(n)];
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i) mean += x[i];
    mean /= double(n);
    for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
    const double inv = 1.0 / std::sqrt(var / double(n) + eps);
    for (int64_t i = 0; i < n; ++i) x[i] = (x[i] - mean) * inv * s[size_t(i)] + b[size_t(i)];
  }
}

// rows [m, k] · w [k, n] + bias, in double.
std::vector<double> gemm(const std::vector<double>& a, const std::vector<double>& w, const std::vector<double>& bias,
                         int64_t k, int64_t n) {
  const size_t m = a.size() / size_t(k);
  std::vector<double> y(m * size_t(n));
  for (size_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias[size_t(j)];
      for (int64_t i = 0; i < k; ++i) acc += a[r * size_t(k) + size_t(i)] * w[size_t(i * n + j)];
      y[r * size_t(n) + size_t(j)] = acc;
    }
  return y;
}

// sequence_reduction.h's formulas in double: the LayerNorm, the patch rows (window wy, wx; tap
// i, j; channel c at (i·p + j)·C + c), the reduction, its LayerNorm, the K/V projection.
std::vector<double> naive(const Case& c, const OpCall& k) {
  const int64_t C = c.C, p = c.p, wh = c.H / p, ww = c.W / p, row = p * p * C;
  std::vector<double> y = to_doubles(in(k, norm::kSrX));
  layer_norm(y, C, to_doubles(in(k, norm::kSrScale1)), to_doubles(in(k, norm::kSrShift1)), c.eps);
  std::vector<double> rows(y.size());
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t wy = 0; wy < wh; ++wy)
      for (int64_t wx = 0; wx < ww; ++wx)
        for (int64_t i = 0; i < p; ++i)
          for (int64_t j = 0; j < p; ++j)
            for (int64_t ch = 0; ch < C; ++ch) {
              const int64_t token = (wy * p + i) * c.W + wx * p + j;
              rows[size_t((b * wh * ww + wy * ww + wx) * row + (i * p + j) * C + ch)] =
                  y[size_t((b * c.H * c.W + token) * C + ch)];
            }
  std::vector<double> r = gemm(rows, to_doubles(in(k, norm::kSrW)), to_doubles(in(k, norm::kSrBias)), row, C);
  layer_norm(r, C, to_doubles(in(k, norm::kSrScale2)), to_doubles(in(k, norm::kSrShift2)), c.eps2);
  return gemm(r, to_doubles(in(k, norm::kSrWkv)), to_doubles(in(k, norm::kSrBkv)), C, c.n2);
}

void check(const Case& c, uint64_t seed) {
  SCOPED_TRACE("B " + std::to_string(c.B) + " H " + std::to_string(c.H) + " W " + std::to_string(c.W) + " p " +
               std::to_string(c.p) + " C " + std::to_string(c.C) + " N2 " + std::to_string(c.n2) + " X " +
               dtype_name(c.x));
  const OpCall k = call(c, seed);
  const std::vector<Tensor> out = run_op(k);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype(), DType::kF16);
  expect_dims(out[0], {c.B, (c.H / c.p) * (c.W / c.p), c.n2});
  const Tensor want = unfused(c, k);
  ASSERT_EQ(want.nbytes(), out[0].nbytes());
  EXPECT_EQ(std::memcmp(out[0].raw(), want.raw(), want.nbytes()), 0);
  // P, R and L2 round to float16 on the way: a few float16 steps of the double result.
  expect_close(out[0], naive(c, k), 2e-2, 2e-2);
}

TEST(NormSequenceReduction, IsTheReplacedNodesAndTheHeadersFormulas) {
  uint64_t seed = 10;
  for (const Case& c : {Case{}, Case{.B = 1, .H = 9, .W = 6, .p = 3, .C = 5, .n2 = 7}, Case{.x = DType::kF16},
                        Case{.B = 1, .H = 8, .W = 8, .p = 2, .C = 64, .n2 = 128},
                        Case{.B = 1, .H = 8, .W = 8, .p = 8, .C = 16, .n2 = 32, .eps = 1e-6f, .eps2 = 1e-6f},
                        Case{.B = 2, .H = 3, .W = 5, .p = 1, .C = 4, .n2 = 8}}) {
    check(c, seed);
    seed += 10;
  }
}

TEST(NormSequenceReduction, InfersKvsType) {
  const std::vector<ValueType> t = infer_op(call({.B = 3, .H = 6, .W = 4, .p = 2, .C = 8, .n2 = 12}, 200));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].dtype, DType::kF16);
  ASSERT_TRUE(t[0].shape);
  EXPECT_EQ(shape_to_string(*t[0].shape), "3x6x12");
}

TEST(NormSequenceReduction, TypeShapeAndAttributeErrorsAreModelErrors) {
  const Case good{};
  EXPECT_EQ(error_code_of(call(good, 300)), ErrorCode::kInternal);  // no error: the baseline
  const auto with_attr = [&](const char* name, auto v) {
    OpCall k = call(good, 310);
    k.attrs.set(name, v);
    return error_code_of(k);
  };
  EXPECT_EQ(with_attr("height", int64_t(5)), ErrorCode::kInvalidModel);  // H·W is not the token count
  EXPECT_EQ(with_attr("patch", int64_t(4)), ErrorCode::kInvalidModel);   // divides W = 4, not H = 6
  EXPECT_EQ(with_attr("patch", int64_t(0)), ErrorCode::kInvalidModel);
  EXPECT_EQ(with_attr("epsilon", 0.f), ErrorCode::kInvalidModel);
  EXPECT_EQ(with_attr("epsilon2", -1e-5f), ErrorCode::kInvalidModel);
  OpCall missing = call(good, 320);
  missing.attrs = attrs(good, true, /*patch=*/false);
  EXPECT_EQ(error_code_of(missing), ErrorCode::kInvalidModel);
  const auto with_input = [&](int slot, DType t, Dims d) {
    OpCall k = call(good, 330);
    k.inputs[size_t(slot)] = random_tensor(t, std::move(d), 331);
    return error_code_of(k);
  };
  const int64_t B = good.B, N = good.H * good.W, C = good.C, P = good.p * good.p * C;
  EXPECT_EQ(with_input(norm::kSrX, DType::kF64, {B, N, C}), ErrorCode::kInvalidModel);
  EXPECT_EQ(with_input(norm::kSrX, DType::kF32, {N, C}), ErrorCode::kInvalidModel);        // rank 2
  EXPECT_EQ(with_input(norm::kSrX, DType::kF32, {B, N, C + 1}), ErrorCode::kInvalidModel);  // channels
  EXPECT_EQ(with_input(norm::kSrScale1, DType::kF32, {C}), ErrorCode::kInvalidModel);       // not float16
  EXPECT_EQ(with_input(norm::kSrBkv, DType::kF32, {2 * C}), ErrorCode::kInvalidModel);
  EXPECT_EQ(with_input(norm::kSrShift1, DType::kF16, {C + 1}), ErrorCode::kInvalidModel);
  EXPECT_EQ(with_input(norm::kSrW, DType::kF16, {C, C}), ErrorCode::kInvalidModel);  // not p·p·C rows
  EXPECT_EQ(with_input(norm::kSrW, DType::kF16, {P, C + 1}), ErrorCode::kInvalidModel);
  EXPECT_EQ(with_input(norm::kSrScale2, DType::kF16, {1, C}), ErrorCode::kInvalidModel);
  EXPECT_EQ(with_input(norm::kSrWkv, DType::kF16, {C + 1, 2 * C}), ErrorCode::kInvalidModel);
  EXPECT_EQ(with_input(norm::kSrWkv, DType::kF16, {2 * C}), ErrorCode::kInvalidModel);
  EXPECT_EQ(with_input(norm::kSrBkv, DType::kF16, {C}), ErrorCode::kInvalidModel);  // not N2
}

TEST(NormSequenceReduction, FitsTheKernelsWidthsOnly) {
  EXPECT_TRUE(norm::sequence_reduction_fits(DType::kF32, 64, 128));
  EXPECT_TRUE(norm::sequence_reduction_fits(DType::kF32, 128, 256));
  EXPECT_FALSE(norm::sequence_reduction_fits(DType::kF16, 64, 128));
  EXPECT_FALSE(norm::sequence_reduction_fits(DType::kF32, 32, 64));
  EXPECT_FALSE(norm::sequence_reduction_fits(DType::kF32, 96, 192));
  EXPECT_FALSE(norm::sequence_reduction_fits(DType::kF32, 64, 64));
  EXPECT_FALSE(norm::sequence_reduction_fits(DType::kF32, 128, 128));
}

}  // namespace
}  // namespace kiln::test
