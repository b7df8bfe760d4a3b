#include "passes/fuse_ms_deform_attn.h"

#include <optional>
#include <set>

#include "ops/op.h"
#include "ops/spatial/ms_deform_attn.h"
#include "passes/pattern.h"

namespace kiln {
namespace {

struct Level {
  int64_t start = 0, height = 0, width = 0;
};

struct Match {
  std::vector<const Node*> nodes;  // every node replaced, the tail Transpose last
  std::string value, locations, weights;
  std::vector<Level> levels;
};

bool is_float16_or_32(DType dt) { return dt == DType::kF32 || dt == DType::kF16; }

// Reshape, Flatten, Squeeze, Unsqueeze: a new shape over the same row-major order.
bool is_view(const Node* n) {
  return (is_op(n, "Reshape") || is_op(n, "Flatten") || is_op(n, "Squeeze") || is_op(n, "Unsqueeze")) &&
         !n->inputs.empty() && n->outputs.size() == 1;
}

bool is_transpose(const Node* n, const std::vector<int64_t>& perm) {
  return is_op(n, "Transpose") && n->outputs.size() == 1 && n->attrs.get_ints("perm", {}) == perm;
}

class Matcher {
 public:
  Matcher(const Graph& g, const GraphIndex& idx) : g_(g), idx_(idx) {}

  std::optional<Match> match(const Node& root) {
    if (!reduce_last_axis(root)) return std::nullopt;
    const auto x = static_dims(g_, root.inputs[0]);
    if (!x || x->size() != 4) return std::nullopt;
    const Node* mul = producer_for(root.inputs[0], root);
    if (!is_op(mul, "Mul") || mul->inputs.size() != 2) return std::nullopt;
    Match m;
    for (int order = 0; order < 2; ++order) {
      m = Match{};
      if (weights(mul->inputs[size_t(1 - order)], *mul, *x, m) && samples(mul->inputs[size_t(order)], *mul, *x, m))
        break;
      m.weights.clear();
    }
    if (m.weights.empty() || m.levels.empty()) return std::nullopt;
    m.nodes.push_back(mul);
    m.nodes.push_back(&root);
    if (!tail(root, m)) return std::nullopt;
    return m;
  }

 private:
  // The producer of `v` when `reader` alone reads it (and it is no graph output).
  const Node* producer_for(const std::string& v, const Node& reader) const {
    return idx_.used_only_by(v, reader) ? idx_.producer(v) : nullptr;
  }

  Dims dims(const std::string& v) const { return static_dims(g_, v).value_or(Dims{}); }

  // ReduceSum over the last axis only, keepdims 0.
  bool reduce_last_axis(const Node& n) const {
    if (!is_op(&n, "ReduceSum") || n.outputs.size() != 1 || n.attrs.get_int("keepdims", 1) != 0) return false;
    const auto axes = constant_ints(g_, n, 1);
    return axes && axes->size() == 1 && ((*axes)[0] == -1 || (*axes)[0] == 3);
  }

  // a [B·H, 1, Q, L·P] = Reshape(Transpose(0,2,1,3,4)(W [B, Q, H, L, P])).
  bool weights(const std::string& a, const Node& mul, const Dims& x, Match& m) {
    const Node* view = producer_for(a, mul);
    if (!is_view(view)) return false;
    const Node* t = producer_for(view->inputs[0], *view);
    if (!is_transpose(t, {0, 2, 1, 3, 4})) return false;
    const Dims w = dims(t->inputs[0]);
    if (w.size() != 5 || !is_float16_or_32(g_.value(t->inputs[0]).type.dtype)) return false;
    if (dims(a) != Dims{w[0] * w[2], 1, w[1], w[3] * w[4]} || x[0] != w[0] * w[2] || x[2] != w[1] ||
        x[3] != w[3] * w[4])
      return false;
    b_ = w[0], q_ = w[1], h_ = w[2], l_ = w[3], p_ = w[4];
    m.weights = t->inputs[0];
    m.nodes.push_back(t);
    m.nodes.push_back(view);
    return true;
  }

  // s [B·H, D, Q, L·P]: the levels' GridSamples stacked or concatenated on the level axis.
  bool samples(const std::string& s, const Node& mul, const Dims& x, Match& m) {
    if (dims(s) != x) return false;
    d_ = x[1];
    const Node* concat = producer_for(s, mul);
    const Node* flatten = nullptr;
    if (is_view(concat)) {
      flatten = concat;
      concat = producer_for(flatten->inputs[0], *flatten);
    }
    if (!is_op(concat, "Concat") || concat->outputs.size() != 1 || int64_t(concat->inputs.size()) != l_) return false;
    const Dims stacked = dims(concat->outputs[0]);
    const int64_t rank = int64_t(stacked.size());
    const int64_t axis = concat->attrs.get_int("axis", 0);
    const Dims per_level = {b_ * h_, d_, q_, p_};
    if (flatten) {  // torch.stack(dim=-2) then flatten(-2)
      if (rank != 5 || (axis != 3 && axis != -2) || stacked != Dims{b_ * h_, d_, q_, l_, p_}) return false;
    } else {  // one Concat on the last axis orders the same elements alike
      if (rank != 4 || (axis != 3 && axis != -1)) return false;
    }
    m.nodes.push_back(concat);
    if (flatten) m.nodes.push_back(flatten);
    std::string grid2;  // 2·loc − 1, the same tensor for every level
    for (size_t l = 0; l < concat->inputs.size(); ++l) {
      const Node* gs = producer_for(concat->inputs[l], *concat);
      if (flatten) {
        if (!is_view(gs) || dims(concat->inputs[l]) != Dims{b_ * h_, d_, q_, 1, p_}) return false;
        m.nodes.push_back(gs);
        gs = producer_for(gs->inputs[0], *gs);
      }
      if (!is_op(gs, "GridSample") || gs->inputs.size() != 2 || gs->outputs.size() != 1 || !bilinear_zeros(*gs) ||
          dims(gs->outputs[0]) != per_level)
        return false;
      m.nodes.push_back(gs);
      Level lv;
      if (!image(gs->inputs[0], *gs, lv, m) || !grid(gs->inputs[1], *gs, int64_t(l), grid2, m)) return false;
      m.levels.push_back(lv);
    }
    return locations(grid2, m);
  }

  static bool bilinear_zeros(const Node& gs) {
    const std::string mode = gs.attrs.get_string("mode", gs.opset >= 20 ? "linear" : "bilinear");
    return mode == (gs.opset >= 20 ? "linear" : "bilinear") && gs.attrs.get_string("padding_mode", "zeros") == "zeros" &&
           gs.attrs.get_int("align_corners", 0) == 0;
  }

  // The level image [B·H, D, h, w] = Reshape(Transpose(0,2,1)(Reshape [B, h·w, H·D](level of V))).
  bool image(const std::string& img, const Node& gs, Level& lv, Match& m) {
    const Dims i = dims(img);
    if (i.size() != 4 || i[0] != b_ * h_ || i[1] != d_) return false;
    lv.height = i[2], lv.width = i[3];
    const int64_t n = lv.height * lv.width;
    const Node* unflatten = producer_for(img, gs);
    if (!is_view(unflatten)) return false;
    const Node* t = producer_for(unflatten->inputs[0], *unflatten);
    if (!is_transpose(t, {0, 2, 1}) || dims(t->inputs[0]) != Dims{b_, n, h_ * d_}) return false;
    const Node* merge = producer_for(t->inputs[0], *t);
    if (!is_view(merge) || dims(merge->inputs[0]) != Dims{b_, n, h_, d_}) return false;
    m.nodes.push_back(merge);
    m.nodes.push_back(t);
    m.nodes.push_back(unflatten);
    return level_of_value(merge->inputs[0], *merge, lv, m);
  }

  // Where the level's tokens start in V: a Slice on axis 1 (step 1) or an output of a Split on
  // axis 1. Every level must read the same V.
  bool level_of_value(const std::string& v, const Node& reader, Level& lv, Match& m) {
    const Node* p = producer_for(v, reader);
    std::string value;
    if (is_op(p, "Slice") && p->outputs.size() == 1 && p->inputs.size() >= 3) {
      const Dims full = dims(p->inputs[0]);
      const auto starts = constant_ints(g_, *p, 1), ends = constant_ints(g_, *p, 2);
      std::optional<std::vector<int64_t>> axes = std::vector<int64_t>{0}, steps = std::vector<int64_t>{1};
      if (p->has_input(3)) axes = constant_ints(g_, *p, 3);
      if (p->has_input(4)) steps = constant_ints(g_, *p, 4);
      if (full.size() != 4 || !starts || !ends || !axes || !steps || starts->size() != 1 || axes->size() != 1 ||
          steps->size() != 1 || ((*axes)[0] != 1 && (*axes)[0] != -3) || (*steps)[0] != 1)
        return false;
      int64_t start = (*starts)[0];
      if (start < 0) start += full[1];
      lv.start = std::min(std::max(start, int64_t(0)), full[1]);
      value = p->inputs[0];
      m.nodes.push_back(p);
    } else if (is_op(p, "Split") && !p->inputs.empty()) {
      const Dims full = dims(p->inputs[0]);
      const int64_t axis = p->attrs.get_int("axis", 0);
      if (full.size() != 4 || (axis != 1 && axis != -3)) return false;
      size_t k = 0;
      while (k < p->outputs.size() && p->outputs[k] != v) ++k;
      lv.start = 0;
      for (size_t j = 0; j < k; ++j) {
        const Dims o = dims(p->outputs[j]);
        if (o.size() != 4) return false;
        lv.start += o[1];
      }
      value = p->inputs[0];  // the Split stays for dead-node removal: other outputs may be read
    } else {
      return false;
    }
    const Dims vd = dims(value);
    if (vd.size() != 4 || vd[0] != b_ || vd[2] != h_ || vd[3] != d_ || !is_float16_or_32(g_.value(value).type.dtype) ||
        lv.start + lv.height * lv.width > vd[1])
      return false;
    if (!m.value.empty() && m.value != value) return false;
    m.value = value;
    return true;
  }

  // The level's grid [B·H, Q, P, 2] = Reshape(Transpose(0,2,1,3,4)(Gather(grid2, l, axis 3))).
  bool grid(const std::string& gv, const Node& gs, int64_t level, std::string& grid2, Match& m) {
    if (dims(gv) != Dims{b_ * h_, q_, p_, 2}) return false;
    const Node* view = producer_for(gv, gs);
    if (!is_view(view)) return false;
    const Node* t = producer_for(view->inputs[0], *view);
    if (!is_transpose(t, {0, 2, 1, 3, 4}) || dims(t->inputs[0]) != Dims{b_, q_, h_, p_, 2}) return false;
    const Node* gather = producer_for(t->inputs[0], *t);
    if (!is_op(gather, "Gather") || gather->inputs.size() != 2 || gather->outputs.size() != 1) return false;
    const int64_t axis = gather->attrs.get_int("axis", 0);
    const auto index = scalar_constant(g_, gather->inputs[1]);
    const Value& iv = g_.value(gather->inputs[1]);
    if ((axis != 3 && axis != -3) || !index || !iv.constant || iv.constant->rank() != 0 ||
        (iv.constant->dtype() != DType::kI64 && iv.constant->dtype() != DType::kI32))
      return false;
    int64_t at = int64_t(*index);
    if (at < 0) at += l_;
    if (at != level || dims(gather->inputs[0]) != Dims{b_, q_, h_, l_, p_, 2}) return false;
    if (!grid2.empty() && grid2 != gather->inputs[0]) return false;
    grid2 = gather->inputs[0];
    m.nodes.push_back(gather);
    m.nodes.push_back(t);
    m.nodes.push_back(view);
    return true;
  }

  // grid2 = Sub(Mul(loc, 2), 1) or Add(Mul(loc, 2), −1), Mul's operands in either order.
  bool locations(const std::string& grid2, Match& m) {
    const Node* shift = idx_.producer(grid2);
    if (!shift || shift->inputs.size() != 2 || shift->outputs.size() != 1) return false;
    const bool sub = is_op(shift, "Sub");
    if (!sub && !is_op(shift, "Add")) return false;
    std::string scaled;
    for (size_t k = 0; k < 2 && scaled.empty(); ++k) {
      if (sub && k == 1) break;  // 1 − 2·loc is another transform
      const auto c = scalar_constant(g_, shift->inputs[1 - k]);
      if (c && *c == (sub ? 1.0 : -1.0)) scaled = shift->inputs[k];
    }
    if (scaled.empty()) return false;
    const Node* mul = idx_.producer(scaled);
    if (!is_op(mul, "Mul") || mul->inputs.size() != 2) return false;
    for (size_t k = 0; k < 2; ++k) {
      const auto c = scalar_constant(g_, mul->inputs[1 - k]);
      const std::string& loc = mul->inputs[k];
      if (c && *c == 2.0 && dims(loc) == Dims{b_, q_, h_, l_, p_, 2} && dtype_is_float(g_.value(loc).type.dtype) &&
          !g_.is_constant(loc)) {
        m.locations = loc;
        return true;
      }
    }
    return false;
  }

  // ReduceSum's [B·H, D, Q] → Reshape [B, H·D, Q] → Transpose(0,2,1) → [B, Q, H·D].
  bool tail(const Node& root, Match& m) {
    const Node* view = idx_.sole_consumer(root.outputs[0]);
    if (!is_view(view) || view->inputs[0] != root.outputs[0] || dims(view->outputs[0]) != Dims{b_, h_ * d_, q_})
      return false;
    const Node* t = idx_.sole_consumer(view->outputs[0]);
    if (!is_transpose(t, {0, 2, 1}) || dims(t->outputs[0]) != Dims{b_, q_, h_ * d_}) return false;
    m.nodes.push_back(view);
    m.nodes.push_back(t);
    return true;
  }

  const Graph& g_;
  const GraphIndex& idx_;
  int64_t b_ = 0, q_ = 0, h_ = 0, l_ = 0, p_ = 0, d_ = 0;  // from the weights, then the samples
};

Node fused_node(Graph& g, const Match& m) {
  const Node& last = *m.nodes.back();
  const int64_t levels = int64_t(m.levels.size());
  std::vector<int64_t> shapes, starts;
  for (const Level& l : m.levels) {
    shapes.push_back(l.height), shapes.push_back(l.width);
    starts.push_back(l.start);
  }
  Node n;
  n.name = last.name;
  n.op_type = spatial::kMsDeformAttnOp;
  n.domain = kKilnDomain;
  n.opset = 1;
  n.inputs = {m.value, add_constant(g, last.name + "/spatial_shapes", Tensor::from_vector<int64_t>({levels, 2}, shapes)),
              add_constant(g, last.name + "/level_start_index", Tensor::from_vector<int64_t>({levels}, starts)),
              m.locations, m.weights};
  n.outputs = {last.outputs[0]};
  return n;
}

}  // namespace

int fuse_ms_deform_attn(Graph& g) {
  auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return Matcher(g, idx).match(n); });
  std::set<const Node*> claimed;
  std::vector<Node> fused;
  for (const Match& m : found)
    if (claim_nodes(claimed, m.nodes)) fused.push_back(fused_node(g, m));
  if (fused.empty()) return 0;
  return replace_nodes(g, claimed, std::move(fused));
}

}  // namespace kiln
