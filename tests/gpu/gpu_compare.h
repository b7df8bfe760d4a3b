// GPU test harness: runs one op as a one-node graph on the CPU reference backend and on the
// CUDA backend (same inputs, same inferred types) and compares every output. Inputs are
// fixed-seed random tensors; a mismatch reports the op, shapes, seed and the first bad index.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../ops/harness.h"
#include "ir/graph.h"

namespace kiln::gpu_test {

struct GpuCase {
  std::string op;
  std::vector<Tensor> inputs;         // undefined Tensor(): omitted optional input
  std::vector<size_t> constant_inputs;  // these become graph constants (weights, shapes)
  Attributes attrs;
  int opset = 17;
  int num_outputs = 1;
  uint64_t seed = 0;  // printed on failure
  double atol = 1e-5, rtol = 1e-5;
  bool gpu_only = false;  // run only the CUDA backend (tests of its own errors)
  std::string domain;     // "" for ONNX's default domain (plugin ops set theirs)
  // CUDA runs on one executor, each compared: 1 is the plan's first run (per-call allocations);
  // 2 adds a run in the planned arena; 3 adds the CUDA Graph replay.
  int gpu_runs = 1;
};

// The case as a graph of one node: non-constant inputs "in<i>", outputs "out<o>".
Graph one_node_graph(const GpuCase& c);

// Runs the case on both backends and checks the outputs agree within atol + rtol * |cpu|.
void expect_gpu_matches_cpu(const GpuCase& c);
// The CUDA backend alone refuses the case as unsupported, with `word` in the message.
void expect_gpu_unsupported(GpuCase c, const std::string& word);

// For the DISABLED_ op benches: `runs` node-by-node times (ms, ascending) of the case's one-node
// graph after a warm-up, its non-constant inputs fed (test hooks the caller set apply), and
// "median M ms (min A, max B)" of them.
std::vector<float> profile_one_node(const GpuCase& c, int runs = 40);
std::string timing_summary(const std::vector<float>& ms);

using test::random_tensor;  // the op harness's fixed-seed generator
Tensor int64_tensor(const std::vector<int64_t>& v);
Tensor float_tensor(const std::vector<float>& v);

// Tolerances for float16 storage with float32 math against the double-precision reference.
inline void f16_tolerance(GpuCase& c, double atol = 2e-3, double rtol = 2e-3) {
  c.atol = atol;
  c.rtol = rtol;
}

// The test data folder: $KILN_TEST_DIR, else the source tree's tests/ at build time.
std::string test_dir();

}  // namespace kiln::gpu_test
