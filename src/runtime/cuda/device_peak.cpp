#include "runtime/cuda/device_peak.h"

#include <algorithm>
#include <functional>

#include "io/random_tensor.h"
#include "ops/linear/linear_cuda.h"
#include "runtime/cuda/cuda_check.h"

namespace kiln {
namespace {

// Best of `reps` timed runs of fn, in seconds (after one warm-up).
double best_seconds(CudaStream s, int reps, const std::function<void()>& fn) {
  cudaEvent_t a, b;
  CUDA_CHECK(cudaEventCreate(&a));
  CUDA_CHECK(cudaEventCreate(&b));
  fn();
  float best = 1e30f;
  for (int i = 0; i < reps; ++i) {
    CUDA_CHECK(cudaEventRecord(a, s));
    fn();
    CUDA_CHECK(cudaEventRecord(b, s));
    CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    best = std::min(best, ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return double(best) / 1e3;
}

double gemm_rate(CudaSession& session, DType dt, int64_t n) {
  // Random operands: zeros draw less power and would flatter the rate.
  DeviceTensor a = to_device(random_tensor_for_input(dt, {n, n}, 1), session.stream()),
               b = to_device(random_tensor_for_input(dt, {n, n}, 2), session.stream()),
               c = device_empty(dt, {n, n}, session.stream());
  linear::GemmCall g;
  g.dtype = dt;
  g.m = g.n = g.k = n;
  g.a = a.data(), g.lda = n;
  g.b = b.data(), g.ldb = n;
  g.c = c.data(), g.ldc = n;
  double s = best_seconds(session.stream(), 5, [&] { linear::gemm_lt(session, g); });
  return 2.0 * double(n) * double(n) * double(n) / s;
}

}  // namespace

MeasuredPeak measure_device_peak(CudaSession& session) {
  MeasuredPeak p;
  p.fp16_flops_per_s = gemm_rate(session, DType::kF16, 8192);
  p.fp32_flops_per_s = gemm_rate(session, DType::kF32, 4096);
  const size_t bytes = size_t(1) << 30;
  DeviceBuffer from(bytes, session.stream()), to(bytes, session.stream());
  CUDA_CHECK(cudaMemsetAsync(from.data(), 0, bytes, session.stream()));
  double s = best_seconds(session.stream(), 5, [&] {
    CUDA_CHECK(cudaMemcpyAsync(to.data(), from.data(), bytes, cudaMemcpyDeviceToDevice, session.stream()));
  });
  p.bytes_per_s = 2.0 * double(bytes) / s;
  return p;
}

}  // namespace kiln
