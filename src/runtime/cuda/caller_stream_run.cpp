#include "runtime/cuda/caller_stream_run.h"

#include <cuda_runtime_api.h>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_session.h"

namespace kiln {
namespace {

cudaEvent_t event_of(void* e) { return static_cast<cudaEvent_t>(e); }

std::map<std::string, Dims> dims_of(const BorrowedTensorMap& tensors) {
  std::map<std::string, Dims> d;
  for (const auto& [name, t] : tensors) d[name] = t.dims;
  return d;
}

}  // namespace

CallerStreamRun::CallerStreamRun(CudaExecutor& exec) : exec_(exec) {
  cudaEvent_t a = nullptr, b = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&a, cudaEventDisableTiming));
  inputs_ready_ = a;
  CUDA_CHECK(cudaEventCreateWithFlags(&b, cudaEventDisableTiming));
  outputs_ready_ = b;
}

CallerStreamRun::~CallerStreamRun() {
  if (inputs_ready_) cudaEventDestroy(event_of(inputs_ready_));
  if (outputs_ready_) cudaEventDestroy(event_of(outputs_ready_));
}

std::map<std::string, std::pair<DType, Dims>> CallerStreamRun::output_types(
    const std::map<std::string, Dims>& input_dims) {
  const Graph& g = exec_.plan_graph(input_dims);
  std::map<std::string, std::pair<DType, Dims>> types;
  for (const auto& name : g.outputs) {
    const ValueType& t = g.value(name).type;
    types[name] = {t.dtype, shape_dims(*t.shape)};  // plan graphs have static shapes
  }
  return types;
}

void CallerStreamRun::run(const BorrowedTensorMap& inputs, const BorrowedTensorMap& outputs, CudaStream caller) {
  const auto wanted = output_types(dims_of(inputs));
  for (const auto& [name, t] : outputs)
    if (!wanted.count(name)) fail(ErrorCode::kInvalidArgument, "the model has no output named '" + name + "'");
  for (const auto& [name, type] : wanted) {
    auto it = outputs.find(name);
    if (it == outputs.end()) fail(ErrorCode::kInvalidArgument, "output '" + name + "' is missing");
    if (it->second.dtype != type.first || it->second.dims != type.second)
      fail(ErrorCode::kInvalidArgument, "output '" + name + "' is " + dtype_name(it->second.dtype) + " " +
                                            dims_to_string(it->second.dims) + ", the model gives " +
                                            dtype_name(type.first) + " " + dims_to_string(type.second));
  }
  DeviceTensorMap feeds;
  for (const auto& [name, t] : inputs) {
    DeviceTensor d;
    d.dtype = t.dtype;
    d.dims = t.dims;
    d.buffer = DeviceBuffer::borrowed(t.data, size_t(numel_of(t.dims)) * dtype_size(t.dtype));
    feeds[name] = std::move(d);
  }
  CudaStream own = exec_.session().stream();
  // Once the plan's graph is captured it replays on the caller's stream itself, so a synchronous
  // caller waits on no hop between streams. It starts after whatever this context ran before
  // (outputs_ready_), and leaves outputs_ready_ behind this run for the next caller.
  CUDA_CHECK(cudaStreamWaitEvent(caller, event_of(outputs_ready_), 0));
  DeviceTensorMap replayed;
  if (exec_.replay_on(feeds, caller, &replayed)) {
    for (const auto& [name, t] : replayed) {
      const BorrowedTensor& out = outputs.at(name);
      if (t.nbytes()) CUDA_CHECK(cudaMemcpyAsync(out.data, t.data(), t.nbytes(), cudaMemcpyDeviceToDevice, caller));
    }
    CUDA_CHECK(cudaEventRecord(event_of(inputs_ready_), caller));
    CUDA_CHECK(cudaStreamWaitEvent(own, event_of(inputs_ready_), 0));
    CUDA_CHECK(cudaEventRecord(event_of(outputs_ready_), own));
    return;
  }
  CUDA_CHECK(cudaEventRecord(event_of(inputs_ready_), caller));
  CUDA_CHECK(cudaStreamWaitEvent(own, event_of(inputs_ready_), 0));
  DeviceTensorMap results = exec_.run_device(feeds);
  for (const auto& [name, t] : results) {
    const BorrowedTensor& out = outputs.at(name);
    if (t.nbytes()) CUDA_CHECK(cudaMemcpyAsync(out.data, t.data(), t.nbytes(), cudaMemcpyDeviceToDevice, own));
  }
  CUDA_CHECK(cudaEventRecord(event_of(outputs_ready_), own));
  CUDA_CHECK(cudaStreamWaitEvent(caller, event_of(outputs_ready_), 0));
}

void order_streams(CudaStream before, CudaStream after) {
  if (before == after) return;
  cudaEvent_t e = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  cudaError_t err = cudaEventRecord(e, before);
  if (err == cudaSuccess) err = cudaStreamWaitEvent(after, e, 0);
  cudaEventDestroy(e);  // released once the work it marks is done
  CUDA_CHECK(err);
}

}  // namespace kiln
