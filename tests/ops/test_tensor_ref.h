// Helpers for the tensor-family tests: naive index arithmetic for the double-precision
// references, small constructors, and error expectations.
#pragma once
// OpCall aggregates are written with only the fields a test needs.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <functional>
#include <numeric>

#include "harness.h"
#include "ops/registry.h"

namespace kiln::test::tref {

inline Tensor i64(Dims dims, std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(dims, v); }
inline Tensor i64v(std::vector<int64_t> v) { return i64({int64_t(v.size())}, v); }
inline Tensor f32(Dims dims, std::vector<float> v) { return Tensor::from_vector<float>(dims, v); }

inline Dims unravel(int64_t flat, const Dims& dims) {
  Dims idx(dims.size());
  for (size_t i = dims.size(); i-- > 0;) {
    idx[i] = flat % dims[i];
    flat /= dims[i];
  }
  return idx;
}
inline int64_t ravel(const Dims& idx, const Dims& dims) {
  int64_t f = 0;
  for (size_t i = 0; i < dims.size(); ++i) f = f * dims[i] + idx[i];
  return f;
}

// want[i] = fn(index of output element i) over every element of out_dims.
inline std::vector<double> build(const Dims& out_dims, const std::function<double(const Dims&)>& fn) {
  std::vector<double> v;
  int64_t n = 1;
  for (int64_t d : out_dims) n *= d;
  for (int64_t i = 0; i < n; ++i) v.push_back(fn(unravel(i, out_dims)));
  return v;
}

inline Attributes attrs(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

// Runs fn and expects a kiln::Error with the code.
inline void expect_error(const std::function<void()>& fn, ErrorCode code) {
  try {
    fn();
    ADD_FAILURE() << "expected an error with code " << error_code_name(code);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
  }
}

inline constexpr DType kEveryType[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64,
                                       DType::kI32, DType::kI8,  DType::kU8,   DType::kBool};

// Random values of the dtype; integer types get a wide range so distinct values are likely.
inline Tensor rnd(DType dt, Dims dims, uint64_t seed) {
  double hi = dt == DType::kBool ? 1.0 : (dtype_is_float(dt) ? 1.0 : 100.0);
  double lo = dt == DType::kBool ? 0.0 : (dt == DType::kU8 ? 1.0 : -hi);
  return random_tensor(dt, std::move(dims), seed, lo, hi);
}

// Shape inference on hand-made input types (symbolic/unknown dims); a Value with no type
// (dtype undefined) is an omitted input.
inline std::vector<ValueType> infer(const std::string& op, std::vector<Value> inputs, Attributes a = {},
                                    int opset = 17, int num_outputs = 1) {
  Node node;
  node.name = "t";
  node.op_type = op;
  node.opset = opset;
  node.attrs = std::move(a);
  for (int i = 0; i < num_outputs; ++i) node.outputs.push_back("y" + std::to_string(i));
  InferContext ctx{{node}, {}};
  for (Value& v : inputs) {
    node.inputs.push_back(v.type.dtype == DType::kUndefined ? "" : "x");
    ctx.inputs.push_back(v.type.dtype == DType::kUndefined ? nullptr : &v);
  }
  const OpSchema* s = OpRegistry::instance().find("", op);
  if (!s) fail(ErrorCode::kUnsupported, "no op " + op);
  return s->infer(ctx);
}
inline Value typed(DType dt, std::optional<Shape> shape) { return Value{"x", {dt, std::move(shape)}, std::nullopt}; }
inline Value constant(const Tensor& t) { return Value{"c", {t.dtype(), shape_of(t.dims())}, t}; }
inline Value omitted() { return Value{}; }
inline Dim sym(const char* s) { return Dim::symbolic(s); }
inline void expect_shape(const ValueType& t, const std::string& want) {
  ASSERT_TRUE(t.shape.has_value()) << "rank unknown, want " << want;
  EXPECT_EQ(shape_to_string(*t.shape), want);
}

}  // namespace kiln::test::tref
