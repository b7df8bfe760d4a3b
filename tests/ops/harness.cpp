#include "harness.h"

#include <cmath>
#include <random>

#include "ops/registry.h"

namespace kiln::test {
namespace {

Node make_node(const OpCall& call) {
  Node node;
  node.name = "test_" + call.op;
  node.op_type = call.op;
  node.domain = call.domain;
  node.opset = call.opset;
  node.attrs = call.attrs;
  for (size_t i = 0; i < call.inputs.size(); ++i)
    node.inputs.push_back(call.inputs[i].defined() ? "in" + std::to_string(i) : "");
  for (int i = 0; i < call.num_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  return node;
}

std::vector<Value> make_values(const OpCall& call) {
  std::vector<Value> values(call.inputs.size());
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    const Tensor& t = call.inputs[i];
    if (!t.defined()) continue;
    values[i].name = "in" + std::to_string(i);
    values[i].type = {t.dtype(), shape_of(t.dims())};
    for (size_t c : call.constant_inputs)
      if (c == i) values[i].constant = t;
  }
  return values;
}

const OpSchema& schema_for(const OpCall& call) {
  const OpSchema* s = OpRegistry::instance().find(call.domain, call.op);
  if (!s) fail(ErrorCode::kUnsupported, "no op " + call.op);
  return *s;
}

}  // namespace

std::vector<ValueType> infer_op(const OpCall& call) {
  Node node = make_node(call);
  std::vector<Value> values = make_values(call);
  InferContext ctx{{node}, {}};
  for (size_t i = 0; i < values.size(); ++i)
    ctx.inputs.push_back(call.inputs[i].defined() ? &values[i] : nullptr);
  return schema_for(call).infer(ctx);
}

std::vector<Tensor> run_op(const OpCall& call) {
  std::vector<ValueType> inferred = infer_op(call);
  Node node = make_node(call);
  KernelContext ctx{{node}, {}};
  for (const Tensor& t : call.inputs) ctx.inputs.push_back(t.defined() ? &t : nullptr);
  std::vector<Tensor> out = schema_for(call).cpu(ctx);
  EXPECT_EQ(inferred.size(), out.size()) << call.op << ": inferred vs produced output count";
  for (size_t i = 0; i < std::min(inferred.size(), out.size()); ++i) {
    EXPECT_EQ(inferred[i].dtype, out[i].dtype()) << call.op << " output " << i;
    if (!inferred[i].shape) continue;
    const Shape& s = *inferred[i].shape;
    EXPECT_EQ(s.size(), out[i].dims().size()) << call.op << " output " << i << " rank";
    for (size_t d = 0; d < std::min(s.size(), out[i].dims().size()); ++d)
      if (s[d].known()) {
        EXPECT_EQ(s[d].value, out[i].dims()[d]) << call.op << " output " << i << " dim " << d;
      }
  }
  return out;
}

ErrorCode error_code_of(const OpCall& call) {
  try {
    run_op(call);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;
}

void expect_refused(const OpCall& call, ErrorCode code, const std::string& says, const std::string& starts) {
  try {
    run_op(call);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.code(), code) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_EQ(m.rfind(starts, 0), 0u) << m;
    EXPECT_NE(m.find(says), std::string::npos) << m;
  }
}

Tensor random_tensor(DType dtype, Dims dims, uint64_t seed, double lo, double hi) {
  Tensor t(dtype, std::move(dims));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      T* p = t.data<T>();
      for (int64_t i = 0; i < t.numel(); ++i) {
        double v = dist(rng);
        if constexpr (std::is_integral_v<T>) v = std::round(v);
        p[i] = from_double<T>(v);
      }
    }
  });
  return t;
}

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = t.at_double(i);
  return v;
}

void expect_close(const Tensor& got, const std::vector<double>& want, double atol, double rtol) {
  ASSERT_EQ(size_t(got.numel()), want.size()) << "element count";
  for (size_t i = 0; i < want.size(); ++i) {
    double g = got.at_double(int64_t(i)), w = want[i];
    if (std::isnan(w) || std::isnan(g)) {
      ASSERT_EQ(std::isnan(w), std::isnan(g)) << "at index " << i << ": got " << g << " want " << w;
      continue;
    }
    if (std::isinf(w) || std::isinf(g)) {
      ASSERT_EQ(g, w) << "at index " << i;
      continue;
    }
    ASSERT_LE(std::abs(g - w), atol + rtol * std::abs(w)) << "at index " << i << ": got " << g
                                                          << " want " << w;
  }
}

void expect_dims(const Tensor& t, const Dims& dims) {
  EXPECT_EQ(dims_to_string(t.dims()), dims_to_string(dims));
}

}  // namespace kiln::test
