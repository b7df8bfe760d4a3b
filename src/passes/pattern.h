// What every fusion pass needs to match a subgraph and replace it: who produces and who
// consumes each value, whether an intermediate may disappear (one consumer, not a graph
// output), and reads of small constants. A pass builds a GraphIndex, collects its matches,
// rewrites, then calls finish_rewrite (dead-node removal + topological order).
//
// Pass convention (src/passes/fuse_*.cpp): a header comment with an ASCII drawing of what is
// matched, a `match()` that checks the semantics (axes, eps, dtypes, broadcast shapes) and
// returns nothing when they differ, and an `apply` that adds the fused node. The fused node
// takes the name of the last node it replaces, so messages and profiles stay recognizable.
#pragma once
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"

namespace kiln {

class GraphIndex {
 public:
  explicit GraphIndex(const Graph& g);

  // The node writing `value`, or nullptr for graph inputs and constants.
  const Node* producer(const std::string& value) const;
  // Nodes reading `value` (each once, however many of its inputs name it).
  const std::vector<const Node*>& consumers(const std::string& value) const;
  // True when `value` feeds exactly `node` and is not a graph output: a fusion may absorb it.
  bool used_only_by(const std::string& value, const Node& node) const;
  // The single consumer of `value` when it has exactly one and is not a graph output.
  const Node* sole_consumer(const std::string& value) const;
  // True when every reader of `value` is one of `nodes` and it is not a graph output: a chain of
  // those nodes may absorb it.
  bool used_only_within(const std::string& value, const std::vector<const Node*>& nodes) const;
  bool is_graph_output(const std::string& value) const;

 private:
  const Graph& g_;
  std::unordered_map<std::string, const Node*> producer_;
  std::unordered_map<std::string, std::vector<const Node*>> consumers_;
  std::vector<const Node*> none_;
};

// The value's shape, or nullptr for an unknown value or shape.
const Shape* shape_of_value(const Graph& g, const std::string& value);
// Known and equal, or the same symbol: provably the same extent at run time.
bool same_dim(const Dim& a, const Dim& b);
// The value's dims when its shape is fully known, else nothing.
std::optional<Dims> static_dims(const Graph& g, const std::string& value);
// A new value named `base` (or base_1, base_2, ... when that is taken), with the type and, for
// a constant, the data given. Returns its name.
std::string add_value(Graph& g, const std::string& base, ValueType type, std::optional<Tensor> constant = std::nullopt);
// A new constant holding t, named as add_value names.
std::string add_constant(Graph& g, const std::string& base, Tensor t);

// A new node of ONNX's default domain at the graph's opset (13 when it declares none).
Node onnx_node(const Graph& g, const std::string& name, const char* op, std::vector<std::string> inputs,
               std::string output);
// A new node of kiln's own domain (version 1): the fused ops the passes put in.
Node kiln_node(const std::string& name, const char* op, std::vector<std::string> inputs, std::string output);
// `node` is `op` in the default ONNX domain.
bool is_op(const Node* node, const char* op);
// `node` is kiln's own `op` (domain kKilnDomain).
bool is_kiln_op(const Node* node, const char* op);
// A Transpose with perm (0, 2, 1): tokens [B, N, C] ↔ channels [B, C, N].
bool is_swap_last_two(const Node* node);
// A Conv that is a per-pixel matrix product: 2-D, 1x1 kernel, stride 1, no padding, group 1,
// constant W [Cout, C, 1, 1] and bias (if any), one output.
bool is_pointwise_conv(const Graph& g, const Node& conv);
// The activation a fused epilogue takes in place of `node` — "relu", "gelu" or "gelu_tanh" for a
// one-input Relu or Gelu (approximate none/tanh) — else "". FusedMatMul, DepthwiseConvNHWC and
// FusedConv spell it so in their `activation` attribute.
std::string fused_activation(const Node* node);
// The value has exactly these static dims and this dtype.
bool has_static_type(const Graph& g, const std::string& value, const Dims& dims, DType dtype);
// A kiln.FusedMatMul with one output, no activation and `inputs` inputs (3: a bias; 4: and a
// residual): a plain GEMM the float16 fusions (fuse_mix_ffn, fuse_attention_block) take in.
bool is_plain_fused_matmul(const Node* node, size_t inputs);
// A kiln.DepthwiseConvNHWC with bias, a 3x3 window, stride 1, dilation 1 and pads 1 on every side:
// SegFormer's MixFFN conv, which the MixFFN kernels compute (fuse_mix_ffn). Its activation is
// any.
bool is_same_3x3_dwconv(const Node* node);
// A LayerNormalization over the tokens' channels — axis -1, or 2 (callers check that X has rank
// 3) — with float statistics (stash_type 1) and no Mean/InvStdDev outputs, as the token kernels
// compute it; `with_bias`: B given (three inputs), else B optional.
bool is_token_layer_norm(const Node* node, bool with_bias);
// Same dtype and the same shape with every dim known or named: a and b have equal sizes at run
// time, so adding them needs no broadcasting (a residual, not a bias).
bool same_determined_type(const Graph& g, const std::string& a, const std::string& b);
// The value of a constant with exactly one element (any float or integer dtype), as a double.
std::optional<double> scalar_constant(const Graph& g, const std::string& value);
// A float constant whose every element is the same number (not NaN): that number.
std::optional<double> uniform_constant(const Graph& g, const std::string& value);
// A float constant whose every element is −inf (a masked_fill's fill).
bool is_minus_infinity(const Graph& g, const std::string& value);
// Input `slot` of n as integers when it is an int64/int32 constant (a Slice's starts, a shape).
std::optional<std::vector<int64_t>> constant_ints(const Graph& g, const Node& n, size_t slot);
// The axes of a Reduce*, Squeeze or Unsqueeze node: its constant second input (where the opset
// moved them there), else its `axes` attribute; nothing when absent or not constant.
std::optional<std::vector<int64_t>> axes_operand(const Graph& g, const Node& n);
// A new constant holding `value`'s static dims written out in full, for a Reshape to them
// (named `base`/shape); nothing when the dims are unknown or hold a 0, which a Reshape target
// would read as "copy".
std::optional<std::string> reshape_target(Graph& g, const std::string& base, const std::string& value);
// Every match in g: match(idx, node) (a std::optional) for each node in order, over one index
// of the graph as it is before any rewrite.
template <class MatchFn> auto collect_matches(const Graph& g, MatchFn&& match) {
  using M = typename std::invoke_result_t<MatchFn&, const GraphIndex&, const Node&>::value_type;
  const GraphIndex idx(g);
  std::vector<M> found;
  for (const Node& n : g.nodes)
    if (auto m = match(idx, n)) found.push_back(std::move(*m));
  return found;
}

// Restores topological order (fused nodes are appended) and drops nodes nothing reads any more.
void finish_rewrite(Graph& g);
// Claims a match's `nodes` unless an earlier match claimed one of them (true when claimed):
// matches that overlap, such as one chain seen from two of its nodes, rewrite once.
bool claim_nodes(std::set<const Node*>& claimed, const std::vector<const Node*>& nodes);
// Removes `removed` (nodes of g), appends `added`, then finish_rewrite: a pass's usual last step
// once the replaced nodes' outputs are written by the added ones. Declares the kiln domain's
// opset when an added node is in it; returns how many were added (what a fusion pass reports).
int replace_nodes(Graph& g, const std::set<const Node*>& removed, std::vector<Node> added);

}  // namespace kiln
