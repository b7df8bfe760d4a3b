// Device memory: a DeviceBuffer owns one stream-ordered allocation; a DeviceTensor is a dtype,
// dense row-major dims and a view into a shared buffer (Reshape and friends alias, no copy).
// No CUDA headers here: streams travel as the opaque CUstream_st*.
#pragma once
#include <memory>

#include "ir/tensor.h"

struct CUstream_st;

namespace kiln {

using CudaStream = CUstream_st*;

class DeviceBuffer {
 public:
  // Allocates bytes (cudaMallocAsync on stream); 0 bytes allocates nothing.
  DeviceBuffer(size_t bytes, CudaStream stream);
  ~DeviceBuffer();  // frees in stream order
  // A view of device memory someone else owns (a caller's tensor): never freed here.
  static std::shared_ptr<DeviceBuffer> borrowed(void* data, size_t bytes);
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  CudaStream stream_ = nullptr;
  bool owned_ = true;
};

struct DeviceTensor {
  DType dtype = DType::kUndefined;
  Dims dims;
  std::shared_ptr<DeviceBuffer> buffer;
  size_t offset = 0;  // bytes into buffer

  bool defined() const { return dtype != DType::kUndefined; }
  int rank() const { return int(dims.size()); }
  int64_t numel() const { return numel_of(dims); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype); }
  void* data() const { return buffer ? static_cast<char*>(buffer->data()) + offset : nullptr; }
  template <class T> T* ptr() const { return static_cast<T*>(data()); }
  // Same memory, new dims with the same element count.
  DeviceTensor reshaped(Dims new_dims) const;
};

// Sizes of arena slots and scratch pieces round up to this (cuBLASLt/cuDNN like 256-byte
// alignment; so do vector loads).
inline constexpr size_t kDeviceAlignment = 256;
inline size_t align_device_bytes(size_t bytes) {
  return (bytes + kDeviceAlignment - 1) / kDeviceAlignment * kDeviceAlignment;
}

DeviceTensor device_empty(DType dtype, Dims dims, CudaStream stream);  // uninitialized
DeviceTensor to_device(const Tensor& t, CudaStream stream);           // asynchronous copy
Tensor to_host(const DeviceTensor& t, CudaStream stream);             // waits for the stream

}  // namespace kiln
