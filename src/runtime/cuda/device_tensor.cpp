#include "runtime/cuda/device_tensor.h"

#include <cuda_runtime_api.h>

#include "runtime/cuda/cuda_check.h"

namespace kiln {

DeviceBuffer::DeviceBuffer(size_t bytes, CudaStream stream) : bytes_(bytes), stream_(stream) {
  if (bytes) CUDA_CHECK(cudaMallocAsync(&data_, bytes, stream));
}

DeviceBuffer::~DeviceBuffer() {
  if (data_ && owned_) cudaFreeAsync(data_, stream_);  // a destructor cannot throw; errors resurface later
}

std::shared_ptr<DeviceBuffer> DeviceBuffer::borrowed(void* data, size_t bytes) {
  auto b = std::make_shared<DeviceBuffer>(0, nullptr);
  b->data_ = data;
  b->bytes_ = bytes;
  b->owned_ = false;
  return b;
}

DeviceTensor DeviceTensor::reshaped(Dims new_dims) const {
  KILN_ASSERT(numel_of(new_dims) == numel());
  DeviceTensor t = *this;
  t.dims = std::move(new_dims);
  return t;
}

DeviceTensor device_empty(DType dtype, Dims dims, CudaStream stream) {
  DeviceTensor t;
  t.dtype = dtype;
  t.dims = std::move(dims);
  t.buffer = std::make_shared<DeviceBuffer>(t.nbytes(), stream);
  return t;
}

DeviceTensor to_device(const Tensor& t, CudaStream stream) {
  DeviceTensor d = device_empty(t.dtype(), t.dims(), stream);
  if (t.nbytes())
    CUDA_CHECK(cudaMemcpyAsync(d.data(), t.raw(), t.nbytes(), cudaMemcpyHostToDevice, stream));
  // The host tensor may die before the copy ran: pageable copies are staged before returning,
  // but wait anyway so callers never depend on that.
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return d;
}

Tensor to_host(const DeviceTensor& t, CudaStream stream) {
  Tensor h(t.dtype, t.dims);
  if (h.nbytes())
    CUDA_CHECK(cudaMemcpyAsync(h.raw(), t.data(), h.nbytes(), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return h;
}

}  // namespace kiln
