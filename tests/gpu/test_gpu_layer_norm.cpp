// LayerNormalization's row kernel (layer_norm.cu) against the CPU reference on the shapes that
// steer its launch: widths that fill a sub-warp group exactly (64, 128, 320 = 8 lanes × 5
// vectors, 512, 1024), leave it ragged (24, 72 = 9 fp16 vectors, 1000) or take one lane per row
// (8 in fp16); row counts of 1, 7 (one part-filled warp), 1000 and 4099 (several grid-stride
// rounds, a ragged last round); fp32, fp16 and both mixed forms. Every element of Y, Mean and
// InvStdDev is compared. Launches on raw device memory add base pointers one element off 16-byte
// alignment (the element-wise fallback) and guard bytes around every output.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "gpu_compare.h"
#include "layer_norm_tolerance.h"
#include "guarded_device_buffer.h"
#include "ops/norm/norm_cuda.h"
#include "runtime/cpu_executor.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_session.h"

namespace kiln::gpu_test {
namespace {

const std::vector<int64_t> kWidths = {8, 24, 64, 72, 128, 320, 512, 1000, 1024};
const std::vector<int64_t> kRows = {1, 7, 1000, 4099};

// The inputs and tolerances of the existing LayerNorm tests: one type, X near 30 with a spread of
// 1 (GpuNorm.LayerNorm: catches E[x^2] - mean^2); mixed, X in [-4, 4)
// (GpuMixedPrecision.LayerNormBetweenFloat32AndFloat16).
GpuCase make_case(DType x, DType y, int64_t rows, int64_t width, bool bias, int outputs, uint64_t seed) {
  const bool mixed = x != y;
  GpuCase c{"LayerNormalization",
            {random_tensor(x, {rows, width}, seed, mixed ? -4 : 30, mixed ? 4 : 31),
             random_tensor(y, {width}, seed + 1, 0.5, 1.5)},
            {1, 2}};
  if (bias) c.inputs.push_back(random_tensor(y, {width}, seed + 2));
  c.attrs.set("axis", int64_t(-1));
  c.attrs.set("epsilon", 1e-5f);
  c.num_outputs = outputs;
  c.seed = seed;
  layer_norm_tolerance(c, y, mixed);
  return c;
}

void run_shapes(DType x, DType y, uint64_t seed) {
  int n = 0;
  for (int64_t w : kWidths)
    for (int64_t r : kRows) {
      ++n;
      // Alternate B and the statistics outputs so each width sees both.
      GpuCase c = make_case(x, y, r, w, n % 2 == 0, n % 3 == 0 ? 1 : 3, seed);
      seed += 3;
      c.gpu_runs = r >= 1000 ? 3 : 1;  // first run, planned arena, CUDA Graph replay
      SCOPED_TRACE(std::string(dtype_name(x)) + " -> " + dtype_name(y) + " rows " + std::to_string(r) + " width " +
                   std::to_string(w));
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuLayerNorm, RowGroupsFloat32) { run_shapes(DType::kF32, DType::kF32, 11000); }
TEST(GpuLayerNorm, RowGroupsFloat16) { run_shapes(DType::kF16, DType::kF16, 12000); }
TEST(GpuLayerNorm, RowGroupsFloat32ToFloat16) { run_shapes(DType::kF32, DType::kF16, 13000); }
TEST(GpuLayerNorm, RowGroupsFloat16ToFloat32) { run_shapes(DType::kF16, DType::kF32, 14000); }

// launch_layer_norm on raw memory: X, Y, Scale or B shifted off 16-byte alignment by one element
// (`shifted` names which; "" for none), outputs guarded; compared with the CPU reference.
void expect_direct_launch(DType x, DType y, int64_t rows, int64_t width, bool with_extras, const std::string& shifted,
                          uint64_t seed) {
  SCOPED_TRACE(std::string(dtype_name(x)) + " -> " + dtype_name(y) + " rows " + std::to_string(rows) + " width " +
               std::to_string(width) + " shifted " + (shifted.empty() ? "none" : shifted));
  const GpuCase c = make_case(x, y, rows, width, with_extras, with_extras ? 3 : 1, seed);
  const Graph g = one_node_graph(c);
  const TensorMap want = CpuExecutor(g).run({{"in0", c.inputs[0]}});
  const size_t xs = dtype_size(x), ys = dtype_size(y);
  const size_t n = size_t(rows * width);
  Guarded dx(&c.inputs[0], n * xs, shifted == "x", xs), dy(nullptr, n * ys, shifted == "y", ys);
  Guarded ds(&c.inputs[1], size_t(width) * ys, shifted == "scale", ys);
  Guarded db(with_extras ? &c.inputs[2] : nullptr, size_t(width) * ys, shifted == "bias", ys);
  Guarded dm(nullptr, size_t(rows) * 4, 0, 4), di(nullptr, size_t(rows) * 4, 0, 4);
  norm::LayerNormArgs a;
  a.x = dx.data();
  a.scale = ds.data();
  a.bias = with_extras ? db.data() : nullptr;
  a.y = dy.data();
  a.mean = with_extras ? static_cast<float*>(dm.data()) : nullptr;
  a.inv_std = with_extras ? static_cast<float*>(di.data()) : nullptr;
  a.rows = rows;
  a.inner = width;
  a.eps = 1e-5f;
  norm::launch_layer_norm(x, y, a, nullptr);
  CUDA_CHECK(cudaDeviceSynchronize());
  test::expect_close(dy.read(y, {rows, width}), test::to_doubles(want.at("out0")), c.atol, c.rtol);
  if (with_extras) {
    test::expect_close(dm.read(DType::kF32, {rows, 1}), test::to_doubles(want.at("out1")), c.atol, c.rtol);
    test::expect_close(di.read(DType::kF32, {rows, 1}), test::to_doubles(want.at("out2")), c.atol, c.rtol);
  } else {
    dm.read(DType::kF32, {rows, 1});  // untouched: only the guard pattern
  }
}

TEST(GpuLayerNorm, UnalignedFallsBackAndGuardsHold) {
  uint64_t seed = 15000;
  const std::pair<DType, DType> forms[] = {{DType::kF32, DType::kF32},
                                           {DType::kF16, DType::kF16},
                                           {DType::kF32, DType::kF16},
                                           {DType::kF16, DType::kF32}};
  for (const auto& [x, y] : forms)
    for (int64_t width : {8, 64, 320, 1000})
      for (int64_t rows : {7, 1000})
        for (const char* shifted : {"", "x", "y", "scale", "bias"})
          for (bool extras : {true, false}) {
            if (!extras && std::string(shifted) == "bias") continue;
            expect_direct_launch(x, y, rows, width, extras, shifted, seed);
            seed += 3;
            if (::testing::Test::HasFailure()) return;
          }
}

// Median of `reps` event-timed runs of fn on stream after 3 warm-ups.
template <class Fn> float median_ms(CudaStream stream, int reps, Fn fn) {
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<float> ms;
  for (int rep = 0; rep < reps + 3; ++rep) {
    CUDA_CHECK(cudaEventRecord(start, stream));
    fn();
    CUDA_CHECK(cudaEventRecord(stop, stream));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float t = 0;
    CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
    if (rep >= 3) ms.push_back(t);
  }
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// SegFormer-B2's LayerNorms at 1024² and batch 8 (the four stages' token rows × channels), for
// the lead's benchmark runs: --gtest_also_run_disabled_tests --gtest_filter=*LayerNormBench*.
// fp16 → fp16, and the mixed forms of an fp16 engine's fp32 residual stream. Each shape is first
// checked against the CPU reference (a fast but wrong kernel fails), then the node is timed
// (CUDA events, median of 60 after 3 warm-ups) and set against a device-to-device copy moving
// as many bytes (X read + Y written; timed the same way, back to back, so both see the same L2:
// the 512-wide stage moves 17 MB, which fits in the 50 MB L2) and against 3.0 TB/s.
TEST(GpuLayerNorm, DISABLED_LayerNormBench) {
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{524288, 64}, {131072, 128}, {32768, 320}, {8192, 512}};
  const std::pair<DType, DType> forms[] = {
      {DType::kF16, DType::kF16}, {DType::kF32, DType::kF16}, {DType::kF16, DType::kF32}};
  uint64_t seed = 1;
  for (const auto& [x, y] : forms)
    for (const auto& [rows, width] : shapes) {
      GpuCase c = make_case(x, y, rows, width, true, 1, seed);
      seed += 3;
      const Graph g = one_node_graph(c);
      const TensorMap feeds = {{"in0", c.inputs[0]}};
      CudaExecutor gpu(g);
      {
        const Tensor got = gpu.run(feeds).at("out0");
        const Tensor want = CpuExecutor(g).run(feeds).at("out0");
        test::expect_close(got, test::to_doubles(want), c.atol, c.rtol);
      }
      const DeviceTensorMap in = gpu.input_slots({{"in0", c.inputs[0].dims()}});
      std::vector<float> node_ms;
      for (int rep = 0; rep < 63; ++rep) {
        const float t = gpu.profile(in).at(0).ms;
        if (rep >= 3) node_ms.push_back(t);
      }
      std::sort(node_ms.begin(), node_ms.end());
      const float ms = node_ms[node_ms.size() / 2];
      const double bytes = double(rows * width) * double(dtype_size(x) + dtype_size(y)) + 2.0 * width * dtype_size(y);
      const CudaStream s = gpu.session().stream();
      const size_t half = size_t(bytes / 2);
      void *src = nullptr, *dst = nullptr;
      CUDA_CHECK(cudaMalloc(&src, half));
      CUDA_CHECK(cudaMalloc(&dst, half));
      CUDA_CHECK(cudaMemset(src, 0, half));
      const float copy_ms =
          median_ms(s, 60, [&] { CUDA_CHECK(cudaMemcpyAsync(dst, src, half, cudaMemcpyDeviceToDevice, s)); });
      CUDA_CHECK(cudaFree(src));
      CUDA_CHECK(cudaFree(dst));
      std::printf("LayerNorm %s->%s [%7lld, %4lld] %6.1f MB: median %7.4f ms (best %7.4f), copy %7.4f ms (%5.0f GB/s)"
                  " -> %3.0f%% of the copy rate, %3.0f%% of 3.0 TB/s\n",
                  dtype_name(x), dtype_name(y), static_cast<long long>(rows), static_cast<long long>(width), bytes / 1e6,
                  ms, node_ms.front(), copy_ms, bytes / (copy_ms * 1e-3) / 1e9, 100.0 * copy_ms / ms,
                  100.0 * bytes / (ms * 1e-3) / 3.0e12);
    }
}

}  // namespace
}  // namespace kiln::gpu_test
