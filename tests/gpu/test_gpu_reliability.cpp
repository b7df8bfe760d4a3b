// Issue 8 on the GPU: running out of GPU memory is a clean error that leaves the context usable,
// and a long run of inferences does not grow host or device memory. Both are DISABLED_ in the
// default run and have their own section in run_on_device.sh (--gtest_also_run_disabled_tests):
// the soak runs 100,000 inferences, and the OOM test took 223 s on the H200, most of it
// presumably the two refused 1 TiB requests (tests/gpu/results/*-reliability-f525426-partial.log).
#include <cuda_runtime_api.h>

#include <fstream>
#include <unistd.h>

#include "../model/model_compare.h"
#include "../unit/onnx_builder.h"
#include "gpu_compare.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cuda/cuda_executor.h"

namespace kiln::gpu_test {
namespace {

constexpr int64_t kCols = 1024;

//   x [N, 1024] ─Tile(512, 512)─▶ [512 N, 524288] ─ReduceSum─▶ y (scalar)
// A 4 KiB-per-row input whose intermediate is 1 GiB per row: N = 1024 asks for 1 TiB.
Graph tile_sum_graph() {
  test::ModelBuilder b(17);
  b.input("x", DType::kF32, {-1, kCols});
  b.initializer("repeats", Tensor::from_vector<int64_t>({2}, {512, 512}));
  b.node("Tile", {"x", "repeats"}, {"t"});
  test::set_int_attr(b.node("ReduceSum", {"t"}, {"y"}), "keepdims", 0);
  b.output("y", DType::kF32);
  Graph g = import_onnx_bytes(b.bytes(), ".", "tile-sum test model");
  run_passes(g);
  return g;
}

double sum_of(const Tensor& t) {
  double s = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += t.at_double(i);
  return s;
}

TEST(GpuReliability, DISABLED_OutOfMemoryIsACleanErrorAndTheContextStaysUsable) {
  Graph g = tile_sum_graph();
  EngineBuild build;
  build.profiles.push_back({"x", {1, kCols}, {1, kCols}, {1024, kCols}});
  auto model = std::make_shared<CudaModel>(g, build);
  CudaExecutor exec(model);
  Tensor small = random_tensor(DType::kF32, {1, kCols}, 11);
  const double want = sum_of(small) * 512 * 512;
  EXPECT_NEAR(exec.run({{"x", small}}).at("y").at_double(0), want, 1e-3 * std::abs(want) + 1e-2);
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      exec.run({{"x", random_tensor(DType::kF32, {1024, kCols}, 12)}});
      ADD_FAILURE() << "a 1 TiB intermediate was allocated";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("out of GPU memory"), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
    }
  }
  // The same context, its plans and its stream still work, and give the same answer.
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(exec.run({{"x", small}}).at("y").at_double(0), want, 1e-3 * std::abs(want) + 1e-2);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

// Resident host memory in bytes (/proc/self/statm's second field, in pages).
int64_t host_rss() {
  std::ifstream f("/proc/self/statm");
  int64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * int64_t(sysconf(_SC_PAGESIZE));
}

// Device memory in use by everything on the GPU, after the stream's frees are done.
int64_t device_used() {
  cudaDeviceSynchronize();
  size_t free = 0, total = 0;
  cudaMemGetInfo(&free, &total);
  return int64_t(total - free);
}

TEST(GpuReliability, DISABLED_SoakHundredThousandInferences) {
  ImportOptions import;
  const std::string dir = test_dir() + "/models/segformer_tiny";
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file(dir + "/model.onnx", import);
  run_passes(g);
  CudaExecutor exec(g);
  constexpr int kWarmup = 1000, kRuns = 100000;
  const TensorMap first = exec.run(feeds);
  for (int i = 1; i < kWarmup; ++i) exec.run(feeds);
  const int64_t host0 = host_rss(), dev0 = device_used();
  for (int i = 0; i < kRuns; ++i) {
    TensorMap out = exec.run(feeds);  // host copies in and out, CUDA Graph replay between
    if (i % 10000 == 0)
      for (const auto& [name, t] : out) ASSERT_TRUE(t.same_bytes(first.at(name))) << "run " << i << ": " << name;
  }
  const int64_t host1 = host_rss(), dev1 = device_used();
  std::printf("soak: %d inferences of segformer_tiny after %d warm-up; host RSS %.1f -> %.1f MiB, "
              "device in use %.1f -> %.1f MiB\n",
              kRuns, kWarmup, host0 / 1048576.0, host1 / 1048576.0, dev0 / 1048576.0, dev1 / 1048576.0);
  EXPECT_LE(host1 - host0, int64_t(4) << 20) << "host memory grew";
  EXPECT_LE(dev1 - dev0, int64_t(2) << 20) << "device memory grew";
}

}  // namespace
}  // namespace kiln::gpu_test
