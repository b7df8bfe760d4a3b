// CallerStreamRun (the Python module's torch path): a context run on device memory and a stream
// that the caller owns gives the outputs of its host run bit for bit — on the first run (node by
// node) and on replays — ordered after work the caller queued before it (a slow fill of the
// input on the caller's stream), with no host wait; outputs of the wrong dims are refused.
#include <cuda_runtime_api.h>

#include <cstring>
#include <filesystem>

#include "../model/model_compare.h"
#include "gpu_compare.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cuda/caller_stream_run.h"
#include "runtime/cuda/cuda_check.h"

namespace kiln::gpu_test {
namespace {
namespace fs = std::filesystem;

struct CallerBuffers {
  std::vector<void*> ptrs;
  ~CallerBuffers() {
    for (void* p : ptrs) cudaFree(p);
  }
  void* make(size_t bytes) {
    void* p = nullptr;
    CUDA_CHECK(cudaMalloc(&p, bytes));
    ptrs.push_back(p);
    return p;
  }
};

TEST(GpuCallerStream, MatchesHostRunsOnTheCallersStream) {
  fs::path dir = fs::path(test_dir()) / "models" / "segformer_tiny";
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(g);
  CudaExecutor exec(std::make_shared<CudaModel>(g));
  TensorMap want = exec.run(feeds);

  cudaStream_t caller = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&caller, cudaStreamNonBlocking));
  CallerBuffers mem;
  CallerStreamRun run(exec);
  BorrowedTensorMap in, out;
  for (const auto& [name, t] : feeds) in[name] = {t.dtype(), t.dims(), mem.make(t.nbytes())};
  std::map<std::string, Dims> dims;
  for (const auto& [name, t] : feeds) dims[name] = t.dims();
  for (const auto& [name, type] : run.output_types(dims))
    out[name] = {type.first, type.second, mem.make(size_t(numel_of(type.second)) * dtype_size(type.first))};
  for (int round = 0; round < 3; ++round) {  // first run, capture, replay
    for (const auto& [name, t] : feeds) {
      // Garbage first, then the real values, both queued on the caller's stream only.
      CUDA_CHECK(cudaMemsetAsync(in[name].data, 0x7f, t.nbytes(), caller));
      CUDA_CHECK(cudaMemcpyAsync(in[name].data, t.raw(), t.nbytes(), cudaMemcpyHostToDevice, caller));
    }
    for (const auto& [name, o] : out) CUDA_CHECK(cudaMemsetAsync(o.data, 0xff, want.at(name).nbytes(), caller));
    run.run(in, out, caller);
    for (const auto& [name, t] : want) {
      Tensor got(t.dtype(), t.dims());
      CUDA_CHECK(cudaMemcpyAsync(got.raw(), out[name].data, t.nbytes(), cudaMemcpyDeviceToHost, caller));
      CUDA_CHECK(cudaStreamSynchronize(caller));
      EXPECT_EQ(std::memcmp(got.raw(), t.raw(), t.nbytes()), 0) << "round " << round << " output " << name;
    }
  }
  BorrowedTensorMap wrong = out;
  wrong.begin()->second.dims.back() += 1;
  EXPECT_THROW(run.run(in, wrong, caller), Error);
  CUDA_CHECK(cudaStreamSynchronize(caller));
  CUDA_CHECK(cudaStreamDestroy(caller));
}

}  // namespace
}  // namespace kiln::gpu_test
