// What a kiln op is: a schema (name, domain, arity), shape/dtype inference, and a CPU
// reference kernel, and (in builds with the CUDA backend) a CUDA kernel. Ops are defined one
// family per folder under src/ops/ and listed in the single registry (registry.cpp); each
// family's register.cpp attaches its CUDA kernels (src/ops/<family>/*_cuda.cpp).
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln {

// The domain of kiln's own ops: fused kernels that passes put in the graph (fused attention,
// GEMM epilogues, ...) and ops a model may name directly (MSDeformAttn). Unlike plugin domains,
// kiln knows these kernels and their fp16 behaviour.
inline constexpr const char* kKilnDomain = "kiln";

// Shared by inference and kernels: node identity for messages.
struct OpContextBase {
  const Node& node;

  int opset() const { return node.opset; }
  const Attributes& attrs() const { return node.attrs; }
  // Throws code with "<Op> '<name>': <message>".
  [[noreturn]] void error(ErrorCode code, const std::string& message) const;
  [[noreturn]] void unsupported(const std::string& message) const {
    error(ErrorCode::kUnsupported, message);
  }
  [[noreturn]] void invalid(const std::string& message) const {
    error(ErrorCode::kInvalidModel, message);
  }
};

struct InferContext : OpContextBase {
  std::vector<const Value*> inputs;  // nullptr for an omitted optional input

  size_t num_inputs() const { return inputs.size(); }
  size_t num_outputs() const { return node.outputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  const ValueType& type(size_t i) const;
  DType dtype(size_t i) const { return type(i).dtype; }
  // The input's shape, or nullptr if its rank is unknown.
  const Shape* shape(size_t i) const;
  // The input's data when it is a constant, else nullptr.
  const Tensor* constant(size_t i) const;
  // Throws kUnsupported unless input i's dtype is in the list.
  void require_dtype(size_t i, std::initializer_list<DType> allowed) const;
};

struct KernelContext : OpContextBase {
  std::vector<const Tensor*> inputs;  // nullptr for an omitted optional input

  size_t num_inputs() const { return inputs.size(); }
  size_t num_outputs() const { return node.outputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  const Tensor& input(size_t i) const;
};

using InferFn = std::vector<ValueType> (*)(const InferContext&);
using CpuKernelFn = std::vector<Tensor> (*)(const KernelContext&);
// Defined in runtime/cuda/cuda_kernel_context.h: device inputs, outputs, stream, handles.
struct CudaKernelContext;
using CudaKernelFn = void (*)(CudaKernelContext&);

struct OpSchema {
  std::string domain;  // "" for ONNX's default domain
  std::string name;
  int min_inputs = 1;
  int max_inputs = 1;  // -1: variadic
  int min_outputs = 1;
  int max_outputs = 1;
  InferFn infer = nullptr;
  CpuKernelFn cpu = nullptr;
  // The CUDA kernel; nullptr when the op has none (running it on the GPU is then an error).
  CudaKernelFn cuda = nullptr;
  // Nondeterministic ops (random generators) must never be constant-folded.
  bool deterministic = true;
};

}  // namespace kiln
