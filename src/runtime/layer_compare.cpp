#include "runtime/layer_compare.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <unordered_map>

namespace kiln {
namespace {

std::string op_label(const Node& n) { return n.domain.empty() ? n.op_type : n.domain + "." + n.op_type; }

// Node index by each output name.
std::unordered_map<std::string, size_t> producers(const Graph& g) {
  std::unordered_map<std::string, size_t> p;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& out : g.nodes[i].outputs)
      if (!out.empty()) p[out] = i;
  return p;
}

bool is_feed(const Graph& g, const std::string& name) {
  return name.empty() || g.is_constant(name) ||
         std::find(g.inputs.begin(), g.inputs.end(), name) != g.inputs.end();
}

bool within(const OutputComparison& c, const Tolerance& tol, bool graph_output) {
  if (!c.finite) return false;
  if (graph_output && tol.min_labels && c.label_agreement && *c.label_agreement < *tol.min_labels) return false;
  return c.rel_l2 <= tol.rtol || c.max_abs <= tol.atol;
}

// The reference nodes between the compared tensors (and feeds) upstream of `name` and `name`.
std::vector<NodeRef> covered_nodes(const Graph& ref, const std::unordered_map<std::string, size_t>& ref_producer,
                                   const std::set<std::string>& compared, const std::string& name) {
  std::set<size_t> seen;
  std::function<void(size_t)> walk = [&](size_t i) {
    if (!seen.insert(i).second) return;
    for (const auto& in : ref.nodes[i].inputs) {
      if (is_feed(ref, in) || compared.count(in)) continue;
      auto it = ref_producer.find(in);
      if (it != ref_producer.end()) walk(it->second);
    }
  };
  walk(ref_producer.at(name));
  std::vector<NodeRef> out;
  for (size_t i : seen) out.push_back({op_label(ref.nodes[i]), ref.nodes[i].name});
  return out;
}

}  // namespace

Tolerance default_tolerance(const std::string& precision) {
  if (precision == "fp16") return {1e-2, 1e-3, std::nullopt};
  if (precision == "tf32") return {5e-3, 1e-6, std::nullopt};
  return {1e-4, 1e-6, std::nullopt};
}

const char* status_name(TensorStatus s) {
  switch (s) {
    case TensorStatus::kWithin: return "within";
    case TensorStatus::kOutOfTolerance: return "OUT";
    case TensorStatus::kShapeMismatch: return "SHAPE";
  }
  return "?";
}

LayerReport compare_layers(const Graph& graph, const TensorMap& values, const Graph& ref, const TensorMap& ref_values,
                           const Tolerance& tol, bool per_layer) {
  const auto ref_producer = producers(ref);
  std::set<std::string> outputs(graph.outputs.begin(), graph.outputs.end());
  for (const auto& name : graph.outputs)
    if (std::find(ref.outputs.begin(), ref.outputs.end(), name) == ref.outputs.end())
      fail(ErrorCode::kInvalidArgument, "output '" + name + "' is not an output of the reference model; "
                                            "compare models with the same outputs");

  // Which node outputs are compared: the graph outputs, and with per_layer every tensor both
  // sides compute under one name.
  std::set<std::string> compared;
  for (const Node& n : graph.nodes)
    for (const auto& out : n.outputs) {
      if (out.empty() || !values.count(out)) continue;
      if (!outputs.count(out) && (!per_layer || !ref_producer.count(out) || !ref_values.count(out))) continue;
      compared.insert(out);
    }

  LayerReport report;
  std::unordered_map<std::string, size_t> index;  // compared tensor → its row
  for (const Node& n : graph.nodes)
    for (const auto& out : n.outputs) {
      if (out.empty()) continue;
      if (!compared.count(out)) {
        report.not_in_reference += per_layer;
        continue;
      }
      const Tensor& got = values.at(out);
      auto r = ref_values.find(out);
      if (r == ref_values.end())
        fail(ErrorCode::kInternal, "internal error: the reference run did not keep output '" + out + "'");
      TensorComparison c;
      c.name = out;
      c.producer = {op_label(n), n.name};
      c.dtype = dtype_name(got.dtype());
      c.ref_dtype = dtype_name(r->second.dtype());
      c.dims = got.dims();
      c.ref_dims = r->second.dims();
      c.graph_output = outputs.count(out) != 0;
      if (c.dims != c.ref_dims) {
        c.status = TensorStatus::kShapeMismatch;
      } else {
        c.stats = compare_output(got, r->second, "tensor '" + out + "'");
        if (!c.graph_output) c.stats.label_agreement.reset();  // argmax means nothing mid-network
        c.status = within(c.stats, tol, c.graph_output) ? TensorStatus::kWithin : TensorStatus::kOutOfTolerance;
      }
      if (per_layer && ref_producer.count(out)) c.covers = covered_nodes(ref, ref_producer, compared, out);
      if (c.status != TensorStatus::kWithin) ++report.mismatches;
      index[out] = report.tensors.size();
      report.tensors.push_back(std::move(c));
    }
  if (!per_layer) return report;

  // The nearest compared tensors upstream of each node output, through uncompared ones.
  const auto producer = producers(graph);
  std::unordered_map<std::string, std::set<std::string>> memo;
  std::function<const std::set<std::string>&(const std::string&)> sources =
      [&](const std::string& name) -> const std::set<std::string>& {
    if (auto it = memo.find(name); it != memo.end()) return it->second;
    std::set<std::string> found;
    for (const auto& in : graph.nodes[producer.at(name)].inputs) {
      if (is_feed(graph, in)) continue;
      if (compared.count(in)) {
        found.insert(in);
        continue;
      }
      const auto& up = sources(in);
      found.insert(up.begin(), up.end());
    }
    return memo[name] = std::move(found);
  };
  for (size_t i = 0; i < report.tensors.size(); ++i) {
    TensorComparison& c = report.tensors[i];
    if (c.status == TensorStatus::kWithin) continue;
    const auto& from = sources(c.name);
    c.jump = std::all_of(from.begin(), from.end(), [&](const std::string& s) {
      return report.tensors[index.at(s)].status == TensorStatus::kWithin;
    });
    if (c.jump && !report.first_jump) report.first_jump = i;
  }
  return report;
}

}  // namespace kiln
