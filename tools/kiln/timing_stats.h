// Summary statistics of repeated timings (kiln bench, kiln profile): nearest-rank percentiles.
#pragma once
#include <algorithm>
#include <cmath>
#include <numeric>
#include <nlohmann/json.hpp>
#include <vector>

namespace kiln::cli {

struct TimingStats {
  double median = 0, p90 = 0, p99 = 0, mean = 0, min = 0;
};

inline TimingStats summarize(std::vector<double> v) {
  TimingStats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) { return v[std::min(v.size() - 1, size_t(std::ceil(q * double(v.size()))) - (q > 0 ? 1 : 0))]; };
  s.median = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  s.p90 = rank(0.90);
  s.p99 = rank(0.99);
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  s.min = v.front();
  return s;
}

inline nlohmann::json to_json(const TimingStats& s) {
  return {{"median", s.median}, {"p90", s.p90}, {"p99", s.p99}, {"mean", s.mean}, {"min", s.min}};
}

}  // namespace kiln::cli
