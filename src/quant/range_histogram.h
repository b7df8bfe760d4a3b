// What calibration keeps of one activation tensor across every calibration input: its signed
// min and max, and a histogram of |x| over [0, bins·width). The width is set by the first
// non-zero batch (its absmax spread over the bins) and doubled — adjacent bins merged in pairs,
// which is exact because the range starts at 0 — whenever a later value falls beyond the
// range, so the histogram never needs a second pass over the data.
#pragma once
#include <cstdint>
#include <vector>

namespace kiln::quant {

class RangeHistogram {
 public:
  static constexpr int kDefaultBins = 2048;
  explicit RangeHistogram(int bins = kDefaultBins);

  void add(const float* x, int64_t n);  // NaN and ±Inf are counted apart and otherwise ignored

  double min() const { return min_; }
  double max() const { return max_; }
  double absmax() const;
  double width() const { return width_; }  // 0 until a non-zero value arrived
  const std::vector<uint64_t>& counts() const { return counts_; }
  uint64_t total() const { return total_; }  // finite values seen, zeros included
  uint64_t zeros() const { return zeros_; }  // exact zeros (in bin 0 with the smallest magnitudes)
  uint64_t non_finite() const { return non_finite_; }

 private:
  void cover(double v);  // doubles the width until v falls inside the range

  std::vector<uint64_t> counts_;
  double width_ = 0, min_ = 0, max_ = 0;
  uint64_t total_ = 0, zeros_ = 0, non_finite_ = 0;
};

}  // namespace kiln::quant
