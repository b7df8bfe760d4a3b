// kiln.MaskPositionEmbedding's CPU reference against the formula written out naively — counts of
// valid pixels up to each position of the first column or row, normalized by the total, scaled,
// divided per frequency, sin/cos interleaved — over masks padded at the bottom/right, wholly
// padded items (NaN, as the division by zero gives), one position, many frequencies; its shape
// inference; and what it refuses (axis, divisors, the mask's type and rank, no row to read).
#include <cmath>

#include "harness.h"
#include "kiln/status.h"

namespace kiln::test {
namespace {

OpCall call(const Tensor& mask, int64_t axis, std::vector<float> divisors, float offset = 0.5f,
            float scale = float(2 * M_PI)) {
  OpCall c;
  c.op = "MaskPositionEmbedding";
  c.domain = "kiln";
  c.opset = 1;
  c.inputs = {mask};
  c.attrs.set("axis", axis);
  c.attrs.set("offset", offset);
  c.attrs.set("scale", scale);
  c.attrs.set("divisors", std::move(divisors));
  return c;
}

// Item b valid on its top-left vh[b] × vw[b].
Tensor mask_of(int64_t H, int64_t W, const std::vector<std::pair<int64_t, int64_t>>& valid) {
  Tensor m(DType::kBool, {int64_t(valid.size()), H, W});
  for (size_t b = 0; b < valid.size(); ++b)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) m.data<bool>()[(int64_t(b) * H + y) * W + x] = y >= valid[b].first || x >= valid[b].second;
  return m;
}

// The float32 steps of mask_to_positions + sine_embed, one position at a time.
std::vector<double> naive(const Tensor& m, int64_t axis, const std::vector<float>& div, float offset, float scale) {
  const int64_t B = m.dim(0), H = m.dim(1), W = m.dim(2), n = axis == 1 ? H : W;
  auto valid = [&](int64_t b, int64_t i) {
    return !m.data<bool>()[(b * H + (axis == 1 ? i : 0)) * W + (axis == 1 ? 0 : i)];
  };
  std::vector<double> out;
  for (int64_t b = 0; b < B; ++b) {
    int64_t total = 0;
    for (int64_t i = 0; i < n; ++i) total += valid(b, i);
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i) {
      count += valid(b, i);
      const float centered = float(count) - offset;
      const float p = (centered / float(total)) * scale;
      for (float d : div) {
        const float a = p / d;
        out.push_back(float(std::sin(double(a))));
        out.push_back(float(std::cos(double(a))));
      }
    }
  }
  return out;
}

std::vector<float> divisors(int64_t k, double temperature = 10000.0) {
  std::vector<float> d;
  for (int64_t i = 0; i < k; ++i) d.push_back(float(std::pow(temperature, double(2 * i) / double(2 * k))));
  return d;
}

TEST(MaskPositionEmbedding, MatchesTheFormula) {
  struct Case {
    int64_t H, W, K;
    std::vector<std::pair<int64_t, int64_t>> valid;
  };
  const std::vector<Case> cases = {{8, 10, 32, {{7, 8}}},          {5, 9, 3, {{5, 9}, {2, 4}, {0, 9}}},
                                   {1, 1, 1, {{1, 1}}},             {13, 2, 64, {{13, 1}, {6, 2}}},
                                   {3, 17, 8, {{3, 17}, {3, 0}}}};
  for (const Case& k : cases)
    for (int64_t axis : {int64_t(1), int64_t(2)}) {
      SCOPED_TRACE("H " + std::to_string(k.H) + " W " + std::to_string(k.W) + " K " + std::to_string(k.K) + " axis " +
                   std::to_string(axis));
      const Tensor m = mask_of(k.H, k.W, k.valid);
      const auto div = divisors(k.K, k.K == 3 ? 20.0 : 10000.0);
      const Tensor y = run_op(call(m, axis, div))[0];
      expect_dims(y, {int64_t(k.valid.size()), axis == 1 ? k.H : k.W, 2 * k.K});
      EXPECT_EQ(y.dtype(), DType::kF32);
      // The same float32 steps: bit for bit (NaN where an item is wholly padded).
      expect_close(y, naive(m, axis, div, 0.5f, float(2 * M_PI)), 0, 0);
    }
  // Another offset and scale.
  const Tensor m = mask_of(6, 4, {{5, 3}});
  expect_close(run_op(call(m, 1, divisors(4), 0.f, 1.f))[0], naive(m, 1, divisors(4), 0.f, 1.f), 0, 0);
}

TEST(MaskPositionEmbedding, EmptyBatch) {
  const Tensor y = run_op(call(Tensor(DType::kBool, {0, 4, 5}), 2, divisors(2)))[0];
  expect_dims(y, {0, 5, 4});
}

TEST(MaskPositionEmbedding, RefusesWhatDoesNotFit) {
  const Tensor m = mask_of(3, 4, {{2, 2}});
  EXPECT_EQ(error_code_of(call(m, 0, divisors(2))), ErrorCode::kInvalidModel);     // axis 0: the batch
  EXPECT_EQ(error_code_of(call(m, 3, divisors(2))), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call(m, 1, {})), ErrorCode::kInvalidModel);              // no frequency
  EXPECT_EQ(error_code_of(call(m, 1, {1.f, 0.f})), ErrorCode::kInvalidModel);      // divide by zero
  EXPECT_EQ(error_code_of(call(m, 1, {1.f, INFINITY})), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call(m, 1, {1.f}, NAN)), ErrorCode::kInvalidModel);      // offset not finite
  EXPECT_EQ(error_code_of(call(random_tensor(DType::kF32, {1, 3, 4}, 1), 1, {1.f})), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call(Tensor(DType::kBool, {3, 4}), 1, {1.f})), ErrorCode::kInvalidModel);   // rank 2
  EXPECT_EQ(error_code_of(call(Tensor(DType::kBool, {1, 3, 0}), 1, {1.f})), ErrorCode::kInvalidModel);  // no column
  OpCall missing = call(m, 1, {1.f});
  missing.attrs = Attributes();
  missing.attrs.set("axis", int64_t(1));
  EXPECT_EQ(error_code_of(missing), ErrorCode::kInvalidModel);  // divisors absent
}

}  // namespace
}  // namespace kiln::test
