// kiln compare A B [--input NAME=FILE.npy|random ...] [--shape NAME=DIMS] [--seed N] [--per-layer]
//              [--device cpu|cuda] [--criterion fp32|tf32|fp16] [--rtol X] [--atol X]
//              [--min-labels F] [--json]
// Runs A (an ONNX model or engine file, as built, on --device) and the reference B (on the CPU
// reference backend; an ONNX B with no rewrite pass, so every tensor keeps its ONNX name) on the
// same inputs and compares the graph outputs; with --per-layer every tensor both compute under
// one name, and names the first whose error jumps (layer_compare.h has the rule).
// Exit 0: all within tolerance; 3: a mismatch; 2: user error; 1: internal error.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "input_feeds.h"
#include "model_source.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/layer_compare.h"
#ifdef KILN_WITH_CUDA
#include "runtime/cuda/cuda_executor.h"
#endif

namespace kiln::cli {
namespace {

constexpr int kExitMismatch = 3;

struct CompareOptions {
  std::string model, reference;
  std::vector<std::string> inputs, shapes;
  int64_t seed = -1;
  bool per_layer = false;
  std::string device;     // A's: empty → its engine's device, else cpu
  std::string criterion;  // empty → A's engine precision, else fp32
  double rtol = -1, atol = -1, min_labels = -1;  // negative: the criterion's
  bool json = false;
};

// One side's run: the graph as executed and the values kept (every node output with
// --per-layer, else the graph outputs).
struct SideRun {
  Graph graph;
  TensorMap values;
};

SideRun run_cpu(Graph g, const TensorMap& feeds, bool keep_all) {
  SideRun side{std::move(g), {}};
  CpuExecutor exec(side.graph);
  CpuExecutor::ValueDone keep = [&](const std::string& name, const Tensor& t) { side.values[name] = t; };
  TensorMap outs = exec.run(feeds, {}, keep_all ? keep : CpuExecutor::ValueDone{});
  for (auto& [name, t] : outs) side.values[name] = std::move(t);
  return side;
}

SideRun run_on_device(Graph g, const EngineBuild& build, const std::string& device, const TensorMap& feeds,
                      bool keep_all) {
#ifdef KILN_WITH_CUDA
  if (device == "cuda") {
    // Node by node with each output copied back (run_keeping), else the usual CUDA Graph run.
    CudaExecutor exec(std::make_shared<CudaModel>(std::move(g), build));
    std::map<std::string, Dims> dims;
    for (const auto& [name, t] : feeds) dims[name] = t.dims();
    SideRun side{exec.plan_graph(dims), {}};
    TensorMap outs = keep_all ? exec.run_keeping(feeds, [&](const std::string& name, const Tensor& t) {
      side.values[name] = t;
    })
                              : exec.run(feeds);
    for (auto& [name, t] : outs) side.values[name] = std::move(t);
    return side;
  }
#endif
  (void)build, (void)device;
  return run_cpu(std::move(g), feeds, keep_all);
}

Tolerance tolerance_of(const CompareOptions& o, const std::string& precision) {
  Tolerance tol = default_tolerance(o.criterion.empty() ? precision : o.criterion);
  if (o.rtol >= 0) tol.rtol = o.rtol;
  if (o.atol >= 0) tol.atol = o.atol;
  if (o.min_labels >= 0) tol.min_labels = o.min_labels;
  return tol;
}

std::string tolerance_text(const Tolerance& t) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "rel_l2 <= %g or max_abs <= %g", t.rtol, t.atol);
  std::string s = buf;
  if (t.min_labels) s += ", outputs' label agreement >= " + std::to_string(*t.min_labels);
  return s;
}

std::string list_refs(const std::vector<NodeRef>& refs) {
  std::string out;
  for (const auto& r : refs) out += (out.empty() ? "" : ", ") + r.op + " '" + r.name + "'";
  return out;
}

// The rewrite pass that made `node` of the compared graph, if one did.
std::string made_by(const std::vector<FusionRecord>& rewrites, const NodeRef& node) {
  std::string pass;
  for (const auto& r : rewrites)
    if (std::find(r.added.begin(), r.added.end(), node) != r.added.end()) pass = r.pass;
  return pass;
}

nlohmann::json refs_json(const std::vector<NodeRef>& refs) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : refs) a.push_back({{"op", r.op}, {"name", r.name}});
  return a;
}

nlohmann::json report_json(const CompareOptions& o, const LayerReport& rep, const Tolerance& tol,
                           const std::vector<FusionRecord>& rewrites, const std::string& device,
                           std::optional<uint64_t> seed) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& c : rep.tensors) {
    nlohmann::json t = {{"name", c.name}, {"producer", {{"op", c.producer.op}, {"name", c.producer.name}}},
                        {"dtype", c.dtype}, {"ref_dtype", c.ref_dtype}, {"shape", c.dims}, {"ref_shape", c.ref_dims},
                        {"status", c.status == TensorStatus::kWithin ? "within"
                                   : c.status == TensorStatus::kShapeMismatch ? "shape_mismatch"
                                                                              : "out_of_tolerance"},
                        {"jump", c.jump}, {"graph_output", c.graph_output}};
    if (c.status != TensorStatus::kShapeMismatch) {
      t["max_abs"] = c.stats.max_abs;  // inf (non-finite values) is written as null
      t["rel_l2"] = c.stats.rel_l2;
      t["finite"] = c.stats.finite;
    }
    if (c.stats.label_agreement) t["label_agreement"] = *c.stats.label_agreement;
    if (o.per_layer) t["covers"] = refs_json(c.covers);
    std::string pass = made_by(rewrites, c.producer);
    if (!pass.empty()) t["made_by"] = pass;
    tensors.push_back(std::move(t));
  }
  nlohmann::json j = {{"model", o.model}, {"reference", o.reference}, {"device", device}, {"per_layer", o.per_layer},
                      {"tolerance", {{"rtol", tol.rtol}, {"atol", tol.atol}, {"rule", tolerance_text(tol)}}},
                      {"tensors", tensors}, {"mismatches", rep.mismatches},
                      {"result", rep.mismatches ? "mismatch" : "pass"}, {"first_jump", nullptr}};
  if (tol.min_labels) j["tolerance"]["min_labels"] = *tol.min_labels;
  if (o.per_layer) j["not_in_reference"] = rep.not_in_reference;
  if (seed) j["seed"] = *seed;
  if (rep.first_jump) j["first_jump"] = tensors[*rep.first_jump];
  return j;
}

void print_report(const CompareOptions& o, const LayerReport& rep, const Tolerance& tol,
                  const std::vector<FusionRecord>& rewrites, const std::string& device, std::optional<uint64_t> seed) {
  std::printf("%s (%s) against reference %s (cpu)\n", o.model.c_str(), device.c_str(), o.reference.c_str());
  std::printf("%-6s %-11s %-11s %-18s %s\n", "mark", "max_abs", "rel_l2", "shape", "tensor  (producer)");
  for (const auto& c : rep.tensors) {
    const char* mark = c.jump ? "JUMP" : c.status == TensorStatus::kWithin ? "ok" : status_name(c.status);
    char abs_text[32] = "-", rel_text[32] = "-";
    std::string shape = dims_to_string(c.dims);
    if (c.status == TensorStatus::kShapeMismatch) {
      shape += " vs " + dims_to_string(c.ref_dims);
    } else {
      std::snprintf(abs_text, sizeof abs_text, "%.3e", c.stats.max_abs);
      std::snprintf(rel_text, sizeof rel_text, "%.3e", c.stats.rel_l2);
    }
    std::string dtypes = c.dtype == c.ref_dtype ? "" : "  [" + c.dtype + " vs " + c.ref_dtype + "]";
    std::printf("%-6s %-11s %-11s %-18s %s  (%s '%s')%s\n", mark, abs_text, rel_text, shape.c_str(), c.name.c_str(),
                c.producer.op.c_str(), c.producer.name.c_str(), dtypes.c_str());
  }
  for (const auto& c : rep.tensors)
    if (c.graph_output && c.stats.label_agreement)
      std::printf("output %s: label agreement %.4f%%\n", c.name.c_str(), 100 * *c.stats.label_agreement);
  if (seed) std::printf("random inputs: seed %llu\n", (unsigned long long)*seed);
  std::printf("tolerance: %s\n", tolerance_text(tol).c_str());
  std::printf("compared %zu tensors", rep.tensors.size());
  if (o.per_layer) std::printf(" (%d not in the reference)", rep.not_in_reference);
  std::printf(", %d out of tolerance or of another shape\n", rep.mismatches);
  if (o.per_layer) {
    if (!rep.first_jump) {
      std::printf("first jump: none\n");
    } else {
      const TensorComparison& j = rep.tensors[*rep.first_jump];
      std::string pass = made_by(rewrites, j.producer);
      std::printf("first jump: %s from %s '%s'%s; reference nodes: %s\n", j.name.c_str(), j.producer.op.c_str(),
                  j.producer.name.c_str(), pass.empty() ? "" : (" (made by " + pass + ")").c_str(),
                  list_refs(j.covers).c_str());
    }
  }
  std::printf("result: %s\n", rep.mismatches ? "MISMATCH (exit 3)" : "PASS");
}

int compare(const CompareOptions& o) {
  const std::string device = resolve_device(o.model, o.device);
  InputFeeds parsed = parse_input_feeds(o.inputs, o.shapes);
  TensorMap& feeds = parsed.feeds;

  // A: as built. An engine runs with its build's passes and is checked against this machine.
  EngineTarget target = is_engine_file(o.model) ? local_target(device) : EngineTarget{device, ""};
  ModelSource source;
  Graph a = open_model(o.model, parsed.import, &target, &source);
  std::optional<uint64_t> seed;
  if (!parsed.random.empty()) seed = seed_from_flag(o.seed);
  fill_random_inputs(a, parsed.random, seed.value_or(0), feeds);
  check_inputs(a, feeds);
  Tolerance tol = tolerance_of(o, source.engine ? source.build.precision : "fp32");
  PassReport a_passes =
      run_passes(a, source.engine ? source.build.disabled_passes : std::set<std::string>{}, /*record_rewrites=*/!source.engine);
  const std::vector<FusionRecord>& rewrites = source.engine ? source.build.rewrites : a_passes.rewrites;

  // B, the reference, at the same input shapes. An ONNX reference only folds (every rewrite
  // pass off), so its tensors keep the names the compared side's unfused layers still have.
  ImportOptions ref_import;
  for (const auto& [name, t] : feeds) ref_import.input_shapes[name] = t.dims();
  ModelSource ref_source;
  Graph b = open_model(o.reference, ref_import, nullptr, &ref_source);
  check_inputs(b, feeds);
  const auto& all_passes = rewrite_pass_names();
  run_passes(b, ref_source.engine ? ref_source.build.disabled_passes
                                  : std::set<std::string>(all_passes.begin(), all_passes.end()));

  SideRun ref = run_cpu(std::move(b), feeds, o.per_layer);
  SideRun got = run_on_device(std::move(a), source.build, device, feeds, o.per_layer);
  LayerReport rep = compare_layers(got.graph, got.values, ref.graph, ref.values, tol, o.per_layer);
  if (o.json)
    std::cout << report_json(o, rep, tol, rewrites, device, seed).dump(2) << "\n";
  else
    print_report(o, rep, tol, rewrites, device, seed);
  return rep.mismatches ? kExitMismatch : 0;
}

}  // namespace

Action add_compare_command(CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand("compare", "Run two models on the same inputs and compare outputs, or every layer");
  cmd->footer(
      "A is run as built on --device; B is the reference, run on the CPU reference backend (an ONNX B\n"
      "with no rewrite pass, so its tensors keep their ONNX names). Tensors are matched by name; a\n"
      "tensor is within tolerance when it is finite and rel_l2 <= rtol or max_abs <= atol.\n"
      "--per-layer compares every tensor both compute and names the first JUMP: the first tensor (in\n"
      "A's order) out of tolerance while every compared tensor it is computed from is within it --\n"
      "the layer that introduces the error, not the ones that carry it on. Tensors inside a fusion\n"
      "have no counterpart; the fused node is compared by its output and listed with the reference\n"
      "nodes it stands for.\n"
      "Exit codes: 0 all within tolerance, 3 a tensor out of tolerance or of another shape,\n"
      "2 user error, 1 internal error.\n"
      "Examples:\n"
      "  kiln compare model.kiln model.onnx --input pixel_values=random --seed 1\n"
      "  kiln compare model.kiln model.onnx --input pixel_values=x.npy --per-layer\n"
      "  kiln compare fp16.kiln model.onnx --input pixel_values=random --per-layer --device cuda --json");
  cmd->add_option("model", o->model, "A: model file (.onnx) or engine file, run as built")->required();
  cmd->add_option("reference", o->reference, "B: the reference model (.onnx) or engine file, run on the CPU")
      ->required();
  cmd->add_option("--input,-i", o->inputs, "NAME=FILE.npy or NAME=random (repeatable)");
  cmd->add_option("--shape", o->shapes, "NAME=1x3x512x512: dims for a symbolic input (repeatable)");
  cmd->add_option("--seed", o->seed, "Seed for random inputs (default: from the clock, printed)");
  cmd->add_flag("--per-layer", o->per_layer, "Compare every tensor both models compute and name the first jump");
  cmd->add_option("--device", o->device, "A's device: cpu or cuda; default: A's engine device, else cpu");
  cmd->add_option("--criterion", o->criterion,
                  "Default tolerances of a precision: fp32 (rtol 1e-4, atol 1e-6), tf32 (5e-3, 1e-6), "
                  "fp16 (1e-2, 1e-3); default: A's engine precision, else fp32")
      ->check(CLI::IsMember({"fp32", "tf32", "fp16"}));
  cmd->add_option("--rtol", o->rtol, "Largest relative L2 error ||A-B||/||B|| of a tensor")->check(CLI::NonNegativeNumber);
  cmd->add_option("--atol", o->atol, "Largest max abs error that passes a tensor whatever its rel L2")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--min-labels", o->min_labels,
                  "Smallest label agreement (argmax over axis 1) of class-score outputs [N, C, ...], 0..1")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--json", o->json, "Print a JSON report");
  return with_plugins(cmd, [o] { return compare(*o); });
}

}  // namespace kiln::cli
