#include "gpu_compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "ops/registry.h"
#include "runtime/cpu_executor.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_session.h"

namespace kiln::gpu_test {
namespace {

std::string describe(const GpuCase& c) {
  std::ostringstream s;
  s << c.op << "(";
  for (size_t i = 0; i < c.inputs.size(); ++i)
    s << (i ? ", " : "") << (c.inputs[i].defined() ? std::string(dtype_name(c.inputs[i].dtype())) + " " +
                                                         dims_to_string(c.inputs[i].dims())
                                                   : std::string("-"));
  s << ") seed " << c.seed;
  return s.str();
}

}  // namespace

Graph one_node_graph(const GpuCase& c) {
  Graph g;
  g.name = "gpu_test";
  g.opsets[c.domain] = c.opset;
  Node node;
  node.name = "n";
  node.op_type = c.op;
  node.domain = c.domain;
  node.opset = c.opset;
  node.attrs = c.attrs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Tensor& t = c.inputs[i];
    if (!t.defined()) {
      node.inputs.push_back("");
      continue;
    }
    std::string name = "in" + std::to_string(i);
    Value v{name, {t.dtype(), shape_of(t.dims())}, std::nullopt};
    bool constant = std::find(c.constant_inputs.begin(), c.constant_inputs.end(), i) != c.constant_inputs.end();
    if (constant) v.constant = t;
    else g.inputs.push_back(name);
    g.values[name] = v;
    node.inputs.push_back(name);
  }
  const OpSchema* schema = OpRegistry::instance().find(c.domain, c.op);
  if (!schema) fail(ErrorCode::kInternal, "no op " + c.op);
  InferContext ictx{{node}, {}};
  for (const auto& in : node.inputs) ictx.inputs.push_back(in.empty() ? nullptr : &g.values[in]);
  for (int o = 0; o < c.num_outputs; ++o) node.outputs.push_back("out" + std::to_string(o));
  std::vector<ValueType> types = schema->infer(ictx);
  for (int o = 0; o < c.num_outputs; ++o) {
    std::string name = node.outputs[size_t(o)];
    g.values[name] = Value{name, types.at(size_t(o)), std::nullopt};
    g.outputs.push_back(name);
  }
  g.nodes.push_back(node);
  return g;
}

namespace {

void expect_outputs_match(const GpuCase& c, const Graph& g, const TensorMap& want, const TensorMap& got) {
  for (const auto& name : g.outputs) {
    const Tensor& w = want.at(name);
    const Tensor& o = got.at(name);
    ASSERT_EQ(w.dtype(), o.dtype()) << name;
    ASSERT_EQ(dims_to_string(w.dims()), dims_to_string(o.dims())) << name;
    double max_abs = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      double a = o.at_double(i), b = w.at_double(i);
      if (std::isnan(b) || std::isnan(a)) {
        ASSERT_EQ(std::isnan(a), std::isnan(b)) << name << " at " << i << ": gpu " << a << " cpu " << b;
        continue;
      }
      if (std::isinf(b) || std::isinf(a)) {
        ASSERT_EQ(a, b) << name << " at " << i;
        continue;
      }
      double d = std::abs(a - b);
      max_abs = std::max(max_abs, d);
      ASSERT_LE(d, c.atol + c.rtol * std::abs(b)) << name << " at " << i << " of " << w.numel() << ": gpu " << a
                                                  << " cpu " << b;
    }
    ::testing::Test::RecordProperty(name + "_max_abs", std::to_string(max_abs));
  }
}

}  // namespace

std::vector<float> profile_one_node(const GpuCase& c, int runs) {
  Graph g = one_node_graph(c);
  CudaExecutor gpu(g);
  DeviceTensorMap in;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (c.inputs[i].defined() && !g.is_constant("in" + std::to_string(i)))
      in["in" + std::to_string(i)] = to_device(c.inputs[i], gpu.session().stream());
  gpu.profile(in);
  std::vector<float> ms;
  for (int rep = 0; rep < runs; ++rep) ms.push_back(gpu.profile(in).at(0).ms);
  std::sort(ms.begin(), ms.end());
  return ms;
}

std::string timing_summary(const std::vector<float>& ms) {
  char line[96];
  std::snprintf(line, sizeof line, "median %8.4f ms (min %.4f, max %.4f)", double(ms[ms.size() / 2]), double(ms.front()),
                double(ms.back()));
  return line;
}

void expect_gpu_matches_cpu(const GpuCase& c) {
  SCOPED_TRACE(describe(c));
  Graph g = one_node_graph(c);
  TensorMap feeds;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (c.inputs[i].defined() && !g.is_constant("in" + std::to_string(i)))
      feeds["in" + std::to_string(i)] = c.inputs[i];
  if (c.gpu_only) {
    CudaExecutor(g).run(feeds);
    return;
  }
  TensorMap want = CpuExecutor(g).run(feeds);
  CudaExecutor gpu(g);
  for (int run = 1; run <= c.gpu_runs; ++run) {
    SCOPED_TRACE("CUDA run " + std::to_string(run));
    expect_outputs_match(c, g, want, gpu.run(feeds));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

Tensor int64_tensor(const std::vector<int64_t>& v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }
Tensor float_tensor(const std::vector<float>& v) { return Tensor::from_vector<float>({int64_t(v.size())}, v); }

std::string test_dir() {
  if (const char* env = std::getenv("KILN_TEST_DIR")) return env;
  return KILN_TEST_DIR;
}

void expect_gpu_unsupported(GpuCase c, const std::string& word) {
  c.gpu_only = true;
  try {
    expect_gpu_matches_cpu(c);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
  }
}

}  // namespace kiln::gpu_test
