#include "quant/accuracy_budget.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "runtime/output_compare.h"

namespace kiln::quant {
namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::string AccuracyBudget::text() const { return (metric == Metric::kLabels ? "labels:" : "l2:") + number(limit); }

std::string AccuracyBudget::criterion() const {
  return metric == Metric::kLabels ? "label agreement >= " + number(limit) + "%" : "rel L2 <= " + number(limit);
}

AccuracyBudget parse_accuracy_budget(const std::string& text) {
  const size_t colon = text.find(':');
  const std::string kind = text.substr(0, colon), value = colon == std::string::npos ? "" : text.substr(colon + 1);
  AccuracyBudget b;
  b.metric = kind == "labels" ? AccuracyBudget::Metric::kLabels : AccuracyBudget::Metric::kRelL2;
  char* end = nullptr;
  b.limit = value.empty() ? NAN : std::strtod(value.c_str(), &end);
  const bool number_ok = !value.empty() && end && *end == '\0' && std::isfinite(b.limit);
  const bool ok = number_ok && ((kind == "labels" && b.limit > 0 && b.limit <= 100) || (kind == "l2" && b.limit >= 0));
  if (!ok)
    fail(ErrorCode::kInvalidArgument, "--accuracy-budget '" + text +
                                          "': expected labels:P (least % label agreement, 0 < P <= 100) or "
                                          "l2:X (largest relative L2 of the outputs, X >= 0)");
  return b;
}

double budget_error(const Agreement& a, const AccuracyBudget& b) {
  if (!a.finite) return INFINITY;
  if (b.metric == AccuracyBudget::Metric::kRelL2) return a.rel_l2;
  if (!a.labels_percent) fail(ErrorCode::kInternal, "a labels budget measured without labels");
  return 100 - *a.labels_percent;
}

bool within_budget(const Agreement& a, const AccuracyBudget& b) {
  if (!a.finite) return false;
  return b.metric == AccuracyBudget::Metric::kRelL2 ? a.rel_l2 <= b.limit : *a.labels_percent >= b.limit;
}

std::string budget_figure(const Agreement& a, const AccuracyBudget& b) {
  char buf[64];
  if (!a.finite) return "non-finite outputs";
  if (b.metric == AccuracyBudget::Metric::kLabels)
    std::snprintf(buf, sizeof buf, "labels %.4g%%", *a.labels_percent);
  else
    std::snprintf(buf, sizeof buf, "rel L2 %.4g", a.rel_l2);
  return buf;
}

void AgreementTally::add(const TensorMap& got, const TensorMap& ref, const std::vector<std::string>& outputs) {
  for (size_t o = 0; o < outputs.size(); ++o) {
    const Tensor& g = got.at(outputs[o]);
    const Tensor& r = ref.at(outputs[o]);
    const OutputComparison c = compare_output(g, r, outputs[o]);
    auto& [num, den] = squares_[outputs[o]];
    num += c.sq_diff;
    den += c.sq_ref;
    finite_ = finite_ && c.finite;
    if (o > 0) continue;
    if (!c.label_agreement) {
      labels_ = false;
      continue;
    }
    same_labels_ += c.same_labels;
    positions_ += c.label_positions;
  }
}

Agreement AgreementTally::result() const {
  Agreement a;
  a.finite = finite_;
  for (const auto& [name, s] : squares_)
    a.rel_l2 = std::max(a.rel_l2, s.second > 0 ? std::sqrt(s.first / s.second) : std::sqrt(s.first));
  if (!finite_) a.rel_l2 = INFINITY;
  if (labels_ && positions_ > 0) a.labels_percent = 100.0 * double(same_labels_) / double(positions_);
  return a;
}

}  // namespace kiln::quant
