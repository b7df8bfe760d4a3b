#include "ops/registry.h"

namespace kiln {

const OpRegistry& OpRegistry::instance() { return built(); }

OpRegistry& OpRegistry::built() {
  static OpRegistry registry;
  static std::once_flag once;
  std::call_once(once, [] {
    OpRegistry& r = registry;
    register_elementwise_ops(r);  // unary/binary math, comparisons, logic, Where, Cast, Clip
    register_tensor_ops(r);       // shape and data movement: Reshape, Slice, Gather, Concat, Pad...
    register_reduce_ops(r);       // Reduce*, ArgMax/Min, Softmax, TopK, CumSum
    register_norm_ops(r);         // LayerNorm, InstanceNorm, BatchNorm, GroupNorm
    register_linear_ops(r);       // MatMul, Gemm, Einsum
    register_conv_ops(r);         // Conv, ConvTranspose, pools
    register_spatial_ops(r);      // Resize, GridSample
    register_attention_ops(r);    // kiln.Attention (fused by passes/fuse_attention)
    register_quantize_ops(r);     // Quantize/DequantizeLinear, integer and QLinear MatMul/Conv
  });
  return registry;
}

const OpSchema* OpRegistry::find(const std::string& domain, const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = ops_.find({domain == "ai.onnx" ? "" : domain, name});
  return it == ops_.end() ? nullptr : &it->second;
}

std::vector<const OpSchema*> OpRegistry::all() const {
  std::lock_guard lock(mutex_);
  std::vector<const OpSchema*> out;
  for (const auto& [key, schema] : ops_) out.push_back(&schema);
  return out;
}

void OpRegistry::add(OpSchema schema) {
  KILN_ASSERT(schema.infer && schema.cpu);
  auto key = std::make_pair(schema.domain, schema.name);
  bool inserted = ops_.emplace(key, std::move(schema)).second;
  if (!inserted) fail(ErrorCode::kInternal, "internal error: op " + key.second + " registered twice");
}

void OpRegistry::add_external(OpSchema schema, const std::string& source) {
  KILN_ASSERT(schema.infer && schema.cpu);
  OpRegistry& r = built();
  std::lock_guard lock(r.mutex_);
  std::string domain = schema.domain == "ai.onnx" ? "" : schema.domain;
  std::string shown = domain.empty() ? schema.name : domain + "." + schema.name;
  schema.domain = domain;
  auto key = std::make_pair(domain, schema.name);
  if (!r.ops_.emplace(key, std::move(schema)).second)
    fail(ErrorCode::kInvalidArgument, source + ": op " + shown + " already exists in kiln (built in or from another plugin)");
}

void OpRegistry::set_cuda(const std::string& name, CudaKernelFn fn, const std::string& domain) {
  auto it = ops_.find({domain, name});
  if (it == ops_.end()) fail(ErrorCode::kInternal, "internal error: CUDA kernel for unknown op " + name);
  if (it->second.cuda) fail(ErrorCode::kInternal, "internal error: op " + name + " has two CUDA kernels");
  it->second.cuda = fn;
}

}  // namespace kiln
