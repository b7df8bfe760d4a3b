// kiln profile ENGINE.kiln [--shape NAME=DIMS] [--iterations N] [--top N] [--json] [--svg FILE]
// Per-layer GPU time of a CUDA engine: every node run with CUDA events between nodes (no CUDA
// Graph), the median of N runs per node, sorted; each layer's FLOPs and bytes (layer_cost.h)
// and the fraction of this GPU's measured peak it reached (device_peak.h), plus totals by op.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "io/file_util.h"
#include "io/progress.h"
#include "io/random_tensor.h"
#include "io/svg_chart.h"
#include "model_source.h"
#include "runtime/layer_cost.h"
#include "timing_stats.h"
#ifdef KILN_WITH_CUDA
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_session.h"
#include "runtime/cuda/device_peak.h"
#endif

namespace kiln::cli {
namespace {

struct ProfileOptions {
  std::string engine;
  std::vector<std::string> shapes;
  int iterations = 10;
  int top = 30;
  std::string svg;
  bool json = false;
};

// Which library ran a node: what its kernel reported, else by op.
std::string kernel_of(const Node& n, const char* library) {
  if (library) return library;
  if (n.op_type == "MatMul" || n.op_type == "Gemm" || n.op_type == "Einsum") return "cuBLASLt";
  if (n.op_type == "Reshape" || n.op_type == "Squeeze" || n.op_type == "Unsqueeze" || n.op_type == "Flatten" ||
      n.op_type == "Identity")
    return "view";
  return "kiln";
}

int profile(const ProfileOptions& o) {
#ifndef KILN_WITH_CUDA
  (void)o;
  fail(ErrorCode::kUnsupported, "this kiln build has no CUDA backend; kiln profile times CUDA engines");
#else
  if (o.iterations < 1) fail(ErrorCode::kInvalidArgument, "--iterations must be >= 1");
  Engine e = load_cuda_engine(o.engine, "profile");
  std::map<std::string, Dims> dims = parse_shapes(o.shapes);
  for (const auto& name : e.graph.inputs)
    if (!dims.count(name)) dims[name] = default_input_dims(e, name, "--shape");
  auto model = std::make_shared<CudaModel>(e.graph, e.build);
  CudaRunOptions run_options;
  run_options.cuda_graph = false;
  CudaExecutor exec(model, run_options);
  exec.prepare(dims);
  DeviceTensorMap slots = exec.input_slots(dims);
  uint64_t seed = 1;
  for (auto& [name, slot] : slots) {
    Tensor host = random_tensor_for_input(slot.dtype, slot.dims, seed++);
    DeviceTensor d = to_device(host, exec.session().stream());
    CUDA_CHECK(cudaMemcpyAsync(slot.data(), d.data(), d.nbytes(), cudaMemcpyDeviceToDevice, exec.session().stream()));
  }
  MeasuredPeak peak = measure_device_peak(exec.session());
  const Graph& g = exec.plan_graph(dims);
  std::vector<std::vector<double>> per_node(g.nodes.size());
  std::vector<const char*> library(g.nodes.size(), nullptr);
  {
    Progress bar("profile", o.iterations + 1, std::chrono::milliseconds(500));
    exec.profile(slots);  // warm-up
    bar.advance();
    for (int i = 0; i < o.iterations; ++i) {
      std::vector<NodeTiming> t = exec.profile(slots);
      for (size_t n = 0; n < t.size(); ++n) per_node[n].push_back(t[n].ms), library[n] = t[n].library;
      bar.advance();
    }
  }
  const bool fp16 = e.build.precision == "fp16";
  DevicePeak dp{e.build.precision == "fp16" ? peak.fp16_flops_per_s : peak.fp32_flops_per_s, peak.bytes_per_s,
                peak.fp16_flops_per_s};
  struct Row {
    const Node* node;
    double ms;
    LayerCost cost;
    const char* library;
  };
  std::vector<Row> rows;
  double total = 0;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    double ms = summarize(per_node[n]).median;
    rows.push_back({&g.nodes[n], ms, layer_cost(g, g.nodes[n]), library[n]});
    total += ms;
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.ms > b.ms; });
  std::map<std::string, std::pair<double, int>> by_op;
  for (const auto& r : rows) by_op[r.node->op_type].first += r.ms, by_op[r.node->op_type].second++;

  nlohmann::json report = {{"engine", o.engine}, {"gpu", exec.session().device_name()}, {"precision", e.build.precision},
                           {"total_ms", total}, {"iterations", o.iterations},
                           {"peak", {{"fp16_tflops", peak.fp16_flops_per_s / 1e12}, {"fp32_tflops", peak.fp32_flops_per_s / 1e12},
                                     {"copy_gb_s", peak.bytes_per_s / 1e9}}},
                           {"layers", nlohmann::json::array()}, {"by_op", nlohmann::json::object()}};
  for (const auto& [name, d] : dims) report["inputs"][name] = dims_to_string(d);
  for (const auto& r : rows) {
    double frac = achieved_fraction(r.cost, r.ms / 1e3, dp, fp16);
    report["layers"].push_back({{"layer", r.node->name}, {"op", r.node->op_type}, {"kernel", kernel_of(*r.node, r.library)},
                                {"ms", r.ms}, {"percent", total > 0 ? 100 * r.ms / total : 0.0},
                                {"gflop", r.cost.flops / 1e9}, {"mbytes", r.cost.bytes / 1e6},
                                {"fraction_of_peak", frac}});
  }
  for (const auto& [op, v] : by_op) report["by_op"][op] = {{"ms", v.first}, {"count", v.second}};
  if (!o.svg.empty()) {
    std::vector<BarItem> bars;
    for (const auto& l : report["layers"]) {
      char note[96];
      std::snprintf(note, sizeof note, "%s, %.0f%% of peak", l["op"].get<std::string>().c_str(),
                    100 * l["fraction_of_peak"].get<double>());
      bars.push_back({l["layer"].get<std::string>(), l["ms"].get<double>(), note});
    }
    BarChartOptions chart;
    chart.top_n = size_t(std::max(1, o.top));
    write_file_atomic(o.svg, horizontal_bar_svg("per-layer GPU time: " + o.engine + " (" + e.build.precision + ", " +
                                                    report["gpu"].get<std::string>() + ")",
                                                bars, "ms", chart));
  }
  if (o.json) {
    std::cout << report.dump(2) << "\n";
    return 0;
  }
  std::printf("%s: %s on %s, %zu layers, %.3f ms node by node (median of %d)\n", o.engine.c_str(),
              e.build.precision.c_str(), report["gpu"].get<std::string>().c_str(), rows.size(), total, o.iterations);
  std::printf("measured peak: %.0f TFLOP/s fp16, %.1f TFLOP/s fp32, %.0f GB/s copy\n", peak.fp16_flops_per_s / 1e12,
              peak.fp32_flops_per_s / 1e12, peak.bytes_per_s / 1e9);
  std::printf("%-44s %-20s %-9s %9s %6s %9s %9s %6s\n", "layer", "op", "kernel", "ms", "%", "GFLOP", "MB", "peak");
  int shown = 0;
  for (const auto& l : report["layers"]) {
    if (shown++ >= o.top) break;
    std::string name = l["layer"].get<std::string>();
    if (name.size() > 44) name = "..." + name.substr(name.size() - 41);
    std::printf("%-44s %-20s %-9s %9.4f %5.1f%% %9.3f %9.2f %5.0f%%\n", name.c_str(), l["op"].get<std::string>().c_str(),
                l["kernel"].get<std::string>().c_str(), l["ms"].get<double>(), l["percent"].get<double>(),
                l["gflop"].get<double>(), l["mbytes"].get<double>(), 100 * l["fraction_of_peak"].get<double>());
  }
  std::printf("\nby op:\n");
  std::vector<std::pair<double, std::string>> ops;
  for (const auto& [op, v] : by_op) ops.push_back({v.first, op});
  std::sort(ops.rbegin(), ops.rend());
  for (const auto& [ms, op] : ops)
    std::printf("  %-24s %9.3f ms %5.1f%%  (%d layers)\n", op.c_str(), ms, total > 0 ? 100 * ms / total : 0.0,
                by_op[op].second);
  return 0;
#endif
}

}  // namespace

Action add_profile_command(CLI::App& app) {
  auto o = std::make_shared<ProfileOptions>();
  CLI::App* cmd = app.add_subcommand("profile", "Per-layer GPU time of a CUDA engine, with FLOPs, bytes and % of peak");
  cmd->footer("Examples:\n  kiln profile model.kiln\n  kiln profile model.kiln --json > layers.json --svg layers.svg");
  cmd->add_option("engine", o->engine, "Engine file (.kiln) built with --device cuda")->required();
  cmd->add_option("--shape", o->shapes, "NAME=DIMS: input dims (default: the engine's, or its profile's opt)");
  cmd->add_option("--iterations", o->iterations, "Profiled runs; each layer's median is reported (default 10)");
  cmd->add_option("--top", o->top, "Layers listed (and drawn with --svg), slowest first (default 30)");
  cmd->add_option("--svg", o->svg, "Write the per-layer time breakdown as an SVG bar chart");
  cmd->add_flag("--json", o->json, "Print a JSON report (every layer)");
  return with_plugins(cmd, [o] { return profile(*o); });
}

}  // namespace kiln::cli
