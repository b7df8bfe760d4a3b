// Naive double-precision references shared by the elementwise op tests: numpy broadcasting by
// explicit index arithmetic, written independently of the kernels' collapsed-axis loops.
#pragma once
// OpCall{.op = ..., .inputs = ...} leaves the other members defaulted, on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <algorithm>
#include <functional>
#include <vector>

#include "harness.h"
#include "kiln/status.h"

namespace kiln::test::ewref {

inline Dims broadcast(const std::vector<Dims>& shapes) {
  size_t rank = 0;
  for (const Dims& s : shapes) rank = std::max(rank, s.size());
  Dims out(rank, 1);
  for (const Dims& s : shapes)
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = out[rank - s.size() + i];
      if (s[i] != 1) o = s[i];
    }
  return out;
}

// Flat index into a tensor of dims `in` for output position `flat` of dims `out`.
inline int64_t source_index(int64_t flat, const Dims& out, const Dims& in) {
  int64_t idx = 0, mul = 1;
  for (size_t k = 0; k < out.size(); ++k) {
    size_t d = out.size() - 1 - k;
    int64_t c = flat % out[d];
    flat /= out[d];
    if (k < in.size()) {
      size_t di = in.size() - 1 - k;
      if (in[di] != 1) idx += c * mul;
      mul *= in[di];
    }
  }
  return idx;
}

// f(values of each input at the broadcast position), for every output element.
inline std::vector<double> apply(const std::vector<Tensor>& ins,
                                 const std::function<double(const std::vector<double>&)>& f) {
  std::vector<Dims> shapes;
  std::vector<std::vector<double>> vals;
  for (const Tensor& t : ins) {
    shapes.push_back(t.dims());
    vals.push_back(to_doubles(t));
  }
  Dims out = broadcast(shapes);
  int64_t n = 1;
  for (int64_t d : out) n *= d;
  std::vector<double> res(static_cast<size_t>(n));
  std::vector<double> args(ins.size());
  for (int64_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < ins.size(); ++k) args[k] = vals[k][size_t(source_index(i, out, shapes[k]))];
    res[size_t(i)] = f(args);
  }
  return res;
}

inline std::vector<double> apply1(const Tensor& x, const std::function<double(double)>& f) {
  return apply({x}, [&](const std::vector<double>& a) { return f(a[0]); });
}
inline std::vector<double> apply2(const Tensor& x, const Tensor& y,
                                  const std::function<double(double, double)>& f) {
  return apply({x, y}, [&](const std::vector<double>& a) { return f(a[0], a[1]); });
}

// A tensor of the given dtype holding values (rounded as from_double does).
inline Tensor make(DType dt, Dims dims, const std::vector<double>& values) {
  return Tensor::from_doubles(dt, std::move(dims), values);
}

// Runs the call and expects a kiln::Error with the given code.
inline void expect_error(const OpCall& call, ErrorCode code) {
  try {
    run_op(call);
    ADD_FAILURE() << call.op << ": expected " << error_code_name(code) << ", got success";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << call.op << ": " << e.what();
  }
}

inline Attributes attrs(std::initializer_list<std::pair<std::string, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

}  // namespace kiln::test::ewref
