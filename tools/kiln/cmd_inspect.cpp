// kiln inspect MODEL.onnx|ENGINE.kiln [--shape NAME=DIMS] [--fusions | --layers] [--json]
// Inputs and outputs with shapes, and the op histogram before and after folding; for an
// engine file also what it was built for.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "model_source.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"

namespace kiln::cli {
namespace {

struct InspectOptions {
  std::string model;
  std::vector<std::string> shapes;
  bool json = false;
  bool fusions = false;
  bool layers = false;
};

std::string list_refs(const std::vector<NodeRef>& refs) {
  std::string out;
  for (const auto& r : refs) out += (out.empty() ? "" : ", ") + r.op + " '" + r.name + "'";
  return out.empty() ? "nothing" : out;
}

// --fusions: the rewrites, from the engine's build record or from the passes just run.
int print_fusions(const InspectOptions& o, const std::vector<FusionRecord>& rewrites,
                  const std::set<std::string>& disabled) {
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    auto refs = [](const std::vector<NodeRef>& v) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& r : v) a.push_back({{"op", r.op}, {"name", r.name}});
      return a;
    };
    for (const auto& r : rewrites) list.push_back({{"pass", r.pass}, {"replaced", refs(r.replaced)}, {"added", refs(r.added)}});
    std::cout << nlohmann::json{{"model", o.model}, {"rewrites", list}, {"disabled_passes", disabled}}.dump(2) << "\n";
    return 0;
  }
  std::map<std::string, int> per_pass;
  for (const auto& r : rewrites) ++per_pass[r.pass];
  std::printf("%s: %zu rewrites\n", o.model.c_str(), rewrites.size());
  for (const auto& name : rewrite_pass_names())
    std::printf("  %-28s %s\n", name.c_str(),
                disabled.count(name) ? "disabled" : (std::to_string(per_pass[name]) + " rewrites").c_str());
  for (const auto& r : rewrites)
    std::printf("%s: %s\n    -> %s\n", r.pass.c_str(), list_refs(r.replaced).c_str(), list_refs(r.added).c_str());
  return 0;
}

nlohmann::json describe_values(const Graph& g, const std::vector<std::string>& names) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& n : names) {
    const ValueType& t = g.value(n).type;
    list.push_back({{"name", n}, {"dtype", dtype_name(t.dtype)},
                    {"shape", t.shape ? shape_to_string(*t.shape) : "?"}});
  }
  return list;
}

std::string describe_operands(const Graph& g, const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    if (n.empty()) { out += "-"; continue; }
    const ValueType& t = g.value(n).type;
    out += n + ":" + dtype_name(t.dtype) + (t.shape ? shape_to_string(*t.shape) : "?");
    if (g.is_constant(n)) out += "(const)";
  }
  return out;
}

// --layers: each node of the graph as it runs (an engine's stored graph, or the ONNX model after
// the passes), in execution order, with operand types and shapes.
int print_layers(const InspectOptions& o, const Graph& g) {
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& n : g.nodes)
      list.push_back({{"name", n.name}, {"op", n.domain.empty() ? n.op_type : n.domain + "." + n.op_type},
                      {"inputs", describe_values(g, [&] {
                         std::vector<std::string> v;
                         for (const auto& i : n.inputs) if (!i.empty()) v.push_back(i);
                         return v;
                       }())},
                      {"outputs", describe_values(g, n.outputs)}});
    std::cout << nlohmann::json{{"model", o.model}, {"layers", list}}.dump(2) << "\n";
    return 0;
  }
  std::printf("%s: %zu layers\n", o.model.c_str(), g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    std::printf("%4zu %s%s '%s'\n      in  %s\n      out %s\n", i, n.domain.empty() ? "" : (n.domain + ".").c_str(),
                n.op_type.c_str(), n.name.c_str(), describe_operands(g, n.inputs).c_str(),
                describe_operands(g, n.outputs).c_str());
  }
  return 0;
}

int inspect(const InspectOptions& o) {
  ImportOptions import;
  import.input_shapes = parse_shapes(o.shapes);
  ModelSource source;
  Graph g = open_model(o.model, import, nullptr, &source);  // any target: inspecting runs nothing
  int source_nodes = 0;
  for (const auto& [op, count] : g.source_ops) source_nodes += count;
  std::map<std::string, int> before = g.source_ops;
  PassReport passes = run_passes(g, source.build.disabled_passes, /*record_rewrites=*/o.fusions && !source.engine);
  std::map<std::string, int> after = g.op_histogram();
  // An engine's graph is already rewritten: its record says what the build's passes did.
  if (o.fusions)
    return print_fusions(o, source.engine ? source.build.rewrites : passes.rewrites, source.build.disabled_passes);
  if (o.layers) return print_layers(o, g);

  nlohmann::json r;
  r["model"] = o.model;
  r["opset"] = g.opsets[""];
  if (source.engine)
    r["engine"] = {{"format_version", kEngineFormatVersion}, {"device", source.target.device},
                   {"arch", source.target.arch}, {"kiln_version", source.kiln_version}};
  r["inputs"] = describe_values(g, g.inputs);
  r["outputs"] = describe_values(g, g.outputs);
  r["nodes"] = {{"in_file", source_nodes}, {"after_folding", passes.nodes_after}};
  r["ops_before"] = before;
  r["ops_after"] = after;
  if (o.json) {
    std::cout << r.dump(2) << "\n";
    return 0;
  }
  std::printf("%s  (opset %d)\n", o.model.c_str(), g.opsets[""]);
  if (source.engine)
    std::printf("engine: format %u, built for %s by kiln %s\n", kEngineFormatVersion,
                source.target.to_string().c_str(), source.kiln_version.c_str());
  for (const char* kind : {"inputs", "outputs"})
    for (const auto& v : r[kind])
      std::printf("  %-7s %-32s %-8s %s\n", kind, v["name"].get<std::string>().c_str(),
                  v["dtype"].get<std::string>().c_str(), v["shape"].get<std::string>().c_str());
  std::printf("nodes: %d in file, %d after folding\n", source_nodes, passes.nodes_after);
  std::printf("  %-28s %8s %8s\n", "op", "before", "after");
  std::map<std::string, int> all = before;
  for (const auto& [op, n] : after) all.emplace(op, 0);
  for (const auto& [op, n] : all)
    std::printf("  %-28s %8d %8d\n", op.c_str(), before.count(op) ? before.at(op) : 0,
                after.count(op) ? after.at(op) : 0);
  return 0;
}

}  // namespace

Action add_inspect_command(CLI::App& app) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show a model's inputs, outputs and ops");
  cmd->footer("Examples:\n  kiln inspect tests/models/segformer_b0/model.onnx --shape pixel_values=1x3x512x512\n"
              "  kiln inspect model.kiln --fusions\n  kiln inspect model.kiln --layers");
  cmd->add_option("model", o->model, "Model file (.onnx) or engine file (kiln build)")->required();
  cmd->add_option("--shape", o->shapes, "NAME=1x3x512x512: dims for a symbolic input (repeatable)");
  CLI::Option* fusions = cmd->add_flag("--fusions", o->fusions, "List each rewrite the passes made: the nodes it replaced and what replaced them");
  cmd->add_flag("--layers", o->layers, "List every node as it runs, in order, with its operands' types and shapes")
      ->excludes(fusions);
  cmd->add_flag("--json", o->json, "Print JSON");
  return with_plugins(cmd, [o] { return inspect(*o); });
}

}  // namespace kiln::cli
