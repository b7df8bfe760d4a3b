// One optimized graph shared read-only by 8 threads, each with its own CPU executor, 1,000
// inferences each on its own input: every output bit-identical to a single-threaded run of the
// same input (issue 8's concurrency check; the GPU twin is in tests/gpu/test_gpu_runtime.cpp).
// Kernels run on one thread each here, as in the reference: 8 contexts × OpenMP teams on a
// 2-core CI machine oversubscribe it (a 1,000-run test did not finish in 15 minutes). Before
// conv stopped toggling OpenBLAS's global thread count around its GEMMs (the old SerialBlas),
// concurrent runs also differed from run to run at ~5e-8 relative L2 — a data race on that
// setting, not on tensors.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <cblas.h>
#include <omp.h>

#include <thread>

#include "../ops/harness.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

TEST(Concurrency, EightThreadsShareOneGraphBitIdentical) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  Graph g = import_onnx_file((dir / "model.onnx").string());
  run_passes(g);
  const Graph& shared = g;
  constexpr int kThreads = 8, kRuns = 1000;
  const int blas_threads = openblas_get_num_threads();
  openblas_set_num_threads(1);
  const ValueType& in = g.value(g.inputs[0]).type;
  Dims dims = shape_dims(*in.shape);
  dims[0] = 1;  // batch 1: the file's batch may be symbolic

  std::vector<TensorMap> feeds(kThreads), want(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    feeds[size_t(t)] = {{g.inputs[0], test::random_tensor(DType::kF32, dims, uint64_t(7000 + t))}};
    std::thread([&] {
      omp_set_num_threads(1);
      want[size_t(t)] = CpuExecutor(shared).run(feeds[size_t(t)]);
    }).join();
  }
  std::atomic<int> mismatches{0}, errors{0}, done{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        omp_set_num_threads(1);
        CpuExecutor exec(shared);
        for (int i = 0; i < kRuns; ++i) {
          TensorMap got = exec.run(feeds[size_t(t)]);
          for (const auto& [name, w] : want[size_t(t)])
            if (!got.at(name).same_bytes(w)) ++mismatches;
          ++done;
        }
      } catch (const std::exception&) {
        ++errors;
      }
    });
  for (auto& th : threads) th.join();
  openblas_set_num_threads(blas_threads);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(done.load(), kThreads * kRuns);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  std::printf("[ concurrency ] %d threads x %d inferences of segformer_tiny in %.1f s\n", kThreads, kRuns, s);
}

}  // namespace
}  // namespace kiln
