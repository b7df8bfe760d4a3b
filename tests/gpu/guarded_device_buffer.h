// A device buffer with guard bytes of a known pattern around its payload, for tests that launch
// kernels on raw memory: reading it back fails the test if a kernel wrote outside the payload.
#pragma once
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "ir/tensor.h"
#include "runtime/cuda/cuda_check.h"

namespace kiln::gpu_test {

// A device copy of a tensor `offset` elements past a 256-byte boundary, with guard bytes of a
// known pattern on both sides.
constexpr size_t kGuard = 256;
constexpr unsigned char kPattern = 0xA5;
struct Guarded {
  void* base = nullptr;
  size_t payload = 0, before = 0, total = 0;
  Guarded(const Tensor* t, size_t bytes, size_t elem_offset, size_t elem) {
    payload = bytes;
    before = kGuard + elem_offset * elem;
    total = before + bytes + kGuard;
    CUDA_CHECK(cudaMalloc(&base, total));
    CUDA_CHECK(cudaMemset(base, kPattern, total));
    if (t) CUDA_CHECK(cudaMemcpy(data(), t->raw(), bytes, cudaMemcpyHostToDevice));
  }
  ~Guarded() { cudaFree(base); }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;
  void* data() const { return static_cast<char*>(base) + before; }
  // The payload as a tensor; fails the test if a guard byte changed.
  Tensor read(DType dt, Dims dims) const {
    std::vector<unsigned char> all(total);
    CUDA_CHECK(cudaMemcpy(all.data(), base, total, cudaMemcpyDeviceToHost));
    size_t bad = total;
    for (size_t i = 0; i < total && bad == total; ++i)
      if ((i < before || i >= before + payload) && all[i] != kPattern) bad = i;
    EXPECT_EQ(bad, total) << "guard byte " << bad << " overwritten (payload at " << before << ", " << payload
                          << " bytes)";
    Tensor t(dt, dims);
    std::memcpy(t.raw(), all.data() + before, payload);
    return t;
  }
};

}  // namespace kiln::gpu_test
