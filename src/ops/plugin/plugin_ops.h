// Ops from shared libraries written against the C ABI (include/kiln/op.h). Each plugin op is
// an ordinary OpSchema in the one OpRegistry whose infer/cpu/cuda functions forward to the
// library's C callbacks; this file keeps the C descriptors they forward to.
#pragma once
#include <string>
#include <vector>

#include "kiln/op.h"
#include "ops/op.h"

namespace kiln {

struct PluginOp {
  std::string library;  // path of the library (or the name of an in-process registration)
  std::string domain;   // "" for the default domain
  std::string name;
  int version = 1;          // the descriptor's since_version
  kiln_op_descriptor desc;  // its string fields point into domain/name above
};

// The plugin op registered under (domain, name); nullptr for built-in and unknown ops.
const PluginOp* find_plugin_op(const std::string& domain, const std::string& name);

// Runs `entry` (a library's kiln_register_ops, or an in-process one) and adds its ops to the
// registry, all or none. `library` names the source in errors (kInvalidArgument): a wrong ABI
// version, a bad descriptor, a name that exists already, the entry point refusing.
void register_plugin_ops(kiln_register_ops_fn entry, const std::string& library);

// dlopen(path), then register_plugin_ops with its kiln_register_ops. A missing or unloadable
// file or a missing entry point is kInvalidArgument naming the library. Libraries stay loaded.
void load_plugin(const std::string& path);
void load_plugins(const std::vector<std::string>& paths);

// The C context a plugin callback sees, filled from a node; collects the callback's error.
struct PluginCall {
  const Node& node;
  std::string error;
  kiln_context ctx;

  explicit PluginCall(const Node& node);
  PluginCall(const PluginCall&) = delete;
  PluginCall& operator=(const PluginCall&) = delete;
  // After a nonzero return from `what`: throws kUnsupported "<Op> '<node>': message".
  [[noreturn]] void failed(const OpContextBase& op, const char* what) const;
};

// Plugin output types for concrete input types (run time): every dim must come back known.
std::vector<std::pair<DType, Dims>> plugin_output_types(const PluginOp& op, const OpContextBase& ctx,
                                                        const std::vector<kiln_value_type>& inputs);
kiln_value_type plugin_value_type(DType dtype, const Dims& dims);

#ifdef KILN_WITH_CUDA
void plugin_cuda_kernel(CudaKernelContext& ctx);  // plugin_cuda.cpp
#endif

}  // namespace kiln
