// What a CUDA kernel sees: the node (attributes, opset, messages), its device inputs, the graph
// values behind them (types; host data of constants such as Reshape's shape), the inferred
// output types, and the session (stream, cuBLASLt, cuDNN). A kernel fills `outputs`, either
// allocating (alloc_output) or aliasing an input (set_output).
#pragma once
#include <vector>

#include "ops/op.h"
#include "runtime/cuda/cuda_session.h"

namespace kiln {

struct CudaKernelContext : OpContextBase {
  CudaSession& session;
  std::vector<const DeviceTensor*> inputs;   // nullptr for an omitted optional input
  std::vector<const Value*> input_values;    // nullptr likewise
  std::vector<const ValueType*> output_types;
  std::vector<DeviceTensor> outputs;         // sized like output_types by the executor

  size_t num_inputs() const { return inputs.size(); }
  size_t num_outputs() const { return output_types.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  bool has_output(size_t i) const { return i < output_types.size() && output_types[i] != nullptr; }
  const DeviceTensor& input(size_t i) const;
  // The host data of input i when it is a graph constant, else nullptr.
  const Tensor* host_constant(size_t i) const;
  // Like host_constant, but a non-constant input is kUnsupported naming `what`.
  const Tensor& require_constant(size_t i, const char* what) const;
  Dims output_dims(size_t i) const;  // from inference (the executor checked they are known)
  DType output_dtype(size_t i) const { return output_types.at(i)->dtype; }
  DeviceTensor& alloc_output(size_t i);
  void set_output(size_t i, DeviceTensor t);
  CudaStream stream() const { return session.stream(); }
  // Throws kUnsupported unless input i's dtype is one of the list.
  void require_dtype(size_t i, std::initializer_list<DType> allowed) const;
};

}  // namespace kiln
