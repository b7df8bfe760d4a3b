#include "quant/calibrators.h"

#include "kiln/status.h"

namespace kiln::quant {

Calibrator calibrator_from_name(const std::string& name) {
  if (name == "minmax") return Calibrator::kMinMax;
  if (name == "percentile") return Calibrator::kPercentile;
  if (name == "entropy") return Calibrator::kEntropy;
  fail(ErrorCode::kInvalidArgument, "--calibrator " + name + ": expected entropy, percentile or minmax");
}

const char* calibrator_name(Calibrator c) {
  switch (c) {
    case Calibrator::kMinMax: return "minmax";
    case Calibrator::kPercentile: return "percentile";
    case Calibrator::kEntropy: return "entropy";
  }
  return "?";
}

double amax_minmax(const RangeHistogram& h) { return h.absmax(); }

void check_percentile(double percentile) {
  if (!(percentile > 0 && percentile <= 100))
    fail(ErrorCode::kInvalidArgument, "--percentile must lie in (0, 100], got " + std::to_string(percentile));
}

double amax_percentile(const RangeHistogram& h, double percentile) {
  check_percentile(percentile);
  if (h.width() == 0) return 0;
  const auto& c = h.counts();
  // Less a part in 10^9: 99.9% of 10000 is 9990.000000000002 in binary.
  const double want = percentile / 100.0 * double(h.total()) * (1 - 1e-9);
  uint64_t seen = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    seen += c[i];
    // Never past the largest value: the bin's upper edge may lie beyond it.
    if (double(seen) >= want) return std::min(double(i + 1) * h.width(), h.absmax());
  }
  return h.absmax();
}

double amax_of(const RangeHistogram& h, Calibrator c, double percentile) {
  switch (c) {
    case Calibrator::kMinMax: return amax_minmax(h);
    case Calibrator::kPercentile: return amax_percentile(h, percentile);
    case Calibrator::kEntropy: return amax_entropy(h);
  }
  return amax_minmax(h);
}

}  // namespace kiln::quant
