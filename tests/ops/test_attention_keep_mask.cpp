// kiln.AttentionKeepMask's CPU reference against the masks written out naively — sigmoid, the
// threshold, rows that exclude every key reset to keep all, head copies — on float32 and float16
// logits with trailing key dims of rank 1 and 2, NaN logits (kept, as Less(NaN) is false), one
// key, one copy; its shape inference; and what it refuses.
#include <cmath>

#include "harness.h"
#include "kiln/status.h"

namespace kiln::test {
namespace {

OpCall call(const Tensor& x, int64_t repeats, float threshold = 0.5f) {
  OpCall c;
  c.op = "AttentionKeepMask";
  c.domain = "kiln";
  c.opset = 1;
  c.inputs = {x};
  c.attrs.set("repeats", repeats);
  c.attrs.set("threshold", threshold);
  return c;
}

// Logits in [-2, 2] with every third query's row all below zero (its mask excludes every key).
Tensor logits(DType dt, const Dims& dims, uint64_t seed) {
  Tensor x = random_tensor(DType::kF32, dims, seed, -2, 2);
  const int64_t Q = dims[1], K = x.numel() / (dims[0] * Q);
  for (int64_t row = 0; row < dims[0] * Q; ++row)
    if (row % Q % 3 == 0)
      for (int64_t k = 0; k < K; ++k) x.data<float>()[row * K + k] = -std::abs(x.data<float>()[row * K + k]) - 0.01f;
  if (dt == DType::kF32) return x;
  Tensor h(DType::kF16, dims);
  for (int64_t i = 0; i < x.numel(); ++i) h.data<f16>()[i] = f16{float_to_f16(x.data<float>()[i])};
  return h;
}

std::vector<double> naive(const Tensor& x, int64_t repeats, float threshold) {
  const int64_t B = x.dim(0), Q = x.dim(1), K = x.numel() / (B * Q);
  auto value = [&](int64_t i) {
    return x.dtype() == DType::kF32 ? double(x.data<float>()[i]) : double(f16_to_float(x.data<f16>()[i].bits));
  };
  auto excluded = [&](int64_t i) { return 1.0 / (1.0 + std::exp(-value(i))) < threshold; };
  std::vector<double> out(size_t(B * repeats * Q * K));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t q = 0; q < Q; ++q) {
      bool all = true;
      for (int64_t k = 0; k < K; ++k) all = all && excluded((b * Q + q) * K + k);
      for (int64_t r = 0; r < repeats; ++r)
        for (int64_t k = 0; k < K; ++k)
          out[size_t(((b * repeats + r) * Q + q) * K + k)] = all || !excluded((b * Q + q) * K + k);
    }
  return out;
}

TEST(AttentionKeepMask, MatchesTheFormula) {
  struct Case {
    Dims dims;
    int64_t repeats;
  };
  const std::vector<Case> cases = {{{1, 7, 4, 5}, 8}, {{2, 5, 13}, 3}, {{3, 4, 1, 1}, 1}, {{1, 1, 2, 3}, 2}, {{2, 9, 6, 7}, 1}};
  uint64_t seed = 40;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Case& c : cases) {
      SCOPED_TRACE(dims_to_string(c.dims) + " repeats " + std::to_string(c.repeats) + " " + dtype_name(dt));
      const Tensor x = logits(dt, c.dims, seed++);
      const Tensor y = run_op(call(x, c.repeats))[0];
      int64_t K = 1;
      for (size_t i = 2; i < c.dims.size(); ++i) K *= c.dims[i];
      expect_dims(y, {c.dims[0] * c.repeats, c.dims[1], K});
      EXPECT_EQ(y.dtype(), DType::kBool);
      expect_close(y, naive(x, c.repeats, 0.5f), 0, 0);
    }
}

TEST(AttentionKeepMask, OtherThresholdAndNaN) {
  const Tensor x = Tensor::from_vector<float>({1, 2, 3}, {0.3f, -0.2f, NAN, -1.f, -2.f, NAN});
  // Threshold 0.45: sigmoid(−0.2) = 0.450166 stays, sigmoid(−1) and sigmoid(−2) go; NaN stays.
  const Tensor y = run_op(call(x, 1, 0.45f))[0];
  expect_close(y, {1, 1, 1, 0, 0, 1}, 0, 0);
  // Threshold 0.9: row 0 excludes 0.3 and −0.2 but keeps NaN, so it is not reset.
  expect_close(run_op(call(x, 2, 0.9f))[0], {0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1}, 0, 0);
}

TEST(AttentionKeepMask, EmptyBatch) {
  expect_dims(run_op(call(Tensor(DType::kF32, {0, 4, 2, 3}), 8))[0], {0, 4, 6});
}

TEST(AttentionKeepMask, RefusesWhatDoesNotFit) {
  const Tensor x = random_tensor(DType::kF32, {1, 3, 4}, 1);
  EXPECT_EQ(error_code_of(call(x, 0)), ErrorCode::kInvalidModel);           // no copy
  EXPECT_EQ(error_code_of(call(x, 1, NAN)), ErrorCode::kInvalidModel);      // threshold not finite
  EXPECT_EQ(error_code_of(call(random_tensor(DType::kF32, {3, 4}, 1), 1)), ErrorCode::kInvalidModel);  // rank 2
  EXPECT_NE(error_code_of(call(Tensor(DType::kBool, {1, 3, 4}), 1)), ErrorCode::kInternal);          // not logits
}

}  // namespace
}  // namespace kiln::test
