// The one op registry: every op kiln knows, by (domain, name).
#pragma once
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ops/op.h"

namespace kiln {

class OpRegistry {
 public:
  static const OpRegistry& instance();

  // nullptr when kiln has no such op.
  const OpSchema* find(const std::string& domain, const std::string& name) const;
  std::vector<const OpSchema*> all() const;

  void add(OpSchema schema);  // a duplicate (domain, name) is an internal error
  // Adds an op after the built-in table was made (plugins, src/ops/plugin/). A (domain, name)
  // that already exists is refused (kInvalidArgument) with `source` naming who tried.
  // Safe against concurrent find/all: schemas live in a std::map, so pointers stay valid.
  static void add_external(OpSchema schema, const std::string& source);
  // Attaches the CUDA kernel of an op already added (default domain unless given); an unknown
  // op or a second kernel is an internal error.
  void set_cuda(const std::string& name, CudaKernelFn fn, const std::string& domain = "");

 private:
  static OpRegistry& built();
  mutable std::mutex mutex_;  // guards ops_ once plugins may add to it
  std::map<std::pair<std::string, std::string>, OpSchema> ops_;
};

// Op families, one folder each under src/ops/. Each adds its ops to the registry.
void register_elementwise_ops(OpRegistry& r);
void register_tensor_ops(OpRegistry& r);
void register_reduce_ops(OpRegistry& r);
void register_norm_ops(OpRegistry& r);
void register_linear_ops(OpRegistry& r);
void register_conv_ops(OpRegistry& r);
void register_spatial_ops(OpRegistry& r);
void register_attention_ops(OpRegistry& r);
void register_quantize_ops(OpRegistry& r);

}  // namespace kiln
