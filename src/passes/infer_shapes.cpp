#include "passes/infer_shapes.h"

#include "ops/registry.h"

namespace kiln {

const OpSchema& infer_node(Graph& g, const Node& node) {
  const OpSchema* schema = OpRegistry::instance().find(node.domain, node.op_type);
  KILN_ASSERT(schema);  // the importer resolved every op
  InferContext ctx{{node}, {}};
  for (const auto& in : node.inputs) ctx.inputs.push_back(in.empty() ? nullptr : &g.value(in));
  std::vector<ValueType> types;
  try {
    types = schema->infer(ctx);
  } catch (const Error& e) {  // attribute accessors do not know the node: name it here
    std::string msg = e.what();
    if (msg.rfind(node.describe(), 0) != 0) fail(e.code(), node.describe() + ": " + msg);
    throw;
  }
  if (types.size() < node.outputs.size())
    fail(ErrorCode::kInternal, "internal error: " + node.describe() + " inferred " +
                                   std::to_string(types.size()) + " outputs for " +
                                   std::to_string(node.outputs.size()));
  for (size_t i = 0; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty()) g.value(node.outputs[i]).type = types[i];
  return *schema;
}

void infer_shapes(Graph& g) {
  for (const Node& n : g.nodes) infer_node(g, n);
}

}  // namespace kiln
