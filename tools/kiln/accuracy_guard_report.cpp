#include "accuracy_guard_report.h"

#include <algorithm>
#include <cstdio>

namespace kiln::cli {
namespace {

nlohmann::json agreement_json(const quant::Agreement& a) {
  nlohmann::json j = {{"rel_l2", a.finite ? nlohmann::json(a.rel_l2) : nlohmann::json(nullptr)}};
  if (a.labels_percent) j["labels_percent"] = *a.labels_percent;
  return j;
}

nlohmann::json layer_json(const quant::GuardLayer& l) {
  return {{"node", l.node}, {"op", l.op}, {"output", l.output}, {"flops", l.flops}, {"alone", agreement_json(l.alone)}};
}

// "labels 99.62%" or "rel L2 0.0131" from an agreement object, in the budget's terms.
std::string figure(const nlohmann::json& a, bool labels) {
  char buf[64];
  if (labels && a.contains("labels_percent"))
    std::snprintf(buf, sizeof buf, "labels %.4g%%", a["labels_percent"].get<double>());
  else if (a["rel_l2"].is_null())
    std::snprintf(buf, sizeof buf, "non-finite");
  else
    std::snprintf(buf, sizeof buf, "rel L2 %.4g", a["rel_l2"].get<double>());
  return buf;
}

}  // namespace

nlohmann::json accuracy_guard_json(const quant::GuardResult& r) {
  const bool labels = r.budget.metric == quant::AccuracyBudget::Metric::kLabels;
  nlohmann::json j = {{"budget", r.budget.text()}, {"criterion", r.budget.criterion()}, {"ref_inputs", r.inputs},
                      {"layers", r.layers.size()}, {"quantized", r.layers.size() - r.keep_float.size()},
                      {"kept_float", nlohmann::json::array()}, {"sensitivity", nlohmann::json::array()},
                      {"all_int8", agreement_json(r.all_int8)}, {"chosen", agreement_json(r.chosen)},
                      {"figure", labels ? *r.chosen.labels_percent : r.chosen.rel_l2},
                      {"given_back", r.given_back}, {"evaluations", r.evaluations}};
  for (const quant::GuardLayer& l : r.layers) {
    j["sensitivity"].push_back(layer_json(l));
    if (r.keep_float.count(l.output)) j["kept_float"].push_back(layer_json(l));
  }
  return j;
}

void print_accuracy_guard(const nlohmann::json& j) {
  const bool labels = j["budget"].get<std::string>().rfind("labels:", 0) == 0;
  const int kept = int(j["kept_float"].size());
  const std::string on = j.contains("evaluated_on") ? ", run on " + j["evaluated_on"].get<std::string>() : "";
  std::printf("  accuracy guard (%s on %d held-out inputs%s): %d of %d layers int8, %d kept in float; %s (all int8: %s), %d evaluations\n",
              j["criterion"].get<std::string>().c_str(), j["ref_inputs"].get<int>(), on.c_str(), j["quantized"].get<int>(),
              j["layers"].get<int>(), kept, figure(j["chosen"], labels).c_str(), figure(j["all_int8"], labels).c_str(),
              j["evaluations"].get<int>());
  if (kept == 0) return;
  int width = 13;  // node names are long: the column fits the longest
  for (const auto& l : j["kept_float"]) width = std::max(width, int(l["node"].get<std::string>().size()));
  std::printf("    %-*s  %-14s %-22s %10s\n", width, "kept in float", "op", "only it in int8", "MFLOP");
  for (const auto& l : j["kept_float"])
    std::printf("    %-*s  %-14s %-22s %10.2f\n", width, l["node"].get<std::string>().c_str(), l["op"].get<std::string>().c_str(),
                figure(l["alone"], labels).c_str(), l["flops"].get<double>() / 1e6);
}

}  // namespace kiln::cli
