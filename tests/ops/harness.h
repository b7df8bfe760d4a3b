// Test harness for op tests: runs an op's shape inference and CPU kernel on given tensors,
// checks that the kernel's outputs agree with what inference promised, and compares results
// with double-precision expectations.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::test {

struct OpCall {
  std::string op;
  std::vector<Tensor> inputs;  // an undefined Tensor() marks an omitted optional input
  Attributes attrs;
  int opset = 17;
  int num_outputs = 1;
  // Inputs whose data shape inference may see (e.g. Reshape's shape); others are only typed.
  std::vector<size_t> constant_inputs;
  std::string domain;  // "" for ONNX's default domain; kiln's own ops use "kiln"
};

// Runs infer + cpu kernel. Fails the test (ADD_FAILURE) if an output's dtype or a known
// inferred dim disagrees with the kernel's output. Errors from the op propagate as kiln::Error.
std::vector<Tensor> run_op(const OpCall& call);

// The code of the kiln::Error that run_op(call) throws; kInternal when it throws none (which
// every check for a user-facing code then reports as a failure).
ErrorCode error_code_of(const OpCall& call);

// run_op(call) throws an Error of `code` whose message is one line, starts with `starts` and
// contains `says` (the project's rule for refusals: one line naming the problem).
void expect_refused(const OpCall& call, ErrorCode code, const std::string& says, const std::string& starts = "");

// Only shape inference, with every input typed by its tensor (and constant where listed).
std::vector<ValueType> infer_op(const OpCall& call);

// Fixed-seed uniform random tensor in [lo, hi) (integers: rounded).
Tensor random_tensor(DType dtype, Dims dims, uint64_t seed, double lo = -1.0, double hi = 1.0);

// Every element of got as double.
std::vector<double> to_doubles(const Tensor& t);

// |got - want| <= atol + rtol * |want| elementwise (NaN must match NaN); reports the first
// mismatch with its index.
void expect_close(const Tensor& got, const std::vector<double>& want, double atol = 1e-5,
                  double rtol = 1e-5);
void expect_dims(const Tensor& t, const Dims& dims);

}  // namespace kiln::test
