// kiln bench ENGINE.kiln [--batch 1,2,4,8] [--iterations N] [--warmup N] [--input NAME=FILE.npy]
//     [--ref FILE.npz] [--no-cuda-graph] [--json] [--svg FILE]
// Times a CUDA engine per batch size: GPU compute (CUDA events around the replayed graph,
// inputs already in the arena) and end to end (pinned host input → device → compute → pinned
// host output), median/p90/p99 over fresh iterations after a warm-up; throughput; the plan's
// activation arena; with --ref, the accuracy of the last run's outputs against the reference.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.h"
#include "io/npy.h"
#include "io/npz.h"
#include "io/progress.h"
#include "io/random_tensor.h"
#include "io/file_util.h"
#include "io/svg_chart.h"
#include "model_source.h"
#include "runtime/output_compare.h"
#include "timing_stats.h"
#ifdef KILN_WITH_CUDA
#include <cuda_runtime_api.h>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_session.h"
#endif

namespace kiln::cli {
namespace {

struct BenchOptions {
  std::string engine;
  std::string batches;
  int iterations = 100;
  int warmup = 20;
  std::vector<std::string> inputs;
  std::string ref;
  std::string svg;
  bool no_cuda_graph = false;
  bool json = false;
  int64_t seed = 1;
};

std::vector<int64_t> parse_batches(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end || v < 1 || v > 4096)
      fail(ErrorCode::kInvalidArgument, "--batch " + text + ": expected a comma-separated list of sizes such as 1,2,4,8");
    out.push_back(v);
  }
  return out;
}

#ifdef KILN_WITH_CUDA
// Page-locked host memory, so copies run at full speed and asynchronously.
struct PinnedBuffer {
  void* p = nullptr;
  explicit PinnedBuffer(size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMallocHost(&p, bytes));
  }
  ~PinnedBuffer() {
    if (p) cudaFreeHost(p);
  }
};

struct Events {
  cudaEvent_t start = nullptr, stop = nullptr;
  Events() {
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
  }
  ~Events() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  double ms() const {
    CUDA_CHECK(cudaEventSynchronize(stop));
    float v = 0;
    CUDA_CHECK(cudaEventElapsedTime(&v, start, stop));
    return v;
  }
};

// The dims of every input for one batch size: given files' dims, else the engine's static dims or
// its profile's opt, with axis 0 set to the batch.
std::map<std::string, Dims> dims_for_batch(const Engine& e, const TensorMap& files, int64_t batch, bool batch_given) {
  std::map<std::string, Dims> out;
  for (const auto& name : e.graph.inputs) {
    Dims d;
    if (auto f = files.find(name); f != files.end()) {
      d = f->second.dims();
      if (batch_given && (d.empty() || d[0] != batch))
        fail(ErrorCode::kInvalidArgument, "--input " + name + " holds shape " + dims_to_string(d) +
                                              ", which does not match --batch " + std::to_string(batch));
    } else {
      d = default_input_dims(e, name, "--input");
      if (batch_given && !d.empty()) d[0] = batch;
    }
    out[name] = d;
  }
  return out;
}

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// first_ms: from the inputs on the host to this batch size's first outputs on the device, as a
// user's first run_device call sees it: plan made (weights uploaded on first use, kernels
// chosen, arena laid out) while computing the outputs. Host input generation is excluded; the
// CUDA Graph is captured later, at the first planned run (a warm-up).
nlohmann::json bench_batch(CudaExecutor& exec, const Engine& e, const BenchOptions& o, const TensorMap& files,
                           const TensorMap& refs, int64_t batch, bool batch_given, Progress& bar, double& first_ms) {
  std::map<std::string, Dims> dims = dims_for_batch(e, files, batch, batch_given);
  if (!batch_given) batch = dims.empty() || dims.begin()->second.empty() ? 1 : dims.begin()->second[0];
  CudaStream s = exec.session().stream();
  // Host inputs, pinned: the given files, or fresh random values (never zeros).
  std::map<std::string, std::unique_ptr<PinnedBuffer>> pinned;
  uint64_t seed = uint64_t(o.seed);
  for (const auto& [name, d] : dims) {
    const DType dt = e.graph.value(name).type.dtype;
    Tensor host = files.count(name) ? files.at(name) : random_tensor_for_input(dt, d, seed++);
    if (host.dtype() != dt)
      fail(ErrorCode::kInvalidArgument, "--input " + name + " is " + dtype_name(host.dtype()) + ", the engine wants " +
                                            dtype_name(dt));
    pinned[name] = std::make_unique<PinnedBuffer>(host.nbytes());
    if (host.nbytes()) std::memcpy(pinned[name]->p, host.raw(), host.nbytes());
  }
  auto upload = [&](const DeviceTensorMap& to) {
    for (const auto& [name, slot] : to)
      if (slot.nbytes())
        CUDA_CHECK(cudaMemcpyAsync(slot.data(), pinned.at(name)->p, slot.nbytes(), cudaMemcpyHostToDevice, s));
  };
  Clock::time_point t0 = Clock::now();
  {
    DeviceTensorMap feeds;
    for (const auto& [name, d] : dims) feeds[name] = device_empty(e.graph.value(name).type.dtype, d, s);
    upload(feeds);
    exec.run_device(feeds);
    CUDA_CHECK(cudaStreamSynchronize(s));
  }
  first_ms = ms_since(t0);
  size_t arena = exec.prepare(dims);
  DeviceTensorMap slots = exec.input_slots(dims);
  upload(slots);
  DeviceTensorMap outs = exec.run_device(slots);
  for (int i = 0; i < o.warmup; ++i) outs = exec.run_device(slots);
  CUDA_CHECK(cudaStreamSynchronize(s));
  std::map<std::string, std::unique_ptr<PinnedBuffer>> host_out;
  for (const auto& [name, t] : outs) host_out[name] = std::make_unique<PinnedBuffer>(t.nbytes());

  Events ev;
  std::vector<double> gpu, e2e;
  for (int i = 0; i < o.iterations; ++i) {
    CUDA_CHECK(cudaEventRecord(ev.start, s));
    outs = exec.run_device(slots);
    CUDA_CHECK(cudaEventRecord(ev.stop, s));
    gpu.push_back(ev.ms());
    bar.advance();
  }
  for (int i = 0; i < o.iterations; ++i) {
    CUDA_CHECK(cudaEventRecord(ev.start, s));
    upload(slots);
    outs = exec.run_device(slots);
    for (const auto& [name, t] : outs)
      if (t.nbytes()) CUDA_CHECK(cudaMemcpyAsync(host_out[name]->p, t.data(), t.nbytes(), cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaEventRecord(ev.stop, s));
    e2e.push_back(ev.ms());
    bar.advance();
  }
  TimingStats g = summarize(gpu), w = summarize(e2e);
  nlohmann::json row = {{"batch", batch}, {"iterations", o.iterations}, {"gpu_ms", to_json(g)}, {"e2e_ms", to_json(w)},
                        {"throughput_img_s", g.median > 0 ? double(batch) * 1000.0 / g.median : 0.0},
                        {"peak_activation_bytes", arena}, {"workspace_bytes", exec.workspace_bytes()},
                        {"accuracy", nullptr}};
  row["inputs"] = nlohmann::json::object();
  for (const auto& [name, d] : dims) row["inputs"][name] = dims_to_string(d);
  if (!refs.empty()) {
    // The first graph output the reference names.
    for (const auto& name : e.graph.outputs) {
      auto r = refs.find(name);
      if (r == refs.end()) continue;
      const DeviceTensor& t = outs.at(name);
      Tensor got(t.dtype, t.dims);
      std::memcpy(got.raw(), host_out[name]->p, got.nbytes());
      OutputComparison c = compare_output(got, r->second, "--ref " + o.ref + " '" + name + "'");
      nlohmann::json a = {{"output", name}, {"max_abs", c.max_abs}, {"rel_l2", c.rel_l2}, {"finite", c.finite},
                          {"label_agreement", nullptr}, {"criterion", accuracy_criterion(e.build.precision, bool(c.label_agreement))},
                          {"good", meets_criterion(c, e.build.precision)}};
      if (c.label_agreement) a["label_agreement"] = *c.label_agreement;
      row["accuracy"] = a;
      break;
    }
    if (row["accuracy"].is_null())
      fail(ErrorCode::kInvalidArgument, "--ref " + o.ref + " holds none of the engine's outputs (by name)");
  }
  return row;
}
#endif

int bench(const BenchOptions& o) {
#ifndef KILN_WITH_CUDA
  (void)o;
  fail(ErrorCode::kUnsupported, "this kiln build has no CUDA backend; kiln bench times CUDA engines");
#else
  if (o.iterations < 1 || o.warmup < 0) fail(ErrorCode::kInvalidArgument, "--iterations must be >= 1 and --warmup >= 0");
  // Load time counts the engine, not the process's CUDA context: made first, as any server would.
  CUDA_CHECK(cudaFree(nullptr));
  Clock::time_point t_load = Clock::now();
  Engine e = load_cuda_engine(o.engine, "bench");
  double load_ms = ms_since(t_load);
  TensorMap files;
  for (const auto& arg : o.inputs) {
    auto [name, path] = split_assignment(arg, "--input");
    if (std::find(e.graph.inputs.begin(), e.graph.inputs.end(), name) == e.graph.inputs.end())
      fail(ErrorCode::kInvalidArgument, "the engine has no input named '" + name + "'");
    files[name] = read_npy(path);
  }
  TensorMap refs;
  if (!o.ref.empty())
    for (auto& a : read_npz(o.ref)) refs[a.name] = std::move(a.tensor);
  const bool batch_given = !o.batches.empty();
  std::vector<int64_t> batches = batch_given ? parse_batches(o.batches) : std::vector<int64_t>{0};
  if (!refs.empty() && batches.size() > 1)
    fail(ErrorCode::kInvalidArgument, "--ref compares one batch size's outputs; give one --batch with it");

  t_load = Clock::now();
  auto model = std::make_shared<CudaModel>(e.graph, e.build);
  CudaRunOptions run_options;
  run_options.cuda_graph = !o.no_cuda_graph;
  CudaExecutor exec(model, run_options);
  load_ms += ms_since(t_load);
  nlohmann::json report = {{"engine", o.engine}, {"device", "cuda"}, {"gpu", exec.session().device_name()},
                           {"precision", e.build.precision}, {"cuda_graph", !o.no_cuda_graph}, {"rows", nlohmann::json::array()}};
  double first_ms = 0;
  {
    Progress bar("bench", int64_t(batches.size()) * 2 * o.iterations, std::chrono::milliseconds(500));
    for (int64_t b : batches) {
      double batch_first_ms = 0;
      report["rows"].push_back(bench_batch(exec, e, o, files, refs, b, batch_given, bar, batch_first_ms));
      report["rows"].back()["first_inference_ms"] = batch_first_ms;
      if (report["rows"].size() == 1) first_ms = batch_first_ms;
    }
  }
  // Until the first result: reading and checking the file, then the first batch size's plan and
  // inference. Later batch sizes' plans are in their rows.
  report["load_ms"] = {{"engine_file", load_ms}, {"first_inference", first_ms}, {"total", load_ms + first_ms}};
  if (!o.svg.empty()) {
    std::vector<std::pair<double, double>> lat, thr;
    for (const auto& r : report["rows"]) {
      double b = r["batch"].get<double>();
      if (b == 0) b = 1;
      lat.push_back({b, r["gpu_ms"]["median"].get<double>()});
      thr.push_back({b, r["throughput_img_s"].get<double>()});
    }
    LineChartOptions chart;
    chart.log_x = true;
    write_file_atomic(o.svg, line_chart_svg(o.engine + " (" + e.build.precision + ", " + report["gpu"].get<std::string>() +
                                                ")",
                                            "batch size", {{"GPU latency, median", lat}}, "ms",
                                            {{"throughput", thr}}, "images/s", chart));
  }
  if (o.json) {
    std::cout << report.dump(2) << "\n";
    return 0;
  }
  std::printf("%s: %s %s on %s, CUDA Graph %s\n", o.engine.c_str(), e.target.to_string().c_str(),
              e.build.precision.c_str(), report["gpu"].get<std::string>().c_str(), o.no_cuda_graph ? "off" : "on");
  std::printf("load: %.1f ms (engine file %.1f ms + first inference %.1f ms)\n", load_ms + first_ms, load_ms, first_ms);
  std::printf("%-6s %10s %10s %10s %10s %12s %12s\n", "batch", "gpu med", "gpu p90", "gpu p99", "e2e med", "img/s",
              "arena MiB");
  for (const auto& r : report["rows"]) {
    std::printf("%-6lld %8.3f ms %7.3f ms %7.3f ms %7.3f ms %12.1f %12.1f\n", (long long)r["batch"].get<int64_t>(),
                r["gpu_ms"]["median"].get<double>(), r["gpu_ms"]["p90"].get<double>(), r["gpu_ms"]["p99"].get<double>(),
                r["e2e_ms"]["median"].get<double>(), r["throughput_img_s"].get<double>(),
                double(r["peak_activation_bytes"].get<size_t>()) / (1 << 20));
    if (!r["accuracy"].is_null()) {
      const auto& a = r["accuracy"];
      std::printf("       %s: rel L2 %.3g, max abs %.3g", a["output"].get<std::string>().c_str(), a["rel_l2"].get<double>(),
                  a["max_abs"].get<double>());
      if (!a["label_agreement"].is_null()) std::printf(", labels %.4f%%", 100 * a["label_agreement"].get<double>());
      std::printf(" -> %s (%s)\n", a["good"].get<bool>() ? "Good" : "Bad", a["criterion"].get<std::string>().c_str());
    }
  }
  return 0;
#endif
}

}  // namespace

Action add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Time a CUDA engine per batch size (and check it against a reference)");
  cmd->footer("Examples:\n  kiln bench model.kiln --batch 1,2,4,8\n"
              "  kiln bench model.kiln --input pixel_values=x.npy --ref reference.npz --json");
  cmd->add_option("engine", o->engine, "Engine file (.kiln) built with --device cuda")->required();
  cmd->add_option("--batch", o->batches, "Comma-separated batch sizes (axis 0 of every input), e.g. 1,2,4,8");
  cmd->add_option("--iterations", o->iterations, "Timed runs per batch size (default 100)");
  cmd->add_option("--warmup", o->warmup, "Untimed runs first (default 20)");
  cmd->add_option("--input", o->inputs, "NAME=FILE.npy: an input's values (default: random, fresh per batch)");
  cmd->add_option("--ref", o->ref, "FILE.npz of reference outputs by name: accuracy of the outputs");
  cmd->add_option("--seed", o->seed, "Seed of the random inputs (default 1)");
  cmd->add_flag("--no-cuda-graph", o->no_cuda_graph, "Run node by node instead of replaying a CUDA Graph");
  cmd->add_option("--svg", o->svg, "Write latency and throughput against batch size as an SVG chart");
  cmd->add_flag("--json", o->json, "Print a JSON report");
  return with_plugins(cmd, [o] { return bench(*o); });
}

}  // namespace kiln::cli
