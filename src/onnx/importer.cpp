#include "onnx/importer.h"

#include <onnx.pb.h>

#include <filesystem>
#include <set>

#include "io/file_util.h"
#include "onnx/tensor_proto.h"
#include "ops/registry.h"

namespace kiln {
namespace {

[[noreturn]] void bad(const std::string& what, const std::string& why) {
  fail(ErrorCode::kInvalidModel, what + ": " + why);
}

ValueType type_from_proto(const onnx::ValueInfoProto& vi, const std::string& what) {
  if (!vi.type().has_tensor_type())
    fail(ErrorCode::kUnsupported, what + ": '" + vi.name() + "' is not a tensor (sequences, maps "
                                  "and optionals are not supported)");
  const auto& tt = vi.type().tensor_type();
  ValueType t;
  try {
    t.dtype = dtype_from_onnx(tt.elem_type());
  } catch (const Error& e) {
    fail(e.code(), what + ": '" + vi.name() + "': " + e.what());
  }
  if (tt.has_shape()) {
    Shape s;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) {
        if (d.dim_value() < 0)
          bad(what, "'" + vi.name() + "' has a negative dimension " + std::to_string(d.dim_value()) +
                        "; fix the model's input dims");
        s.push_back(Dim(d.dim_value()));
      } else if (d.has_dim_param() && !d.dim_param().empty()) {
        s.push_back(Dim::symbolic(d.dim_param()));
      } else {
        s.push_back(Dim());
      }
    }
    t.shape = s;
  }
  return t;
}

AttrValue attr_from_proto(const onnx::AttributeProto& a, const std::string& base_dir,
                          const std::string& what) {
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::INT: return a.i();
    case A::FLOAT: return a.f();
    case A::STRING: return a.s();
    case A::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case A::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
    case A::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case A::TENSOR: return tensor_from_proto(a.t(), base_dir, what + " attribute '" + a.name() + "'");
    default: break;
  }
  fail(ErrorCode::kUnsupported, what + ": attribute '" + a.name() +
                                    "' has a type kiln does not support (graphs, sparse tensors, "
                                    "type protos)");
}

// A Constant node's value attribute in whichever of its forms it comes.
Tensor constant_value(const Node& n) {
  const Attributes& a = n.attrs;
  if (a.has("value")) return a.get_tensor("value");
  if (a.has("value_float")) return Tensor::scalar<float>(a.get_float("value_float"));
  if (a.has("value_int")) return Tensor::scalar<int64_t>(a.get_int("value_int"));
  if (a.has("value_floats")) {
    auto v = a.get_floats("value_floats");
    return Tensor::from_vector<float>({int64_t(v.size())}, v);
  }
  if (a.has("value_ints")) {
    auto v = a.get_ints("value_ints");
    return Tensor::from_vector<int64_t>({int64_t(v.size())}, v);
  }
  fail(ErrorCode::kUnsupported, n.describe() + ": only tensor, float(s) and int(s) constants are supported");
}

}  // namespace

Graph import_onnx_bytes(const std::string& bytes, const std::string& base_dir,
                        const std::string& what, const ImportOptions& options) {
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes))
    fail(ErrorCode::kInvalidModel, what + " is not a valid ONNX model (protobuf parsing failed; "
                                          "is the file truncated or of another format?)");
  if (!model.has_graph() || model.graph().output_size() == 0)
    fail(ErrorCode::kInvalidModel, what + " is not a valid ONNX model (no graph or no outputs)");

  Graph g;
  const auto& gp = model.graph();
  g.name = gp.name();
  for (const auto& op : model.opset_import()) {
    std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
    g.opsets[domain] = int(op.version());
  }
  if (!g.opsets.count("")) g.opsets[""] = model.ir_version() >= 3 ? 0 : 1;
  int opset = g.opsets[""];
  if (opset < kMinOpset || opset > kMaxOpset)
    fail(ErrorCode::kUnsupported, what + " uses ONNX opset " + std::to_string(opset) +
                                      "; kiln supports opsets " + std::to_string(kMinOpset) + "-" +
                                      std::to_string(kMaxOpset) +
                                      " (re-export with opset_version=17)");

  for (const auto& init : gp.initializer()) {
    if (init.name().empty()) bad(what, "an initializer has no name");
    Value v{init.name(), {}, tensor_from_proto(init, base_dir, "initializer '" + init.name() + "'")};
    v.type = {v.constant->dtype(), shape_of(v.constant->dims())};
    if (!g.values.emplace(init.name(), std::move(v)).second)
      bad(what, "initializer '" + init.name() + "' is defined twice");
  }
  if (gp.sparse_initializer_size())
    fail(ErrorCode::kUnsupported, what + ": sparse initializers are not supported");

  std::set<std::string> shaped;
  for (const auto& in : gp.input()) {
    if (g.values.count(in.name())) continue;  // an initializer listed as input: a constant
    if (in.name().empty()) bad(what, "a graph input has no name");
    ValueType t = type_from_proto(in, "graph input");
    // Refused before any input is made for it: allocating one would only end in "out of memory".
    if (t.shape && exceeds_tensor_limit(t.dtype, *t.shape))
      bad(what, "graph input '" + in.name() + "' declares shape " + shape_to_string(*t.shape) + " of " +
                    dtype_name(t.dtype) + ", more than kiln's 1 TiB limit for one tensor; " +
                    "fix the model's input dims");
    auto it = options.input_shapes.find(in.name());
    if (it != options.input_shapes.end()) {
      const Dims& given = it->second;
      if (t.shape && t.shape->size() != given.size())
        fail(ErrorCode::kInvalidArgument, "input '" + in.name() + "' has rank " +
                                              std::to_string(t.shape->size()) + " (" +
                                              shape_to_string(*t.shape) + "), got shape " +
                                              dims_to_string(given));
      if (t.shape)
        for (size_t i = 0; i < given.size(); ++i)
          if ((*t.shape)[i].known() && (*t.shape)[i].value != given[i])
            fail(ErrorCode::kInvalidArgument, "input '" + in.name() + "' has shape " +
                                                  shape_to_string(*t.shape) + ", got " +
                                                  dims_to_string(given));
      t.shape = shape_of(given);
      check_shape_flag_size(in.name(), given, t.dtype);
      shaped.insert(in.name());
    }
    g.values[in.name()] = Value{in.name(), t, std::nullopt};
    g.inputs.push_back(in.name());
  }
  for (const auto& [name, dims] : options.input_shapes)
    if (!shaped.count(name))
      fail(ErrorCode::kInvalidArgument, "the model has no input named '" + name + "'");

  const OpRegistry& registry = OpRegistry::instance();
  int index = 0;
  for (const auto& np : gp.node()) {
    Node n;
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.name = np.name().empty() ? n.op_type + "_" + std::to_string(index) : np.name();
    ++index;
    ++g.source_ops[n.domain.empty() ? n.op_type : n.domain + "." + n.op_type];
    auto opset_it = g.opsets.find(n.domain);
    n.opset = opset_it == g.opsets.end() ? 0 : opset_it->second;
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& a : np.attribute()) {
      if (!a.ref_attr_name().empty()) bad(what, n.describe() + " references a function attribute");
      n.attrs.set(a.name(), attr_from_proto(a, base_dir, n.describe()));
    }
    if (n.op_type == "Constant" && n.domain.empty()) {
      if (n.outputs.size() != 1 || n.outputs[0].empty()) bad(what, n.describe() + " needs one output");
      Tensor t = constant_value(n);
      if (g.values.count(n.outputs[0])) bad(what, "value '" + n.outputs[0] + "' is defined twice");
      g.values[n.outputs[0]] = Value{n.outputs[0], {t.dtype(), shape_of(t.dims())}, t};
      continue;
    }
    const OpSchema* schema = registry.find(n.domain, n.op_type);
    if (!schema)
      fail(ErrorCode::kUnsupported,
           "unsupported op '" + (n.domain.empty() ? n.op_type : n.domain + "." + n.op_type) +
               "' (node '" + n.name + "', opset " + std::to_string(n.opset) +
               "); `kiln inspect` lists the model's ops, the README lists kiln's" +
               (n.domain.empty() || n.domain == "ai.onnx" ? "" : "; for a custom op, pass --plugin LIBRARY.so"));
    int ni = int(n.inputs.size()), no = int(n.outputs.size());
    if (ni < schema->min_inputs || (schema->max_inputs >= 0 && ni > schema->max_inputs))
      bad(what, n.describe() + " has " + std::to_string(ni) + " inputs, which " + n.op_type +
                    " does not accept");
    if (no < schema->min_outputs || (schema->max_outputs >= 0 && no > schema->max_outputs))
      bad(what, n.describe() + " has " + std::to_string(no) + " outputs, which " + n.op_type +
                    " does not accept");
    for (const std::string& out : n.outputs) {
      if (out.empty()) continue;
      if (g.values.count(out)) bad(what, "value '" + out + "' is defined twice (node " + n.describe() + ")");
      g.values[out] = Value{out, {}, std::nullopt};
    }
    g.nodes.push_back(std::move(n));
  }
  for (const auto& out : gp.output()) {
    if (!g.values.count(out.name()))
      bad(what, "graph output '" + out.name() + "' is never produced");
    g.outputs.push_back(out.name());
  }
  g.sort_topologically();
  return g;
}

Graph import_onnx_file(const std::string& path, const ImportOptions& options) {
  std::string bytes = read_file(path, uint64_t(1) << 31);  // protobuf's own 2 GiB limit
  std::string dir = std::filesystem::path(path).parent_path().string();
  return import_onnx_bytes(bytes, dir.empty() ? "." : dir, path, options);
}

}  // namespace kiln
