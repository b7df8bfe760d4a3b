// Entropy calibration: choose the clip threshold T = i·width (i kept bins of the |x| histogram)
// that loses the least information when the clipped distribution is quantized.
//
//   P_i  the histogram's first i bins, with the mass beyond them added to bin i−1 (clipping
//        moves every larger |x| to T)
//   Q_i  the same i bins quantized to `levels` steps: each step's group of bins gets the group's
//        mass (without the clipped mass) spread evenly over the bins where P_i is non-zero
//   KL(P_i ‖ Q_i) = Σ p log(p / q), both normalized; a q of 0 where p > 0 (a group holding only
//        clipped mass) is raised to kEpsilon so the divergence stays finite but large
//
// A small i clips much (P_i's last bin swells), a large i leaves few bins per step (Q_i smears
// the bulk); the minimum balances the two. Candidates run from `levels` bins (one per step, Q =
// P but for the last bin) to the last non-empty bin.
//
// Exact zeros are left out: symmetric quantization (zero point 0) represents them exactly at
// every threshold, so they carry no information about the choice — yet left in bin 0 they
// would dominate a post-ReLU tensor's histogram, and Q's spreading of bin 0's group would push
// the threshold down (segformer_tiny's decode-head ReLU: clipped at half its range with them).
#include <cmath>
#include <limits>

#include "quant/calibrators.h"

namespace kiln::quant {
namespace {

constexpr double kEpsilon = 1e-4;

double divergence(const std::vector<uint64_t>& h, size_t kept, uint64_t beyond, int levels) {
  std::vector<double> p(kept), q(kept, 0.0);
  for (size_t j = 0; j < kept; ++j) p[j] = double(h[j]);
  p[kept - 1] += double(beyond);
  double q_total = 0;
  for (int l = 0; l < levels; ++l) {
    const size_t begin = size_t(l) * kept / size_t(levels), end = size_t(l + 1) * kept / size_t(levels);
    double mass = 0;
    size_t nonzero = 0;
    for (size_t j = begin; j < end; ++j) {
      mass += double(h[j]);
      nonzero += p[j] > 0;
    }
    if (nonzero == 0) continue;
    for (size_t j = begin; j < end; ++j)
      if (p[j] > 0) q[j] = mass / double(nonzero);
    q_total += mass;
  }
  double p_total = 0;
  for (double v : p) p_total += v;
  double kl = 0;
  for (size_t j = 0; j < kept; ++j) {
    if (p[j] == 0) continue;
    const double pj = p[j] / p_total;
    const double qj = q[j] > 0 ? q[j] / q_total : kEpsilon;
    kl += pj * std::log(pj / qj);
  }
  return kl;
}

}  // namespace

double amax_entropy(const RangeHistogram& h, int levels) {
  std::vector<uint64_t> c = h.counts();
  if (!c.empty()) c[0] -= h.zeros();
  size_t used = 0;  // one past the last non-empty bin
  for (size_t j = 0; j < c.size(); ++j)
    if (c[j]) used = j + 1;
  if (h.width() == 0 || used <= size_t(levels)) return h.absmax();  // too few bins to clip anything
  uint64_t beyond = 0;
  for (size_t j = size_t(levels); j < used; ++j) beyond += c[j];
  double best = std::numeric_limits<double>::infinity();
  size_t best_kept = used;
  for (size_t kept = size_t(levels); kept <= used; ++kept) {
    const double kl = divergence(c, kept, beyond, levels);
    if (kl < best) {
      best = kl;
      best_kept = kept;
    }
    if (kept < used) beyond -= c[kept];
  }
  return std::min(double(best_kept) * h.width(), h.absmax());
}

}  // namespace kiln::quant
