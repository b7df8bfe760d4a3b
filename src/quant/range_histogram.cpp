#include "quant/range_histogram.h"

#include <algorithm>
#include <cmath>

namespace kiln::quant {

RangeHistogram::RangeHistogram(int bins) : counts_(size_t(std::max(bins, 2)), 0) {}

double RangeHistogram::absmax() const { return std::max(std::fabs(min_), std::fabs(max_)); }

void RangeHistogram::cover(double v) {
  const size_t n = counts_.size();
  while (v >= width_ * double(n)) {
    for (size_t i = 0; i < n / 2; ++i) counts_[i] = counts_[2 * i] + counts_[2 * i + 1];
    if (n % 2) counts_[n / 2] = counts_[n - 1];  // odd bin counts: the last bin keeps its own
    std::fill(counts_.begin() + long(n / 2 + n % 2), counts_.end(), 0);
    width_ *= 2;
  }
}

void RangeHistogram::add(const float* x, int64_t n) {
  double batch_abs = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    batch_abs = std::max(batch_abs, double(std::fabs(x[i])));
  }
  if (width_ == 0 && batch_abs > 0) {
    // Just above absmax, so the largest value lands in the last bin rather than past it.
    width_ = std::nextafter(batch_abs, INFINITY) / double(counts_.size());
    counts_[0] += zeros_;
  }
  if (width_ > 0) cover(batch_abs);
  const double inv = width_ > 0 ? 1.0 / width_ : 0;
  const size_t last = counts_.size() - 1;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) {
      ++non_finite_;
      continue;
    }
    if (total_ == 0) min_ = max_ = v;
    min_ = std::min(min_, double(v));
    max_ = std::max(max_, double(v));
    ++total_;
    if (v == 0) ++zeros_;
    if (width_ == 0) continue;  // all zeros so far: they go to bin 0 once there is a width
    counts_[std::min(last, size_t(std::fabs(double(v)) * inv))]++;
  }
}

}  // namespace kiln::quant
