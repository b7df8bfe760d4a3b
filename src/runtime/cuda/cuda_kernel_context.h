// What a CUDA kernel sees: the node (attributes, opset, messages), its device inputs, the graph
// values behind them (types; host data of constants such as Reshape's shape), the inferred
// output types, and the session (stream, cuBLASLt, cuDNN). A kernel fills `outputs`, either
// allocating (alloc_output) or aliasing an input (set_output). Under an execution plan,
// alloc_output hands out the output's slot of the activation arena and scratch() a piece of the
// node's scratch region, so a kernel never allocates after the plan's first run; state() keeps
// per-node data (tables, algorithms) across runs.
#pragma once
#include <memory>
#include <vector>

#include "ops/op.h"
#include "runtime/cuda/cuda_session.h"
#include "runtime/cuda/kernel_state.h"

namespace kiln {

struct CudaKernelContext : OpContextBase {
  CudaSession& session;
  std::vector<const DeviceTensor*> inputs;   // nullptr for an omitted optional input
  std::vector<const Value*> input_values;    // nullptr likewise
  std::vector<const ValueType*> output_types;
  std::vector<DeviceTensor> outputs;         // sized like output_types by the executor
  // Set by the executor: planned arena views per output (undefined: allocate), the node's
  // scratch region (undefined: allocate each scratch tensor), and the node's state slot.
  std::vector<DeviceTensor> planned_outputs;
  DeviceTensor scratch_region;
  std::unique_ptr<KernelState>* state_slot = nullptr;
  size_t scratch_used = 0;       // bytes handed out by scratch(), aligned
  std::vector<bool> allocated;   // per output: alloc_output made fresh memory for it
  // What ran, for `kiln profile` ("cuBLASLt", "cuDNN", "kiln", "kiln+cuBLASLt"); kernels whose
  // implementation depends on the problem set it, the rest are named by op.
  const char* library = nullptr;

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
  // A temporary that lives until the kernel returns (stream order keeps it safe).
  DeviceTensor scratch(DType dtype, Dims dims);
  // The node's state of type T, made (default-constructed) on first use; `fresh` tells whether
  // it was made by this call.
  template <class T> T& state(bool* fresh = nullptr) {
    KILN_ASSERT(state_slot);
    if (fresh) *fresh = !*state_slot;
    if (!*state_slot) *state_slot = std::make_unique<T>();
    T* s = dynamic_cast<T*>(state_slot->get());
    KILN_ASSERT(s);
    return *s;
  }
  CudaStream stream() const { return session.stream(); }
  // Throws kUnsupported unless input i's dtype is one of the list.
  void require_dtype(size_t i, std::initializer_list<DType> allowed) const;
};

}  // namespace kiln
