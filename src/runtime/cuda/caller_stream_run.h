// Running a CUDA execution context on device memory and a stream that the caller owns (the
// Python module's torch tensors). Until its plan is captured, the context runs on its own stream
// — its library handles are bound to it — joined to the caller's stream by events: the run
// starts after the work already queued on the caller's stream, and the caller's later work
// waits for the outputs. Once captured, the CUDA Graph replays on the caller's stream itself
// (no hop between streams in a synchronous caller's wait). No host wait either way. A replayed
// graph reads and writes fixed arena addresses, so inputs are copied into their arena slots and
// outputs out of theirs, device to device (one copy each way, as run_device does for inputs).
#pragma once
#include <map>
#include <string>

#include "runtime/cuda/cuda_executor.h"

namespace kiln {

// Dense row-major device memory of the caller's, described for a run.
struct BorrowedTensor {
  DType dtype = DType::kUndefined;
  Dims dims;
  void* data = nullptr;
};
using BorrowedTensorMap = std::map<std::string, BorrowedTensor>;

class CallerStreamRun {
 public:
  explicit CallerStreamRun(CudaExecutor& exec);
  ~CallerStreamRun();
  CallerStreamRun(const CallerStreamRun&) = delete;
  CallerStreamRun& operator=(const CallerStreamRun&) = delete;

  // The output types of a run with these input dims (specializing the graph when needed), so
  // the caller can allocate the outputs.
  std::map<std::string, std::pair<DType, Dims>> output_types(const std::map<std::string, Dims>& input_dims);

  // Reads `inputs` and writes every graph output into `outputs` (each with the dtype and dims of
  // output_types), ordered on `caller` as described above. Returns without waiting (unless
  // the graph has runtime index checks, which wait for the run to read their flags).
  void run(const BorrowedTensorMap& inputs, const BorrowedTensorMap& outputs, CudaStream caller);

 private:
  CudaExecutor& exec_;
  void* inputs_ready_ = nullptr;   // cudaEvent_t: recorded on the caller's stream
  void* outputs_ready_ = nullptr;  // cudaEvent_t: on the context's stream, after its last run
};

// Makes the work queued on `after` from now on wait for the work queued on `before` so far (an
// event; nothing when they are the same stream).
void order_streams(CudaStream before, CudaStream after);

}  // namespace kiln
