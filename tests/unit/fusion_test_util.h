// Shared by the GELU and GEMM-epilogue fusion tests: a model built in code, through the pipeline
// with and without those two passes, op counts, and the two graphs run on the same random inputs (CPU reference).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>
#include <string>

#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln::test {

// The whole pipeline but fuse_gelu and fuse_matmul_epilogue (and fuse_elementwise, which would
// take what they leave: its own tests are test_fuse_elementwise).
inline Graph unfused_graph(const ModelBuilder& b, const ImportOptions& o = {}) {
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx", o);
  run_passes(g, {"fuse_gelu", "fuse_matmul_epilogue", "fuse_elementwise"});
  return g;
}

// The whole pipeline but fuse_elementwise.
inline Graph fused_graph(const ModelBuilder& b, PassReport* report = nullptr, const ImportOptions& o = {}) {
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx", o);
  PassReport r = run_passes(g, {"fuse_elementwise"}, /*record_rewrites=*/true);
  if (report) *report = r;
  return g;
}

// A model's bytes through the pipeline twice: without `pass` (plain) and whole (fused, with its
// report): what a pass's tests compare.
struct WithAndWithout {
  Graph plain, fused;
  PassReport report;
};
inline WithAndWithout with_and_without(const std::string& bytes, const std::string& pass) {
  WithAndWithout r{import_onnx_bytes(bytes, ".", "m.onnx"), import_onnx_bytes(bytes, ".", "m.onnx"), {}};
  run_passes(r.plain, {pass});
  r.report = run_passes(r.fused);
  return r;
}

// Nodes of `op` ("Gelu", "kiln.FusedMatMul").
inline int count_op(const Graph& g, const std::string& op) {
  auto h = g.op_histogram();
  return h.count(op) ? h.at(op) : 0;
}

// Random inputs for every graph input (static shapes), in [lo, hi).
inline TensorMap random_feeds(const Graph& g, uint64_t seed, double lo = -3, double hi = 3) {
  TensorMap feeds;
  for (const std::string& name : g.inputs) {
    const ValueType& t = g.value(name).type;
    feeds[name] = random_tensor(t.dtype, shape_dims(*t.shape), seed++, lo, hi);
  }
  return feeds;
}

// Both graphs on the same inputs: every output within atol + rtol·|want|.
inline void expect_same_outputs(const Graph& want_g, const Graph& got_g, const TensorMap& feeds, double atol,
                                double rtol) {
  TensorMap want = CpuExecutor(want_g).run(feeds);
  TensorMap got = CpuExecutor(got_g).run(feeds);
  ASSERT_EQ(want.size(), got.size());
  for (const auto& [name, w] : want) {
    ASSERT_TRUE(got.count(name)) << name;
    SCOPED_TRACE(name);
    expect_dims(got.at(name), w.dims());
    expect_close(got.at(name), to_doubles(w), atol, rtol);
  }
}

// Both graphs on the same random inputs (random_feeds of plain's): every output the same bytes.
inline void expect_same_bits(const Graph& plain, const Graph& fused, uint64_t seed, double lo = -2, double hi = 2) {
  const TensorMap feeds = random_feeds(plain, seed, lo, hi);
  const TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(fused).run(feeds);
  for (const std::string& out : plain.outputs) {
    SCOPED_TRACE(out);
    const Tensor &w = want.at(out), &g = got.at(out);
    ASSERT_EQ(g.dtype(), w.dtype());
    ASSERT_EQ(g.dims(), w.dims());
    EXPECT_EQ(std::memcmp(g.raw(), w.raw(), w.nbytes()), 0);
  }
}

// The graph as an fp16 engine makes it from ONNX bytes: the pipeline less the after-conversion
// passes, the conversion, then those passes — `pass` among them only where `fuse`. *fired: how
// many times `pass` fused (0 when left out).
inline Graph fp16_engine_graph(const std::string& bytes, const std::string& pass, bool fuse, int* fired = nullptr) {
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  const auto& late = after_fp16_pass_names();
  PassReport r = run_passes(g, std::set<std::string>(late.begin(), late.end()));
  convert_to_fp16(g);
  for (const std::string& name : late)
    if (fuse || name != pass) run_pass(g, name, r, false);
  if (fired) *fired = fuse ? r.fused.at(pass) : 0;
  return g;
}

}  // namespace kiln::test
