// The calibrators on data whose answer is known: min-max exactly, a percentile of an evenly
// spaced sample to within a bin, entropy keeping the whole of a uniform distribution and
// clipping a planted outlier tail of a Gaussian bulk. Plus the histogram's width doubling.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kiln/status.h"
#include "quant/calibrators.h"
#include "quant/range_histogram.h"

namespace kiln::quant {
namespace {

// Standard normal samples from a fixed generator (Box–Muller by hand: std::normal_distribution's
// algorithm is the library's choice, mt19937_64's output is fixed by the standard).
std::vector<float> gaussian(size_t n, uint64_t seed) {
  std::mt19937_64 gen(seed);
  auto uniform = [&] { return (double(gen() >> 11) + 0.5) / 9007199254740992.0; };
  std::vector<float> v(n);
  for (auto& x : v) x = float(std::sqrt(-2 * std::log(uniform())) * std::cos(6.283185307179586 * uniform()));
  return v;
}

TEST(Calibrators, MinMaxIsTheExactLargestMagnitude) {
  RangeHistogram h;
  const std::vector<float> a = {0.5f, -3.25f, 1.0f}, b = {2.75f, 0.0f, -1.5f};
  h.add(a.data(), 3);
  h.add(b.data(), 3);
  EXPECT_EQ(h.min(), -3.25);
  EXPECT_EQ(h.max(), 2.75);
  EXPECT_EQ(amax_minmax(h), 3.25);
  EXPECT_EQ(h.total(), 6u);
  EXPECT_EQ(h.zeros(), 1u);
}

TEST(Calibrators, NonFiniteValuesAreCountedApart) {
  RangeHistogram h;
  const std::vector<float> a = {1.0f, NAN, INFINITY, -2.0f};
  h.add(a.data(), 4);
  EXPECT_EQ(amax_minmax(h), 2.0);
  EXPECT_EQ(h.total(), 2u);
  EXPECT_EQ(h.non_finite(), 2u);
}

// A later batch beyond the range doubles the width; the counts must equal binning every value
// directly at the final width (floor(floor(x/w)/2) = floor(x/2w)).
TEST(Calibrators, WidthDoublingKeepsExactCounts) {
  RangeHistogram h(64);
  std::vector<float> small = gaussian(5000, 1), big = gaussian(5000, 2);
  for (auto& x : big) x *= 9;
  h.add(small.data(), int64_t(small.size()));
  const double w0 = h.width();
  h.add(big.data(), int64_t(big.size()));
  const double w = h.width();
  EXPECT_GT(w, w0);
  EXPECT_EQ(w / w0, std::exp2(std::round(std::log2(w / w0))));  // a power of two
  std::vector<uint64_t> want(64, 0);
  for (const auto* v : {&small, &big})
    for (float x : *v) want[std::min<size_t>(63, size_t(std::floor(std::fabs(x) / w0)) >> size_t(std::log2(w / w0)))]++;
  EXPECT_EQ(h.counts(), want);
  EXPECT_EQ(h.total(), 10000u);
}

TEST(Calibrators, LeadingZeroBatchesLandInBinZero) {
  RangeHistogram h(16);
  const std::vector<float> zeros(7, 0.0f), ones = {1.0f, -1.0f};
  h.add(zeros.data(), 7);
  EXPECT_EQ(h.width(), 0.0);
  h.add(ones.data(), 2);
  EXPECT_EQ(h.counts()[0], 7u);
  EXPECT_EQ(h.counts()[15], 2u);
  EXPECT_EQ(h.zeros(), 7u);
}

// |x| = 0.001·k for k = 1..10000: the p-th percentile is 0.1·p, found to within one bin.
TEST(Calibrators, PercentileOfAnEvenSample) {
  std::vector<float> v;
  for (int k = 1; k <= 10000; ++k) v.push_back(float(k % 2 ? 0.001 * k : -0.001 * k));
  RangeHistogram h;
  h.add(v.data(), int64_t(v.size()));
  for (double p : {50.0, 99.0, 99.9}) {
    const double got = amax_percentile(h, p);
    EXPECT_NEAR(got, 0.1 * p, h.width()) << p;
    EXPECT_GE(got, 0.1 * p - 1e-6) << "the bin's upper edge: never below the percentile";
  }
  EXPECT_EQ(amax_percentile(h, 100), 10.0f);
  EXPECT_THROW(amax_percentile(h, 0), Error);
  EXPECT_THROW(amax_percentile(h, 100.5), Error);
}

// Uniform data has nothing worth clipping: every cut moves a whole bin's worth of mass per
// cut bin into the last one, while keeping all bins quantizes each group of equal bins exactly.
TEST(Calibrators, EntropyKeepsTheWholeOfAUniformDistribution) {
  std::vector<float> v;
  for (int k = 0; k < 204800; ++k) v.push_back(float((k + 0.5) / 204800.0) * (k % 2 ? 1 : -1));
  RangeHistogram h;
  h.add(v.data(), int64_t(v.size()));
  EXPECT_EQ(amax_entropy(h), amax_minmax(h));
}

// A Gaussian bulk (σ = 1, 200000 samples: the largest about 4.7) and 20 planted values at ±40.
// Min-max takes 40, leaving the bulk ~3 int8 steps per σ; entropy must clip the tail (below 6,
// within 1.3× of the bulk's largest value) and keep the bulk (above 3σ: clipping at 3 already
// moves 0.27% of the mass into the last bin, which the KL term penalizes). Computed: 4.22.
TEST(Calibrators, EntropyClipsAPlantedOutlierTailAndKeepsTheBulk) {
  std::vector<float> v = gaussian(200000, 7);
  for (int i = 0; i < 20; ++i) v[size_t(i) * 9973] = i % 2 ? 40.0f : -40.0f;
  RangeHistogram h;
  h.add(v.data(), int64_t(v.size()));
  EXPECT_EQ(amax_minmax(h), 40.0);
  const double t = amax_entropy(h);
  std::printf("[ entropy ] threshold %.4f (width %.4f), percentile 99.99 %.4f\n", t, h.width(), amax_percentile(h, 99.99));
  EXPECT_GT(t, 3.0);
  EXPECT_LT(t, 6.0);
  // Zeros do not move it: symmetric quantization keeps them exact at any threshold.
  v.resize(v.size() * 3, 0.0f);
  RangeHistogram hz;
  hz.add(v.data(), int64_t(v.size()));
  EXPECT_EQ(amax_entropy(hz), t);
}

TEST(Calibrators, NamesAndDispatch) {
  EXPECT_EQ(calibrator_from_name("entropy"), Calibrator::kEntropy);
  EXPECT_STREQ(calibrator_name(calibrator_from_name("percentile")), "percentile");
  EXPECT_THROW(calibrator_from_name("kl"), Error);
  RangeHistogram h;
  const std::vector<float> a = {1, 2, 3, 4};
  h.add(a.data(), 4);
  EXPECT_EQ(amax_of(h, Calibrator::kMinMax, 99), 4.0);
}

}  // namespace
}  // namespace kiln::quant
