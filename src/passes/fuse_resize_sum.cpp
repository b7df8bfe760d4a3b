#include "passes/fuse_resize_sum.h"

#include <algorithm>
#include <optional>
#include <set>

#include "kiln/status.h"
#include "ops/op.h"
#include "ops/spatial/resize_plan.h"
#include "ops/spatial/resize_sum.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

// One summand: the tensor ResizeSum reads and how it reaches the output grid.
struct Leaf {
  std::string x;
  bool tokens = false;
  int64_t h = 0, w = 0;
  std::string coord = "half_pixel";
  float scale_h = 0.f, scale_w = 0.f;  // 0: from the sizes (ResizeSum's convention)
};

struct Match {
  std::vector<const Node*> nodes;  // every node replaced, the last one last
  std::vector<Leaf> leaves;
  int resized = 0;
  DType dtype = DType::kF32;
  Dims out;
};

std::optional<Tensor> nonempty_constant(const Graph& g, const Node& n, size_t slot) {
  if (!n.has_input(slot) || !g.is_constant(n.inputs[slot])) return std::nullopt;
  const Tensor& t = *g.value(n.inputs[slot]).constant;
  if (t.numel() == 0) return std::nullopt;  // "" or empty: the other of scales/sizes
  return t;
}

class Matcher {
 public:
  Matcher(const Graph& g, const GraphIndex& idx) : g_(g), idx_(idx) {}

  std::optional<Match> match(const Node& root) {
    if (!is_op(&root, "Add") || root.inputs.size() != 2 || root.outputs.size() != 1) return std::nullopt;
    const auto out = static_dims(g_, root.outputs[0]);
    if (!out || out->size() != 4) return std::nullopt;
    Match m;
    m.out = *out;
    m.dtype = g_.value(root.outputs[0]).type.dtype;
    if (m.dtype != DType::kF32 && m.dtype != DType::kF16) return std::nullopt;
    if (!collect(root, m)) return std::nullopt;
    if (m.resized == 0 || m.leaves.size() > size_t(spatial::kResizeSumMaxInputs)) return std::nullopt;
    m.nodes.push_back(&root);
    const Node* relu = idx_.sole_consumer(root.outputs[0]);
    if (is_op(relu, "Relu") && relu->outputs.size() == 1) m.nodes.push_back(relu);
    return m;
  }

 private:
  bool same_type(const std::string& v, const Match& m) const {
    // static_dims first: it refuses empty names and values the graph lacks.
    return static_dims(g_, v) == std::optional<Dims>(m.out) && g_.value(v).type.dtype == m.dtype;
  }

  // The Add's inputs: inner Adds recursively, the rest as leaves (left to right).
  bool collect(const Node& add, Match& m) {
    for (const std::string& v : add.inputs) {
      if (!same_type(v, m)) return false;
      const Node* p = idx_.producer(v);
      const bool absorbed = idx_.used_only_by(v, add);
      if (absorbed && is_op(p, "Add") && p->inputs.size() == 2 && p->outputs.size() == 1) {
        if (!collect(*p, m)) return false;
        m.nodes.push_back(p);
      } else if (absorbed && is_op(p, "Resize") && resize_leaf(*p, m)) {
        m.nodes.push_back(p);
      } else {
        Leaf leaf{v, false, m.out[2], m.out[3]};
        image_leaf(leaf, add, m);
        m.leaves.push_back(leaf);
      }
    }
    return true;
  }

  // A qualifying Resize (the header's list) into a leaf.
  bool resize_leaf(const Node& r, Match& m) {
    if (r.outputs.size() != 1 || r.inputs.empty()) return false;
    const auto in = static_dims(g_, r.inputs[0]);
    if (!in || in->size() != 4 || g_.value(r.inputs[0]).type.dtype != m.dtype) return false;
    const auto scales = nonempty_constant(g_, r, 2), sizes = nonempty_constant(g_, r, 3);
    if (scales.has_value() == sizes.has_value()) return false;  // both, neither, or not constant
    using namespace spatial;
    const OpContextBase ctx{r};
    ResizeAttrs a;
    std::vector<AxisPlan> plan;
    try {
      a = parse_resize_attrs(ctx);
      std::vector<double> s;
      std::vector<int64_t> z;
      if (scales) {
        if (!dtype_is_float(scales->dtype())) return false;
        for (int64_t i = 0; i < scales->numel(); ++i) s.push_back(scales->at_double(i));
      } else {
        if (sizes->dtype() != DType::kI64) return false;
        z = sizes->to_int64_vector();
      }
      plan = plan_resize(ctx, a, *in, scales ? &s : nullptr, sizes ? &z : nullptr, nullptr);
    } catch (const Error&) {
      return false;  // an invalid Resize is left for the executor to report
    }
    if (a.mode != ResizeMode::kLinear || a.antialias || a.exclude_outside || a.policy != AspectPolicy::kStretch ||
        a.coord == CoordMode::kTfCropAndResize)
      return false;
    for (int d = 0; d < 2; ++d)
      if (plan[size_t(d)].in != plan[size_t(d)].out || plan[size_t(d)].scale != 1.0) return false;
    if (plan[2].out != m.out[2] || plan[3].out != m.out[3] || plan[2].in < 1 || plan[3].in < 1) return false;
    Leaf leaf{r.inputs[0], false, plan[2].in, plan[3].in,
              r.attrs.get_string("coordinate_transformation_mode", "half_pixel")};
    if (scales) {
      // ResizeSum keeps scales as float attributes: only exact ones (a float32 tensor's are).
      leaf.scale_h = float(plan[2].scale), leaf.scale_w = float(plan[3].scale);
      if (double(leaf.scale_h) != plan[2].scale || double(leaf.scale_w) != plan[3].scale) return false;
    }
    image_leaf(leaf, r, m);
    m.leaves.push_back(leaf);
    ++m.resized;
    return true;
  }

  // Reads the leaf's image as tokens when it is Reshape(Transpose(0,2,1)(tokens)) read only by
  // `reader`; the two nodes join the match.
  void image_leaf(Leaf& leaf, const Node& reader, Match& m) {
    const Node* reshape = idx_.producer(leaf.x);
    if (!is_op(reshape, "Reshape") || !idx_.used_only_by(leaf.x, reader)) return;
    const Node* transpose = idx_.producer(reshape->inputs[0]);
    if (!is_swap_last_two(transpose) || !idx_.used_only_by(reshape->inputs[0], *reshape)) return;
    const auto tokens = static_dims(g_, transpose->inputs[0]), image = static_dims(g_, leaf.x);
    if (!tokens || !image || tokens->size() != 3 || image->size() != 4) return;
    const Dims& t = *tokens;
    const Dims& i = *image;
    if (i[0] != t[0] || i[1] != t[2] || i[2] * i[3] != t[1]) return;
    if (g_.value(transpose->inputs[0]).type.dtype != m.dtype) return;
    leaf.x = transpose->inputs[0];
    leaf.tokens = true;
    m.nodes.push_back(transpose);
    m.nodes.push_back(reshape);
  }

  const Graph& g_;
  const GraphIndex& idx_;
};

Node fused_node(const Match& m) {
  const Node& last = *m.nodes.back();
  Node n = kiln_node(last.name, spatial::kResizeSumOp, {}, last.outputs[0]);
  std::vector<std::string> layouts, modes;
  std::vector<int64_t> hs, ws;
  std::vector<float> scales;
  for (const Leaf& l : m.leaves) {
    n.inputs.push_back(l.x);
    layouts.push_back(l.tokens ? "tokens" : "nchw");
    modes.push_back(l.coord);
    hs.push_back(l.h), ws.push_back(l.w);
    scales.push_back(l.scale_h), scales.push_back(l.scale_w);
  }
  n.attrs.set("height", m.out[2]);
  n.attrs.set("width", m.out[3]);
  n.attrs.set("layouts", layouts);
  n.attrs.set("coordinate_transformation_modes", modes);
  n.attrs.set("input_heights", hs);
  n.attrs.set("input_widths", ws);
  n.attrs.set("scales", scales);
  n.attrs.set("activation", std::string(is_op(&last, "Relu") ? "relu" : "none"));
  return n;
}

}  // namespace

int fuse_resize_sum(Graph& g) {
  auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return Matcher(g, idx).match(n); });
  // Every Add of a tree matches its own subtree: the largest match claims the tree first.
  std::stable_sort(found.begin(), found.end(),
                   [](const Match& a, const Match& b) { return a.nodes.size() > b.nodes.size(); });
  std::set<const Node*> claimed;
  std::vector<Node> fused;
  for (const Match& m : found)
    if (claim_nodes(claimed, m.nodes)) fused.push_back(fused_node(m));
  if (fused.empty()) return 0;
  return replace_nodes(g, claimed, std::move(fused));
}

}  // namespace kiln
