#include "ops/plugin/plugin_ops.h"

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <variant>

#include "ops/registry.h"

namespace kiln {
namespace {

std::string normalize_domain(const std::string& d) { return d == "ai.onnx" ? "" : d; }
std::string op_label(const std::string& domain, const std::string& name) {
  return domain.empty() ? name : domain + "." + name;
}

struct PluginTable {
  std::mutex mutex;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<PluginOp>> ops;
};
PluginTable& table() {
  static PluginTable t;
  return t;
}

// ---- the C context's callbacks: never throw across the C boundary ----
const Attributes& attrs_of(const kiln_context* c) { return static_cast<const PluginCall*>(c->impl)->node.attrs; }

int attr_float(const kiln_context* c, const char* name, float* value) {
  const Attributes& a = attrs_of(c);
  if (!name || !value || !a.has(name)) return 0;
  const auto& v = a.all().at(name);
  if (auto* f = std::get_if<float>(&v)) *value = *f;
  else if (auto* i = std::get_if<int64_t>(&v)) *value = float(*i);
  else return 0;
  return 1;
}

int attr_int(const kiln_context* c, const char* name, int64_t* value) {
  const Attributes& a = attrs_of(c);
  if (!name || !value || !a.has(name)) return 0;
  auto* i = std::get_if<int64_t>(&a.all().at(name));
  if (!i) return 0;
  *value = *i;
  return 1;
}

void report_error(const kiln_context* c, const char* message) {
  auto* call = const_cast<PluginCall*>(static_cast<const PluginCall*>(c->impl));
  call->error = message ? message : "";
}

const PluginOp& op_for(const OpContextBase& ctx) {
  const PluginOp* op = find_plugin_op(ctx.node.domain, ctx.node.op_type);
  KILN_ASSERT(op);
  return *op;
}

DType dtype_from_code(int32_t code, const OpContextBase& ctx, const PluginOp& op) {
  switch (code) {
    case KILN_FLOAT32: case KILN_UINT8: case KILN_INT8: case KILN_INT32: case KILN_INT64:
    case KILN_BOOL: case KILN_FLOAT16: case KILN_FLOAT64: case KILN_BFLOAT16:
      return dtype_from_onnx(code);
  }
  ctx.unsupported("plugin " + op.library + " returned element type code " + std::to_string(code) +
                  ", which kiln does not have");
}

kiln_value_type value_type_of(const ValueType* t, const OpContextBase& ctx) {
  kiln_value_type v{};
  v.rank = -1;
  if (!t) return v;  // omitted optional input: dtype 0, rank unknown
  v.dtype = dtype_to_onnx(t->dtype);
  if (!t->shape) return v;
  if (t->shape->size() > KILN_MAX_RANK)
    ctx.unsupported("rank " + std::to_string(t->shape->size()) + " is beyond the plugin ABI's " +
                    std::to_string(KILN_MAX_RANK));
  v.rank = int32_t(t->shape->size());
  for (size_t d = 0; d < t->shape->size(); ++d) v.dims[d] = (*t->shape)[d].known() ? (*t->shape)[d].value : -1;
  return v;
}

// Calls the plugin's infer; the raw C results.
std::vector<kiln_value_type> call_infer(const PluginOp& op, const OpContextBase& ctx,
                                        const std::vector<kiln_value_type>& inputs) {
  if (ctx.opset() < op.version)
    ctx.unsupported("the model imports domain '" + op.domain + "' at version " + std::to_string(ctx.opset()) +
                    "; the plugin's op needs version " + std::to_string(op.version));
  std::vector<kiln_value_type> outputs(ctx.node.outputs.size());
  for (auto& o : outputs) o.rank = -1;
  PluginCall call(ctx.node);
  if (op.desc.infer(&call.ctx, inputs.data(), int32_t(inputs.size()), outputs.data(), int32_t(outputs.size())))
    call.failed(ctx, "infer");
  for (const auto& o : outputs)
    if (o.rank < -1 || o.rank > KILN_MAX_RANK)
      ctx.unsupported("plugin " + op.library + " inferred rank " + std::to_string(o.rank));
  return outputs;
}

std::vector<ValueType> plugin_infer(const InferContext& ctx) {
  const PluginOp& op = op_for(ctx);
  std::vector<kiln_value_type> inputs;
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    inputs.push_back(value_type_of(ctx.has_input(i) ? &ctx.type(i) : nullptr, ctx));
  std::vector<ValueType> out;
  for (const auto& o : call_infer(op, ctx, inputs)) {
    ValueType t;
    t.dtype = dtype_from_code(o.dtype, ctx, op);
    if (o.rank >= 0) {
      Shape s;
      for (int d = 0; d < o.rank; ++d) s.push_back(o.dims[d] >= 0 ? Dim(o.dims[d]) : Dim());
      t.shape = s;
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Tensor> plugin_cpu(const KernelContext& ctx) {
  const PluginOp& op = op_for(ctx);
  std::vector<kiln_value_type> types;
  std::vector<kiln_tensor> in;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* t = ctx.has_input(i) ? &ctx.input(i) : nullptr;
    types.push_back(t ? plugin_value_type(t->dtype(), t->dims()) : kiln_value_type{0, -1, {}});
    in.push_back(t ? kiln_tensor{dtype_to_onnx(t->dtype()), t->rank(), t->dims().data(), const_cast<void*>(t->raw())}
                   : kiln_tensor{0, 0, nullptr, nullptr});
  }
  std::vector<Tensor> outputs;
  std::vector<kiln_tensor> out;
  for (auto& [dtype, dims] : plugin_output_types(op, ctx, types)) outputs.emplace_back(dtype, dims);
  for (auto& t : outputs) out.push_back({dtype_to_onnx(t.dtype()), t.rank(), t.dims().data(), t.raw()});
  PluginCall call(ctx.node);
  std::vector<std::byte> workspace(op.desc.workspace_size
                                       ? op.desc.workspace_size(&call.ctx, in.data(), int32_t(in.size()))
                                       : 0);
  if (op.desc.cpu(&call.ctx, in.data(), int32_t(in.size()), out.data(), int32_t(out.size()),
                  workspace.empty() ? nullptr : workspace.data()))
    call.failed(ctx, "cpu kernel");
  return outputs;
}

// ---- registration ----
struct Pending {
  std::string library;
  std::vector<std::unique_ptr<PluginOp>> ops;
  std::string error;
};

std::string check_descriptor(const kiln_op_descriptor* d) {
  if (!d) return "add_op was given no descriptor";
  if (d->abi_version != KILN_OP_ABI_VERSION)
    return "built for kiln op ABI version " + std::to_string(d->abi_version) + "; this kiln speaks version " +
           std::to_string(KILN_OP_ABI_VERSION) + " (rebuild the plugin against this kiln's include/kiln/op.h)";
  if (!d->name || !*d->name) return "an op without a name";
  std::string name = d->name;
  if (!d->domain) return "op " + name + " has no domain (use \"\" for the default domain)";
  if (!d->infer || !d->cpu) return "op " + name + " lacks an infer function or a cpu kernel";
  if (d->min_inputs < 0 || (d->max_inputs >= 0 && d->max_inputs < d->min_inputs) || d->min_outputs < 1 ||
      d->max_outputs < d->min_outputs)
    return "op " + name + " has an impossible input/output count range";
  if (d->since_version < 1) return "op " + name + " has since_version " + std::to_string(d->since_version);
  return "";
}

int add_op(kiln_registrar* r, const kiln_op_descriptor* d) {
  auto* p = static_cast<Pending*>(r->impl);
  if (!p->error.empty()) return 1;
  p->error = check_descriptor(d);
  if (!p->error.empty()) return 1;
  auto op = std::make_unique<PluginOp>();
  op->library = p->library;
  op->domain = normalize_domain(d->domain);
  op->name = d->name;
  op->version = d->since_version;
  op->desc = *d;
  p->ops.push_back(std::move(op));
  return 0;
}

void registrar_error(kiln_registrar* r, const char* message) {
  auto* p = static_cast<Pending*>(r->impl);
  if (p->error.empty()) p->error = message && *message ? message : "registration failed";
}

}  // namespace

PluginCall::PluginCall(const Node& n) : node(n) {
  ctx.impl = this;
  ctx.opset = n.opset;
  ctx.attr_float = attr_float;
  ctx.attr_int = attr_int;
  ctx.error = report_error;
}

void PluginCall::failed(const OpContextBase& op, const char* what) const {
  op.unsupported(error.empty() ? std::string("plugin ") + what + " failed without saying why" : error);
}

kiln_value_type plugin_value_type(DType dtype, const Dims& dims) {
  kiln_value_type v{};
  v.dtype = dtype_to_onnx(dtype);
  v.rank = int32_t(dims.size());
  KILN_ASSERT(dims.size() <= KILN_MAX_RANK);
  for (size_t d = 0; d < dims.size(); ++d) v.dims[d] = dims[d];
  return v;
}

std::vector<std::pair<DType, Dims>> plugin_output_types(const PluginOp& op, const OpContextBase& ctx,
                                                        const std::vector<kiln_value_type>& inputs) {
  for (const auto& v : inputs)
    if (v.rank > KILN_MAX_RANK) ctx.unsupported("rank beyond the plugin ABI's " + std::to_string(KILN_MAX_RANK));
  std::vector<std::pair<DType, Dims>> out;
  for (const auto& o : call_infer(op, ctx, inputs)) {
    DType dt = dtype_from_code(o.dtype, ctx, op);
    if (o.rank < 0) ctx.unsupported("plugin " + op.library + " left an output's rank unknown for known inputs");
    Dims dims(o.dims, o.dims + o.rank);
    for (int64_t d : dims)
      if (d < 0) ctx.unsupported("plugin " + op.library + " left an output dim unknown for known inputs");
    out.emplace_back(dt, std::move(dims));
  }
  return out;
}

const PluginOp* find_plugin_op(const std::string& domain, const std::string& name) {
  PluginTable& t = table();
  std::lock_guard lock(t.mutex);
  auto it = t.ops.find({normalize_domain(domain), name});
  return it == t.ops.end() ? nullptr : it->second.get();
}

void register_plugin_ops(kiln_register_ops_fn entry, const std::string& library) {
  Pending pending{library, {}, ""};
  kiln_registrar r{KILN_OP_ABI_VERSION, &pending, add_op, registrar_error};
  int rc = entry(&r);
  if (!pending.error.empty()) fail(ErrorCode::kInvalidArgument, "plugin " + library + ": " + pending.error);
  if (rc != 0) fail(ErrorCode::kInvalidArgument, "plugin " + library + ": kiln_register_ops failed (returned " +
                                                     std::to_string(rc) + ")");
  if (pending.ops.empty()) fail(ErrorCode::kInvalidArgument, "plugin " + library + " registers no ops");
  // All or none: every name must be new, to kiln and within the library.
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& op : pending.ops)
    if (OpRegistry::instance().find(op->domain, op->name) || !seen.insert({op->domain, op->name}).second)
      fail(ErrorCode::kInvalidArgument, "plugin " + library + ": op " + op_label(op->domain, op->name) +
                                            " already exists in kiln (built in or from another plugin)");
  PluginTable& t = table();
  for (auto& op : pending.ops) {
    op->desc.domain = op->domain.c_str();
    op->desc.name = op->name.c_str();
    OpSchema s;
    s.domain = op->domain;
    s.name = op->name;
    s.min_inputs = op->desc.min_inputs;
    s.max_inputs = op->desc.max_inputs;
    s.min_outputs = op->desc.min_outputs;
    s.max_outputs = op->desc.max_outputs;
    s.infer = plugin_infer;
    s.cpu = plugin_cpu;
#ifdef KILN_WITH_CUDA
    if (op->desc.cuda) s.cuda = plugin_cuda_kernel;
#endif
    {
      std::lock_guard lock(t.mutex);
      t.ops[{op->domain, op->name}] = std::move(op);
    }
    OpRegistry::add_external(std::move(s), "plugin " + library);
  }
}

}  // namespace kiln
