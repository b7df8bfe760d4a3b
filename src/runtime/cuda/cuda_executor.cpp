#include "runtime/cuda/cuda_executor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <unordered_map>

#include "ops/registry.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/cuda_plan.h"
#include "runtime/specialize.h"

namespace kiln {
namespace {

// Every input and node output must have static dims (kUnsupported naming the first that does not).
void require_static_shapes(const Graph& g) {
  auto check = [&](const std::string& name) {
    const ValueType& t = g.value(name).type;
    if (!t.shape || !shape_known(*t.shape))
      fail(ErrorCode::kUnsupported, "value '" + name + "' has shape " + t.to_string() +
                                        ": the CUDA backend needs static shapes (give --shape for "
                                        "symbolic inputs)");
  };
  for (const auto& name : g.inputs) check(name);
  for (const Node& node : g.nodes)
    for (const auto& out : node.outputs)
      if (!out.empty()) check(out);
}

// As check_inputs (cpu_executor.h) for device tensors: every input given once, with its dtype
// and dims; no unknown names.
void check_device_inputs(const Graph& g, const DeviceTensorMap& inputs) {
  for (const auto& [name, t] : inputs)
    if (std::find(g.inputs.begin(), g.inputs.end(), name) == g.inputs.end())
      fail(ErrorCode::kInvalidArgument, "the model has no input named '" + name + "'");
  for (const auto& name : g.inputs) {
    auto it = inputs.find(name);
    if (it == inputs.end()) fail(ErrorCode::kInvalidArgument, "input '" + name + "' is missing");
    const ValueType& t = g.value(name).type;
    if (it->second.dtype != t.dtype || it->second.dims != shape_dims(*t.shape))
      fail(ErrorCode::kInvalidArgument, "input '" + name + "' is " + dtype_name(it->second.dtype) + " " +
                                            dims_to_string(it->second.dims) + ", the model wants " + t.to_string());
  }
}

using ValueMap = std::unordered_map<std::string, DeviceTensor>;

// A value of this run: computed (or an input), else a constant of the plan.
const DeviceTensor* find_value(const ValueMap& live, const ValueMap& constants, const std::string& name) {
  if (auto it = live.find(name); it != live.end()) return &it->second;
  if (auto c = constants.find(name); c != constants.end()) return &c->second;
  fail(ErrorCode::kInternal, "internal error: value '" + name + "' read before it was computed");
}

// Fills ctx (made for node) from the run's values and runs the node's CUDA kernel; an internal
// error gets the node's name (user errors already carry it).
void invoke_kernel(CudaKernelContext& ctx, const Graph& g, const ValueMap& live, const ValueMap& constants,
                   bool sync) {
  const Node& node = ctx.node;
  for (const auto& in : node.inputs) {
    ctx.inputs.push_back(in.empty() ? nullptr : find_value(live, constants, in));
    ctx.input_values.push_back(in.empty() ? nullptr : &g.value(in));
  }
  for (const auto& out : node.outputs) ctx.output_types.push_back(out.empty() ? nullptr : &g.value(out).type);
  ctx.outputs.resize(node.outputs.size());
  try {
    OpRegistry::instance().find(node.domain, node.op_type)->cuda(ctx);
    if (sync) CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kInternal) throw;
    fail(ErrorCode::kInternal, node.describe() + ": " + e.what());
  }
}

std::map<std::string, Dims> dims_of(const DeviceTensorMap& inputs) {
  std::map<std::string, Dims> d;
  for (const auto& [name, t] : inputs) d[name] = t.dims;
  return d;
}

// Runs graph nodes with CUDA events between them.
struct EventList {
  std::vector<cudaEvent_t> events;
  explicit EventList(size_t n) : events(n, nullptr) {
    for (auto& e : events) CUDA_CHECK(cudaEventCreate(&e));
  }
  ~EventList() {
    for (auto e : events)
      if (e) cudaEventDestroy(e);
  }
};

// Ends a capture that a kernel's error interrupted, so the stream is usable again.
struct CaptureGuard {
  CudaStream stream;
  bool active = true;
  ~CaptureGuard() {
    if (!active) return;
    cudaGraph_t g = nullptr;
    cudaStreamEndCapture(stream, &g);
    if (g) cudaGraphDestroy(g);
    cudaGetLastError();
  }
};

// Thread-local capture lets other threads' contexts keep working while this one captures.
cudaStreamCaptureMode capture_mode() {
  const char* m = std::getenv("KILN_CAPTURE_MODE");
  if (m && std::strcmp(m, "relaxed") == 0) return cudaStreamCaptureModeRelaxed;
  if (m && std::strcmp(m, "global") == 0) return cudaStreamCaptureModeGlobal;
  return cudaStreamCaptureModeThreadLocal;
}

// Plan making (first runs, CUDA Graph capture) is serialized across the process: cuDNN and
// cuBLASLt calls made by one thread while another captured failed on an H200 (8 contexts),
// and these are one-time costs per plan. Replays run concurrently.
std::mutex& planning_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

CudaExecutor::CudaExecutor(std::shared_ptr<CudaModel> model, CudaRunOptions options)
    : model_(std::move(model)), options_(options) {
  const char* sync = std::getenv("KILN_CUDA_SYNC");
  sync_each_node_ = sync && std::strcmp(sync, "0") != 0;
  // cudnnCreate/cublasLtCreate (and their destroys) synchronize and allocate behind our back; in
  // a thread beside another context's capture they invalidated it (8-thread GPU test).
  std::lock_guard lock(planning_mutex());
  session_ = std::make_unique<CudaSession>();
  session_->allow_tf32 = model_->tf32();
  session_->tuning = &model_->tuning();
  session_->tune = options_.tune;
}

CudaExecutor::CudaExecutor(const Graph& graph) : CudaExecutor(std::make_shared<CudaModel>(graph)) {
  require_static_shapes(graph);  // a graph given directly must already be static
}

CudaExecutor::~CudaExecutor() {
  std::lock_guard lock(planning_mutex());
  if (session_) cudaStreamSynchronize(session_->stream());
  plans_.clear();
  session_.reset();
}

size_t CudaExecutor::workspace_bytes() const { return session_->workspace_bytes(); }

CudaPlan& CudaExecutor::plan_for(const std::map<std::string, Dims>& input_dims) {
  const std::string key = dims_key(input_dims);
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  auto p = std::make_unique<CudaPlan>();
  const Graph& base = model_->graph();
  if (matches_static_inputs(base, input_dims))
    p->graph = std::shared_ptr<const Graph>(model_, &base);  // no copy: lives as long as the model
  else
    p->graph = std::make_shared<const Graph>(specialize(base, input_dims, model_->build(), "the engine"));
  const Graph& g = *p->graph;
  require_static_shapes(g);
  require_cuda_kernels(g);  // specializing may fold into new ops

  p->states.resize(g.nodes.size());
  p->release_after.resize(g.nodes.size());
  std::unordered_map<std::string, size_t> last_use;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs)
      if (!in.empty()) last_use[in] = i;
  std::set<std::string> keep(g.outputs.begin(), g.outputs.end());
  for (const auto& [name, idx] : last_use)
    if (!keep.count(name) && !g.is_constant(name)) p->release_after[idx].push_back(name);
  std::set<std::string> used(g.outputs.begin(), g.outputs.end());
  for (const Node& node : g.nodes) used.insert(node.inputs.begin(), node.inputs.end());
  for (const auto& name : used) {
    if (name.empty() || !g.is_constant(name)) continue;
    const Tensor& host = *g.value(name).constant;
    DeviceTensor d = model_->weight(name, host);
    p->constants[name] = d.defined() ? d : to_device(host, session_->stream());
  }
  return *plans_.emplace(key, std::move(p)).first->second;
}

const Graph& CudaExecutor::plan_graph(const std::map<std::string, Dims>& input_dims) {
  return *plan_for(input_dims).graph;
}

size_t CudaExecutor::arena_bytes(const std::map<std::string, Dims>& input_dims) {
  return plan_for(input_dims).arena_bytes;
}

// The first run: node by node, each output in its own allocation, freed after its last use;
// records what each kernel did and lays out the arena from it.
void CudaExecutor::plan_first_run(CudaPlan& p, const DeviceTensorMap& inputs, DeviceTensorMap* outputs) {
  std::lock_guard lock(planning_mutex());
  const Graph& g = *p.graph;
  ValueMap live(inputs.begin(), inputs.end());
  std::vector<NodeTrace> trace(g.nodes.size());
  session_->clear_deferred_checks();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    CudaKernelContext ctx{{node}, *session_, {}, {}, {}, {}};
    ctx.state_slot = &p.states[i];
    invoke_kernel(ctx, g, live, p.constants, sync_each_node_);
    NodeTrace& t = trace[i];
    t.scratch_bytes = ctx.scratch_used;
    t.kinds.assign(node.outputs.size(), OutputKind::kKernel);
    t.alias_of.assign(node.outputs.size(), -1);
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      const DeviceTensor& out = ctx.outputs[o];
      if (!out.defined() || out.dtype != ctx.output_dtype(o) || out.dims != ctx.output_dims(o))
        fail(ErrorCode::kInternal, "internal error: " + node.describe() + " CUDA output " + std::to_string(o) +
                                       " disagrees with inference");
      if (o < ctx.allocated.size() && ctx.allocated[o]) t.kinds[o] = OutputKind::kArena;
      for (size_t j = 0; j < ctx.inputs.size() && t.kinds[o] == OutputKind::kKernel; ++j)
        if (ctx.inputs[j] && ctx.inputs[j]->buffer == out.buffer) t.kinds[o] = OutputKind::kAlias, t.alias_of[o] = int(j);
      if (t.kinds[o] == OutputKind::kKernel)
        fail(ErrorCode::kInternal, "internal error: " + node.describe() + " returned output " + std::to_string(o) +
                                       " in memory of its own instead of alloc_output's");
      live[node.outputs[o]] = std::move(ctx.outputs[o]);
    }
    for (const auto& dead : p.release_after[i]) live.erase(dead);
  }
  if (outputs)
    for (const auto& name : g.outputs) (*outputs)[name] = *find_value(live, p.constants, name);
  p.checks = session_->deferred_checks();
  p.lay_out(trace, session_->stream());
}

// Every node into the arena, in stream order; with `timing`, events between nodes.
void CudaExecutor::run_nodes(CudaPlan& p, std::vector<NodeTiming>* timing, void* events_ptr,
                             const CpuExecutor::ValueDone* on_value) {
  const Graph& g = *p.graph;
  auto* events = static_cast<EventList*>(events_ptr);
  std::vector<const char*> libraries(timing ? g.nodes.size() : 0, nullptr);  // profiling only
  ValueMap live(p.input_slots.begin(), p.input_slots.end());
  if (events) CUDA_CHECK(cudaEventRecord(events->events[0], session_->stream()));
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    CudaKernelContext ctx{{node}, *session_, {}, {}, {}, {}};
    ctx.planned_outputs = p.outputs[i];
    ctx.scratch_region = p.scratch[i];
    ctx.state_slot = &p.states[i];
    invoke_kernel(ctx, g, live, p.constants, sync_each_node_);
    if (timing) libraries[i] = ctx.library;
    if (events) CUDA_CHECK(cudaEventRecord(events->events[i + 1], session_->stream()));
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      const DeviceTensor& planned = p.outputs[i][o];
      if (planned.defined() && ctx.outputs[o].data() != planned.data())
        fail(ErrorCode::kInternal, "internal error: " + node.describe() + " wrote output " + std::to_string(o) +
                                       " outside its planned arena slot");
      if (on_value) (*on_value)(node.outputs[o], to_host(ctx.outputs[o], session_->stream()));
      live[node.outputs[o]] = std::move(ctx.outputs[o]);
    }
  }
  p.output_views.clear();
  for (const auto& name : g.outputs) p.output_views[name] = *find_value(live, p.constants, name);
  if (timing) {
    CUDA_CHECK(cudaEventSynchronize(events->events.back()));
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, events->events[i], events->events[i + 1]));
      timing->push_back({&g.nodes[i], ms, libraries[i]});
    }
  }
}

void CudaExecutor::check_deferred(CudaPlan& p) {
  if (p.checks.empty()) return;
  std::vector<int32_t> flags(p.checks.size());
  for (size_t i = 0; i < p.checks.size(); ++i)
    CUDA_CHECK(cudaMemcpyAsync(&flags[i], p.checks[i].flag, sizeof(int32_t), cudaMemcpyDeviceToHost, session_->stream()));
  CUDA_CHECK(cudaStreamSynchronize(session_->stream()));
  for (size_t i = 0; i < p.checks.size(); ++i)
    if (flags[i]) fail(ErrorCode::kInvalidArgument, p.checks[i].message);
}

// A planned run; the inputs are copied into their arena slots first (nullptr: already there).
void CudaExecutor::run_planned(CudaPlan& p, const DeviceTensorMap& inputs, std::vector<NodeTiming>* timing,
                               bool capture_only) {
  CudaStream s = session_->stream();
  for (const auto& [name, t] : inputs) {
    const DeviceTensor& slot = p.input_slots.at(name);
    KILN_ASSERT(slot.dims == t.dims && slot.dtype == t.dtype);
    if (t.nbytes() && t.data() != slot.data())
      CUDA_CHECK(cudaMemcpyAsync(slot.data(), t.data(), t.nbytes(), cudaMemcpyDeviceToDevice, s));
  }
  const bool use_graph = options_.cuda_graph && !sync_each_node_ && !timing;
  if (!use_graph) {
    if (timing) {
      EventList events(p.graph->nodes.size() + 1);
      run_nodes(p, timing, &events);
    } else {
      run_nodes(p, nullptr, nullptr);
    }
  } else {
    if (!p.exec) {
      std::lock_guard lock(planning_mutex());
      session_->workspace_frozen = true;
      CUDA_CHECK(cudaStreamBeginCapture(s, capture_mode()));
      CaptureGuard guard{s};
      try {
        run_nodes(p, nullptr, nullptr);
      } catch (...) {
        session_->workspace_frozen = false;
        throw;
      }
      guard.active = false;
      session_->workspace_frozen = false;
      cudaGraph_t graph = nullptr;
      CUDA_CHECK(cudaStreamEndCapture(s, &graph));
      cudaError_t err = cudaGraphInstantiate(&p.exec, graph, 0);
      cudaGraphDestroy(graph);
      CUDA_CHECK(err);
    }
    if (capture_only) return;
    CUDA_CHECK(cudaGraphLaunch(p.exec, s));
  }
  check_deferred(p);
}

size_t CudaExecutor::prepare(const std::map<std::string, Dims>& input_dims) {
  CudaPlan& p = plan_for(input_dims);
  if (!p.planned) {
    DeviceTensorMap zeros;
    for (const auto& name : p.graph->inputs) {
      const ValueType& t = p.graph->value(name).type;
      DeviceTensor d = device_empty(t.dtype, shape_dims(*t.shape), session_->stream());
      if (d.nbytes()) CUDA_CHECK(cudaMemsetAsync(d.data(), 0, d.nbytes(), session_->stream()));
      zeros[name] = std::move(d);
    }
    plan_first_run(p, zeros, nullptr);
    // Captures the CUDA Graph without running it; without graphs, one planned run checks the
    // arena layout before the caller's first.
    run_planned(p, {}, nullptr, options_.cuda_graph && !sync_each_node_);
    CUDA_CHECK(cudaStreamSynchronize(session_->stream()));
  }
  return p.arena_bytes;
}

DeviceTensorMap CudaExecutor::input_slots(const std::map<std::string, Dims>& input_dims) {
  prepare(input_dims);
  CudaPlan& p = plan_for(input_dims);
  return {p.input_slots.begin(), p.input_slots.end()};
}

DeviceTensorMap CudaExecutor::run_device(const DeviceTensorMap& inputs) {
  CudaPlan& p = plan_for(dims_of(inputs));
  check_device_inputs(*p.graph, inputs);
  DeviceTensorMap result;
  if (!p.planned) {
    plan_first_run(p, inputs, &result);
    check_deferred(p);
    return result;
  }
  run_planned(p, inputs, nullptr);
  for (const auto& name : p.graph->outputs) result[name] = p.output_views.at(name);
  return result;
}

bool CudaExecutor::replay_on(const DeviceTensorMap& inputs, CudaStream stream, DeviceTensorMap* outputs) {
  CudaPlan& p = plan_for(dims_of(inputs));
  if (!p.planned || !p.exec || !p.checks.empty() || !options_.cuda_graph || sync_each_node_) return false;
  check_device_inputs(*p.graph, inputs);
  for (const auto& [name, t] : inputs) {
    const DeviceTensor& slot = p.input_slots.at(name);
    KILN_ASSERT(slot.dims == t.dims && slot.dtype == t.dtype);
    if (t.nbytes() && t.data() != slot.data())
      CUDA_CHECK(cudaMemcpyAsync(slot.data(), t.data(), t.nbytes(), cudaMemcpyDeviceToDevice, stream));
  }
  CUDA_CHECK(cudaGraphLaunch(p.exec, stream));
  for (const auto& name : p.graph->outputs) (*outputs)[name] = p.output_views.at(name);
  return true;
}

std::vector<NodeTiming> CudaExecutor::profile(const DeviceTensorMap& inputs) {
  CudaPlan& p = plan_for(dims_of(inputs));
  if (!p.planned) plan_first_run(p, inputs, nullptr);
  std::vector<NodeTiming> timing;
  run_planned(p, inputs, &timing);
  return timing;
}

TensorMap CudaExecutor::run_keeping(const TensorMap& inputs, const CpuExecutor::ValueDone& on_value) {
  const std::map<std::string, Dims> dims = dims_of(inputs);
  CudaPlan& p = plan_for(dims);
  check_inputs(*p.graph, inputs);
  prepare(dims);  // the arena laid out (a first run on zeros), so slots are what later runs use
  CudaStream s = session_->stream();
  for (const auto& [name, t] : inputs)
    if (t.nbytes())
      CUDA_CHECK(cudaMemcpyAsync(p.input_slots.at(name).data(), t.raw(), t.nbytes(), cudaMemcpyHostToDevice, s));
  run_nodes(p, nullptr, nullptr, &on_value);
  check_deferred(p);
  TensorMap result;
  for (const auto& name : p.graph->outputs) result[name] = to_host(p.output_views.at(name), s);
  return result;
}

TensorMap CudaExecutor::run(const TensorMap& inputs) {
  CudaPlan& p = plan_for(dims_of(inputs));
  check_inputs(*p.graph, inputs);
  DeviceTensorMap feeds;
  for (const auto& [name, t] : inputs) feeds[name] = to_device(t, session_->stream());
  DeviceTensorMap outs = run_device(feeds);
  TensorMap result;
  for (const auto& [name, t] : outs) result[name] = to_host(t, session_->stream());
  CUDA_CHECK(cudaStreamSynchronize(session_->stream()));
  return result;
}

}  // namespace kiln
