// What CUDA kernels share while a graph runs: the stream, the cuBLASLt and cuDNN handles, one
// scratch workspace for them, the tuning cache (kernel choices) and the checks that kernels
// leave on the device for after the run. One session per execution context.
#pragma once
#include <cublasLt.h>
#include <cudnn.h>

#include <string>
#include <vector>

#include "runtime/cuda/device_tensor.h"
#include "runtime/tuning_cache.h"

namespace kiln {

class CudaSession {
 public:
  CudaSession();  // picks the current device; no GPU is an error saying so
  ~CudaSession();
  CudaSession(const CudaSession&) = delete;
  CudaSession& operator=(const CudaSession&) = delete;

  CudaStream stream() const { return stream_; }
  cublasLtHandle_t cublas() const { return cublas_; }
  // Made on first use: cuDNN loads its engine libraries then, a cost (hundreds of ms) that
  // models whose convolutions all run as kiln kernels or GEMMs never pay.
  cudnnHandle_t cudnn();
  // Scratch memory of at least bytes, valid until the next call (stream order keeps it safe).
  // While the workspace is frozen (CUDA Graph capture) it cannot grow: asking for more is an
  // internal error.
  void* workspace(size_t bytes);
  size_t workspace_bytes() const { return workspace_ ? workspace_->bytes() : 0; }
  bool workspace_frozen = false;
  // float32 matrix work may use TF32 tensor cores (off unless asked: --tf32).
  bool allow_tf32 = false;
  // Kernel choices: looked up here; with `tune`, candidates are timed and the winner stored.
  TuningCache* tuning = nullptr;
  bool tune = false;
  // Prefix of tuning keys: GPU architecture and library versions ("sm_90/lt130100/dnn91900").
  const std::string& tuning_prefix() const { return tuning_prefix_; }
  std::string device_name() const;  // "NVIDIA H100 80GB HBM3"

  // A device int32 flag that a kernel sets to nonzero when its input data is invalid (an index
  // out of range); the executor reads the flags after the run and fails with the message.
  struct DeferredCheck {
    const int32_t* flag;
    std::string message;
  };
  void add_deferred_check(const int32_t* flag, std::string message);
  const std::vector<DeferredCheck>& deferred_checks() const { return checks_; }
  void clear_deferred_checks() { checks_.clear(); }

 private:
  CudaStream stream_ = nullptr;
  cublasLtHandle_t cublas_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  std::unique_ptr<DeviceBuffer> workspace_;
  std::vector<DeferredCheck> checks_;
  std::string tuning_prefix_;
};

// Number of CUDA devices the driver reports (0 when there is no GPU or driver).
int cuda_device_count();


}  // namespace kiln
