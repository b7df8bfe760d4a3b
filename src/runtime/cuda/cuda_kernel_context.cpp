#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln {

const DeviceTensor& CudaKernelContext::input(size_t i) const {
  if (!has_input(i)) invalid("input " + std::to_string(i) + " is required");
  return *inputs[i];
}

const Tensor* CudaKernelContext::host_constant(size_t i) const {
  if (i >= input_values.size() || !input_values[i] || !input_values[i]->constant) return nullptr;
  return &*input_values[i]->constant;
}

const Tensor& CudaKernelContext::require_constant(size_t i, const char* what) const {
  const Tensor* t = host_constant(i);
  if (!t) unsupported(std::string("the CUDA backend needs ") + what + " to be a constant");
  return *t;
}

Dims CudaKernelContext::output_dims(size_t i) const {
  KILN_ASSERT(has_output(i) && output_types[i]->shape && shape_known(*output_types[i]->shape));
  return shape_dims(*output_types[i]->shape);
}

DeviceTensor& CudaKernelContext::alloc_output(size_t i) {
  if (i < planned_outputs.size() && planned_outputs[i].defined()) {
    KILN_ASSERT(planned_outputs[i].dtype == output_dtype(i) && planned_outputs[i].dims == output_dims(i));
    outputs.at(i) = planned_outputs[i];
  } else {
    outputs.at(i) = device_empty(output_dtype(i), output_dims(i), stream());
    if (allocated.size() <= i) allocated.resize(i + 1, false);
    allocated[i] = true;
  }
  return outputs[i];
}

DeviceTensor CudaKernelContext::scratch(DType dtype, Dims dims) {
  const size_t bytes = align_device_bytes(size_t(numel_of(dims)) * dtype_size(dtype));
  const size_t at = scratch_used;
  scratch_used += bytes;
  if (!scratch_region.defined()) return device_empty(dtype, std::move(dims), stream());
  if (scratch_used > scratch_region.nbytes())
    fail(ErrorCode::kInternal, "internal error: " + node.describe() + " asked for more scratch memory than it did "
                               "when its plan was made");
  DeviceTensor t = scratch_region;
  t.dtype = dtype;
  t.dims = std::move(dims);
  t.offset += at;
  return t;
}

void CudaKernelContext::set_output(size_t i, DeviceTensor t) {
  KILN_ASSERT(t.dtype == output_dtype(i) && t.dims == output_dims(i));
  outputs.at(i) = std::move(t);
}

void CudaKernelContext::require_dtype(size_t i, std::initializer_list<DType> allowed) const {
  DType dt = input(i).dtype;
  for (DType a : allowed)
    if (a == dt) return;
  unsupported(std::string("input ") + std::to_string(i) + " of type " + dtype_name(dt) +
              " has no CUDA kernel (run with --device cpu)");
}

}  // namespace kiln
