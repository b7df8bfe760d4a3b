#include "quant/accuracy_guard.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "io/progress.h"
#include "quant/quant_targets.h"
#include "quant/quantize_graph.h"
#include "runtime/layer_cost.h"
#include "runtime/specialize.h"

namespace kiln::quant {
namespace {

// Runs a graph (float or candidate) on every held-out input; a graph with other input dims is
// specialized once per distinct dims, as a CPU engine is at run time. One runner per graph
// serves every input of its dims (a CUDA executor uploads the weights once).
class HeldOutRunner {
 public:
  HeldOutRunner(const std::vector<TensorMap>& inputs, const EngineBuild& eb, const GraphRunnerFactory& make)
      : inputs_(inputs), eb_(eb), make_(make) {}

  template <class Each>  // each(input index, outputs)
  void run(const Graph& g, Each each) const {
    std::map<std::map<std::string, Dims>, Graph> specialized;
    std::map<const Graph*, GraphRunner> runners;
    for (size_t i = 0; i < inputs_.size(); ++i) {
      const std::map<std::string, Dims> dims = dims_of(inputs_[i]);
      const Graph* run_on = &g;
      if (!matches_static_inputs(g, dims)) {
        auto it = specialized.find(dims);
        if (it == specialized.end()) it = specialized.emplace(dims, specialize(g, dims, eb_, "the model")).first;
        run_on = &it->second;
      }
      if (!make_) {
        each(i, CpuExecutor(*run_on).run(inputs_[i]));
        continue;
      }
      auto it = runners.find(run_on);
      if (it == runners.end()) it = runners.emplace(run_on, make_(*run_on)).first;
      each(i, it->second(inputs_[i]));
    }
  }

 private:
  const std::vector<TensorMap>& inputs_;
  const EngineBuild& eb_;
  const GraphRunnerFactory& make_;
};

bool all_finite(const Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t.at_double(i))) return false;
  return true;
}

// Each target's FLOPs on the float graph at the first input's dims, by its output value.
std::map<std::string, double> target_flops(const Graph& g, const TensorMap& first, const EngineBuild& eb) {
  const std::map<std::string, Dims> dims = dims_of(first);
  const Graph s = matches_static_inputs(g, dims) ? g : specialize(g, dims, eb, "the model");
  std::map<std::string, double> flops;
  for (size_t i : find_quant_targets(s).consumers) flops[s.nodes[i].outputs[0]] = layer_cost(s, s.nodes[i]).flops;
  return flops;
}

}  // namespace

GuardResult guard_accuracy(const Graph& g, const std::map<std::string, double>& amax,
                           const std::vector<TensorMap>& inputs, const AccuracyBudget& budget,
                           const EngineBuild& eb, const GraphRunnerFactory& make_runner) {
  if (inputs.empty()) fail(ErrorCode::kInternal, "the accuracy guard needs held-out inputs");
  GuardResult r;
  r.budget = budget;
  r.inputs = int(inputs.size());
  const HeldOutRunner runner(inputs, eb, make_runner);

  // The reference, once.
  std::vector<TensorMap> reference(inputs.size());
  runner.run(g, [&](size_t i, TensorMap out) { reference[i] = std::move(out); });
  const std::string& first = g.outputs.at(0);
  for (size_t i = 0; i < reference.size(); ++i)
    for (const std::string& o : g.outputs)
      if (!all_finite(reference[i].at(o)))
        fail(ErrorCode::kInvalidArgument, "--ref-data: the float model's output '" + o + "' is not finite on held-out input " +
                                              std::to_string(i + 1) + "; it cannot be the reference");
  const Dims& d = reference[0].at(first).dims();
  if (budget.metric == AccuracyBudget::Metric::kLabels && !(d.size() >= 3 && d[1] > 1))
    fail(ErrorCode::kInvalidArgument, "--accuracy-budget " + budget.text() + ": the first output '" + first + "' (" +
                                          dims_to_string(d) + ") holds no class scores [N, C, ...] to take labels from; give l2:X");

  const auto evaluate = [&](const std::set<std::string>& keep_float, Progress* bar) {
    Graph c = g;
    quantize_graph(c, amax, eb.disabled_passes, keep_float);
    AgreementTally tally;
    runner.run(c, [&](size_t i, const TensorMap& out) {
      tally.add(out, reference[i], g.outputs);
      if (bar) bar->advance();
    });
    ++r.evaluations;
    return tally.result();
  };

  const QuantTargets targets = find_quant_targets(g);
  std::set<std::string> every;
  for (size_t i : targets.consumers) every.insert(g.nodes[i].outputs[0]);
  const std::map<std::string, double> flops = target_flops(g, inputs[0], eb);

  // 1. Sensitivity: each target alone.
  {
    Progress bar("sensitivity", int64_t(targets.consumers.size() * inputs.size()), std::chrono::milliseconds(500));
    for (size_t i : targets.consumers) {
      const Node& n = g.nodes[i];
      GuardLayer l{n.outputs[0], n.name, n.op_type, 0, {}, 0};
      if (auto f = flops.find(l.output); f != flops.end()) l.flops = f->second;
      std::set<std::string> others = every;
      others.erase(l.output);
      l.alone = evaluate(others, &bar);
      l.error = budget_error(l.alone, budget);
      r.layers.push_back(std::move(l));
    }
  }
  std::stable_sort(r.layers.begin(), r.layers.end(), [](const GuardLayer& a, const GuardLayer& b) {
    return a.error != b.error ? a.error > b.error : a.alone.rel_l2 > b.alone.rel_l2;
  });

  // 2. No int8 layer at all can stay.
  if (!r.layers.empty() && !within_budget(r.layers.back().alone, budget))
    fail(ErrorCode::kInvalidArgument, "--accuracy-budget " + budget.text() + " cannot be met with any layer in int8: the best is " +
                                          budget_figure(r.layers.back().alone, budget) + " with only " + r.layers.back().op +
                                          " '" + r.layers.back().node + "' quantized; loosen the budget or build without --int8");

  // 3. Greedy, most sensitive first.
  Progress bar("accuracy search", int64_t((2 * r.layers.size() + 1) * inputs.size()), std::chrono::milliseconds(500));
  r.all_int8 = r.chosen = evaluate({}, &bar);
  for (size_t k = 0; k + 1 < r.layers.size() && !within_budget(r.chosen, budget); ++k) {
    r.keep_float.insert(r.layers[k].output);
    r.chosen = r.keep_float.size() + 1 == r.layers.size() ? r.layers.back().alone : evaluate(r.keep_float, &bar);
  }

  // 4. Give back, most FLOPs first.
  std::vector<const GuardLayer*> kept;
  for (const GuardLayer& l : r.layers)
    if (r.keep_float.count(l.output)) kept.push_back(&l);
  std::stable_sort(kept.begin(), kept.end(), [](const GuardLayer* a, const GuardLayer* b) { return a->flops > b->flops; });
  for (const GuardLayer* l : kept) {
    std::set<std::string> fewer = r.keep_float;
    fewer.erase(l->output);
    const Agreement a = evaluate(fewer, &bar);
    if (!within_budget(a, budget)) continue;
    r.keep_float = std::move(fewer);
    r.chosen = a;
    ++r.given_back;
  }
  return r;
}

}  // namespace kiln::quant
